package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/daemon"
	"github.com/ftpmirror/ftpmirror/internal/jobs"
	"github.com/ftpmirror/ftpmirror/internal/promtest"
	"github.com/ftpmirror/ftpmirror/internal/treetest"
	"github.com/ftpmirror/ftpmirror/mirror"
	"github.com/ftpmirror/ftpmirror/state"
)

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logBuffer collects log output from many goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// lines returns the log lines containing every one of subs.
func (l *logBuffer) lines(subs ...string) []string {
	var out []string
	for _, line := range strings.Split(l.String(), "\n") {
		ok := true
		for _, s := range subs {
			ok = ok && strings.Contains(line, s)
		}
		if ok {
			out = append(out, line)
		}
	}
	return out
}

// testDaemon is daemon.Run running in the test's process.
type testDaemon struct {
	cancel context.CancelFunc
	done   chan error
	addr   string
	log    *logBuffer
	reload chan os.Signal
}

func startDaemon(t *testing.T, jobsPath string, stopTimeout time.Duration) *testDaemon {
	t.Helper()
	return startDaemonMirroring(t, jobsPath, stopTimeout, nil)
}

// startDaemonMirroring is startDaemon with the daemon's runs going
// through mirror (nil: jobs.Mirror).
func startDaemonMirroring(t *testing.T, jobsPath string, stopTimeout time.Duration, mirror jobs.MirrorFunc) *testDaemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &testDaemon{cancel: cancel, done: make(chan error, 1), log: &logBuffer{}, reload: make(chan os.Signal, 1)}
	addr := make(chan string, 1)
	opts := &daemon.Options{
		JobsPath:    jobsPath,
		Listen:      "127.0.0.1:0",
		StopTimeout: stopTimeout,
		Logger:      slog.New(slog.NewTextHandler(d.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Reload:      d.reload,
		Listening:   func(a string) { addr <- a },
		Mirror:      mirror,
	}
	go func() { d.done <- daemon.Run(ctx, opts) }()
	select {
	case d.addr = <-addr:
	case err := <-d.done:
		t.Fatalf("daemon: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("daemon did not listen")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			t.Error("daemon did not stop")
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", d.log.String())
		}
	})
	return d
}

// stop cancels the daemon's context, as SIGTERM does, and returns its
// error and how long it took to return.
func (d *testDaemon) stop(t *testing.T) (error, time.Duration) {
	t.Helper()
	start := time.Now()
	d.cancel()
	select {
	case err := <-d.done:
		d.done <- err // for the cleanup
		return err, time.Since(start)
	case <-time.After(20 * time.Second):
		t.Fatal("daemon did not stop")
	}
	return nil, 0
}

func (d *testDaemon) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + d.addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (d *testDaemon) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	_, text := d.get(t, "/metrics")
	v, _ := promtest.Value(text, name, labels...)
	return v
}

func (d *testDaemon) status(t *testing.T, job string) jobs.Report {
	t.Helper()
	_, body := d.get(t, "/status")
	var reports []jobs.Report
	if err := json.Unmarshal([]byte(body), &reports); err != nil {
		t.Fatalf("/status: %v\n%s", err, body)
	}
	for _, r := range reports {
		if r.Job == job {
			return r
		}
	}
	t.Fatalf("/status has no job %s: %s", job, body)
	return jobs.Report{}
}

// treeBytes is the total size of the regular files under root.
func treeBytes(t *testing.T, root string) int64 {
	var n int64
	for _, f := range treetest.Files(t, root) {
		fi, err := os.Stat(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

// TestDaemonMirrorsAndMetrics: a job scheduled @every 1s runs, mirrors
// the tree exactly, runs again, and /metrics, /healthz, /status and the
// status command say so.
func TestDaemonMirrorsAndMetrics(t *testing.T) {
	f := newFixture(t)
	treetest.Make(t, f.src, 30, 4000, 3)
	jobsPath := f.jobsFile(t, `
[[job]]
name = "a"
source = "URL/"
target = "a"
schedule = "@every 1s"
max_age = "1h"
`)
	start := time.Now()
	d := startDaemon(t, jobsPath, 5*time.Second)
	if code, body := d.get(t, "/healthz"); code != 200 {
		t.Errorf("/healthz before the first run (within max_age of the start): %d %s", code, body)
	}
	waitFor(t, 10*time.Second, "a first run", func() bool { return d.metric(t, "ftpmirror_runs_total", "job", "a", "result", "ok") >= 1 })
	treetest.Equal(t, f.src, f.target("a"), true)
	waitFor(t, 10*time.Second, "a second run", func() bool { return d.metric(t, "ftpmirror_runs_total", "job", "a", "result", "ok") >= 2 })

	// Every run after the first finds nothing to do: the counters hold
	// the first run's numbers.
	for _, w := range []struct {
		name string
		want float64
	}{
		{"ftpmirror_files_fetched_total", 30},
		{"ftpmirror_bytes_fetched_total", float64(treeBytes(t, f.src))},
		{"ftpmirror_files_deleted_total", 0},
		{"ftpmirror_file_errors_total", 0},
		{"ftpmirror_stale", 0},
		{"ftpmirror_running", 0},
		{"ftpmirror_max_age_seconds", 3600},
	} {
		if v := d.metric(t, w.name, "job", "a"); v != w.want {
			t.Errorf("%s = %v, want %v", w.name, v, w.want)
		}
	}
	if v := d.metric(t, "ftpmirror_last_success_timestamp_seconds", "job", "a"); v < float64(start.Unix()) || v > float64(time.Now().Unix()+1) {
		t.Errorf("last success %v", v)
	}
	if v := d.metric(t, "ftpmirror_next_run_timestamp_seconds", "job", "a"); v < float64(time.Now().Unix()-1) || v > float64(time.Now().Unix()+2) {
		t.Errorf("next run %v", v)
	}
	if code, body := d.get(t, "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %s", code, body)
	}
	if r := d.status(t, "a"); r.LastRun == nil || r.LastRun.Result != "ok" || r.LastSuccess.IsZero() || r.Stale {
		t.Errorf("/status: %+v", r)
	}
	// The status command reads the same, beside the daemon.
	_, reports := statusJSON(t, jobsPath)
	if r := reports["a"]; r.LastRun == nil || r.LastRun.Result != "ok" || r.LastSuccess.Before(start) {
		t.Errorf("status: %+v", r)
	}
	if got := d.log.lines("run end", "job=a"); len(got) < 2 {
		t.Errorf("run end lines: %q", got)
	}
	if err, took := d.stop(t); err != nil || took > 5*time.Second {
		t.Errorf("stop: %v after %v", err, took)
	}
}

// addBigFile adds a file of size random bytes to the source tree.
func addBigFile(t *testing.T, dir, name string, size int) {
	t.Helper()
	data := make([]byte, size)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(dir, name), old, old)
}

// TestDaemonAnswersOnceListening: the first request, made the moment the
// daemon says it listens, finds the job file's jobs. (It was served before
// the jobs were applied once: /healthz panicked on a nil job file while
// holding the daemon's lock, and the daemon hung; seen once in CI.)
func TestDaemonAnswersOnceListening(t *testing.T) {
	f := newFixture(t)
	jobsPath := f.jobsFile(t, `
[[job]]
name = "a"
source = "URL/"
target = "a"
schedule = "@every 1h"
`)
	ctx, cancel := context.WithCancel(t.Context())
	type answer struct {
		path, body string
		code       int
		err        error
	}
	var answers []answer
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, &daemon.Options{
			JobsPath: jobsPath,
			Listen:   "127.0.0.1:0",
			Logger:   slog.New(slog.DiscardHandler),
			Listening: func(addr string) {
				for _, path := range []string{"/healthz", "/status"} {
					a := answer{path: path}
					resp, err := http.Get("http://" + addr + path)
					if a.err = err; err == nil {
						b, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						a.code, a.body = resp.StatusCode, string(b)
					}
					answers = append(answers, a)
				}
				cancel()
			},
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("daemon: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("daemon did not stop")
	}
	for _, a := range answers {
		if a.err != nil || a.code != 200 {
			t.Errorf("GET %s as the daemon starts listening: %d %q %v", a.path, a.code, a.body, a.err)
		}
		if a.path == "/status" && !strings.Contains(a.body, `"job": "a"`) {
			t.Errorf("/status as the daemon starts listening does not name job a:\n%s", a.body)
		}
	}
}

// TestDaemonSlowRun: a run that takes longer than the interval is not
// overlapped (the ticks are skipped and logged); while it holds the
// state database, status reads the job; a stop interrupts it within the
// bound, and the next run resumes the partial file.
func TestDaemonSlowRun(t *testing.T) {
	f := newFixture(t)
	treetest.Make(t, f.src, 5, 1000, 4)
	const job = `
[[job]]
name = "a"
source = "URL/"
target = "a"
schedule = "@every 1s"
segments = 1
on_failure = ["sh", "-c", "touch hook-ran"]
`
	jobsPath := f.jobsFile(t, job+"limit_rate = \"1M\"\n")
	if code, out, errOut := runCmd(t, "sync", "-jobs", jobsPath); code != exitOK {
		t.Fatalf("first sync: %d %s %s", code, out, errOut)
	}
	const bigSize = 4 << 20 // 4s at 1 MiB/s
	addBigFile(t, f.src, "big.bin", bigSize)

	d := startDaemon(t, jobsPath, 5*time.Second)
	waitFor(t, 10*time.Second, "the slow run to fetch", func() bool {
		r := d.status(t, "a")
		return r.Running && r.Progress != nil && r.Progress.BytesDone > 0
	})

	// The daemon holds the state database...
	paths, _ := f.jobSpec(t, jobsPath, "a").Paths()
	if db, err := state.Open(paths.DB, &state.Options{ReadOnly: true, Timeout: 50 * time.Millisecond}); !errors.Is(err, state.ErrLocked) {
		if db != nil {
			db.Close()
		}
		t.Errorf("state database not locked by the running job: %v", err)
	}
	// ...and status reads the job all the same.
	_, reports := statusJSON(t, jobsPath)
	if r := reports["a"]; !r.Running || !strings.Contains(r.RunningIn, "(ftpmirror daemon)") || r.LastRun == nil || r.LastRun.Fetched != 5 {
		t.Errorf("status while running: %+v", r)
	}
	if v := d.metric(t, "ftpmirror_running", "job", "a"); v != 1 {
		t.Errorf("ftpmirror_running = %v", v)
	}
	if v := d.metric(t, "ftpmirror_bytes_in_flight", "job", "a"); v <= 0 || v >= bigSize {
		t.Errorf("ftpmirror_bytes_in_flight = %v", v)
	}
	// No overlap: the next ticks are skipped.
	waitFor(t, 5*time.Second, "a skipped tick", func() bool {
		return len(d.log.lines("run skipped: the previous run is still going", "job=a")) >= 1
	})
	if n := len(d.log.lines("run start", "job=a")); n != 1 {
		t.Errorf("%d runs started, want 1", n)
	}

	err, took := d.stop(t)
	if err != nil || took > 5*time.Second {
		t.Errorf("stop: %v after %v", err, took)
	}
	if _, err := os.Stat(filepath.Join(f.target("a"), "big.bin")); err == nil {
		t.Fatal("big.bin complete before the stop; make it bigger")
	}
	st, _, _ := jobs.ReadStatus(paths.Status)
	if st.Running || st.LastRun == nil || st.LastRun.Result == "ok" {
		t.Errorf("status file after the stop: %+v", st)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "hook-ran")); err == nil {
		t.Error("on_failure ran for a run cut short by the stop")
	}

	// The next run (without the rate limit) resumes.
	jobsPath = f.jobsFile(t, job)
	code, out, errOut := runCmd(t, "sync", "-jobs", jobsPath, "-json")
	var sum mirror.Summary
	if err := json.Unmarshal([]byte(out), &sum); code != exitOK || err != nil {
		t.Fatalf("resume: exit %d %v\n%s\n%s", code, err, out, errOut)
	}
	if sum.Resumed != 1 || sum.Bytes <= 0 || sum.Bytes >= bigSize {
		t.Errorf("resume run: %+v", sum)
	}
	treetest.Equal(t, f.src, f.target("a"), true)
}

// TestDaemonReload: a reload with a broken file keeps the old jobs; one
// with a new job schedules it; one without a job unschedules it.
func TestDaemonReload(t *testing.T) {
	f := newFixture(t)
	treetest.Make(t, f.src, 10, 1000, 5)
	jobA := "[[job]]\nname = \"a\"\nsource = \"URL/\"\ntarget = \"a\"\nschedule = \"@every 1s\"\n"
	jobB := "[[job]]\nname = \"b\"\nsource = \"URL/\"\ntarget = \"b\"\nschedule = \"@every 1s\"\n"
	jobsPath := f.jobsFile(t, jobA)
	d := startDaemon(t, jobsPath, 5*time.Second)
	runsA := func() float64 { return d.metric(t, "ftpmirror_runs_total", "job", "a", "result", "ok") }
	waitFor(t, 10*time.Second, "a's first run", func() bool { return runsA() >= 1 })

	f.jobsFile(t, jobA+"[[job]\n")
	d.reload <- syscall.SIGHUP
	waitFor(t, 5*time.Second, "the reload to fail", func() bool {
		return len(d.log.lines("reload failed; keeping the old job file", "jobs.toml:")) == 1
	})
	n := runsA()
	waitFor(t, 10*time.Second, "a to run on after the failed reload", func() bool { return runsA() > n })

	f.jobsFile(t, jobA+jobB)
	d.reload <- syscall.SIGHUP
	waitFor(t, 10*time.Second, "b's first run", func() bool {
		return d.metric(t, "ftpmirror_runs_total", "job", "b", "result", "ok") >= 1
	})
	treetest.Equal(t, f.src, f.target("b"), true)

	f.jobsFile(t, jobB)
	d.reload <- syscall.SIGHUP
	waitFor(t, 5*time.Second, "a's removal", func() bool { return len(d.log.lines("job removed", "job=a")) == 1 })
	if _, text := d.get(t, "/metrics"); strings.Contains(text, `job="a"`) {
		t.Error("/metrics still has job a")
	}
}

// TestDaemonCatchUp: at start, a catch_up job whose scheduled run was
// missed runs at once; one whose next run is still ahead does not.
func TestDaemonCatchUp(t *testing.T) {
	f := newFixture(t)
	treetest.Make(t, f.src, 5, 100, 6)
	jobsPath := f.jobsFile(t, `
[defaults]
source = "URL/"
catch_up = true

[[job]]
name = "missed"
target = "missed"
schedule = "@daily"

[[job]]
name = "recent"
target = "recent"
schedule = "0 0 1 1 *"
`)
	file, err := jobs.Load(jobsPath)
	if err != nil {
		t.Fatal(err)
	}
	for name, ago := range map[string]time.Duration{"missed": 25 * time.Hour, "recent": time.Minute} {
		paths, _ := file.Job(name).Paths()
		start := time.Now().Add(-ago)
		st := jobs.Status{Job: name, LastRun: &mirror.Summary{Job: name, Start: start, End: start.Add(time.Second), Result: "ok"}, LastSuccess: start}
		if err := jobs.WriteStatus(paths.Status, st); err != nil {
			t.Fatal(err)
		}
	}
	d := startDaemon(t, jobsPath, 5*time.Second)
	waitFor(t, 10*time.Second, "the missed run", func() bool {
		return d.metric(t, "ftpmirror_runs_total", "job", "missed", "result", "ok") == 1
	})
	treetest.Equal(t, f.src, f.target("missed"), true)
	// The decisions were all taken before the first run started.
	if got := d.log.lines("catch_up: running a missed run"); len(got) != 1 || !strings.Contains(got[0], "job=missed") {
		t.Errorf("catch-up runs: %q", got)
	}
}

// TestDaemonRecoversPanics: a job whose run panics is logged, and the
// daemon and the other jobs go on.
func TestDaemonRecoversPanics(t *testing.T) {
	f := newFixture(t)
	treetest.Make(t, f.src, 3, 100, 7)
	jobsPath := f.jobsFile(t, `
[defaults]
source = "URL/"
schedule = "@every 1s"

[[job]]
name = "bad"
target = "bad"

[[job]]
name = "good"
target = "good"
`)
	panicky := func(ctx context.Context, jc *jobs.Job, logger *slog.Logger, setup func(*mirror.Options)) (*mirror.Summary, error) {
		if jc.Name == "bad" {
			panic("boom")
		}
		return jobs.Mirror(ctx, jc, logger, setup)
	}
	d := startDaemonMirroring(t, jobsPath, 5*time.Second, panicky)
	waitFor(t, 10*time.Second, "good's runs", func() bool {
		return d.metric(t, "ftpmirror_runs_total", "job", "good", "result", "ok") >= 2
	})
	waitFor(t, 5*time.Second, "bad's panics", func() bool { return len(d.log.lines("cron: panic", "job=bad", "boom")) >= 2 })
	treetest.Equal(t, f.src, f.target("good"), true)
}

// TestMain lets the test binary play ftpmirror itself, for the tests
// that need a separate process (real signals, a second process on the
// job lock): with FTPMIRROR_TEST_MAIN=1 it runs main with its arguments.
func TestMain(m *testing.M) {
	if os.Getenv("FTPMIRROR_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// ftpmirrorCmd returns a command running ftpmirror with args.
func ftpmirrorCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "FTPMIRROR_TEST_MAIN=1")
	return cmd
}

// TestDaemonProcess runs the daemon as a process and drives it with
// real signals: SIGHUP adds a job, a `sync -jobs` of a job the daemon is
// running exits 4 naming the daemon, SIGTERM exits 0 within the stop
// timeout, and the interrupted transfer resumes next run.
func TestDaemonProcess(t *testing.T) {
	f := newFixture(t)
	treetest.Make(t, f.src, 10, 1000, 8)
	jobA := "[[job]]\nname = \"a\"\nsource = \"URL/\"\ntarget = \"a\"\nschedule = \"@every 1s\"\n"
	jobB := "[[job]]\nname = \"b\"\nsource = \"URL/\"\ntarget = \"b\"\nschedule = \"@every 1s\"\nsegments = 1\n"
	jobsPath := f.jobsFile(t, jobA)

	log := &logBuffer{}
	daemon := ftpmirrorCmd("daemon", "-jobs", jobsPath, "-listen", "127.0.0.1:0", "-stop-timeout", "5s")
	daemon.Stderr = log
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- daemon.Wait() }()
	t.Cleanup(func() {
		daemon.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("daemon log:\n%s", log.String())
		}
	})
	d := &testDaemon{log: log}
	waitFor(t, 10*time.Second, "the daemon to listen", func() bool {
		lines := log.lines("msg=listening")
		if len(lines) == 0 {
			return false
		}
		_, d.addr, _ = strings.Cut(lines[0], "addr=")
		return true
	})
	waitFor(t, 10*time.Second, "a's first run", func() bool { return d.metric(t, "ftpmirror_runs_total", "job", "a", "result", "ok") >= 1 })
	treetest.Equal(t, f.src, f.target("a"), true)

	// SIGHUP: job b appears, slow, over a tree with a big file.
	const bigSize = 4 << 20
	addBigFile(t, f.src, "big.bin", bigSize)
	f.jobsFile(t, jobA+jobB+"limit_rate = \"1M\"\n")
	if err := daemon.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "b to fetch", func() bool { return d.metric(t, "ftpmirror_bytes_in_flight", "job", "b") > 0 })

	// cron's `sync -jobs` of the job the daemon is running.
	var out bytes.Buffer
	syncCmd := ftpmirrorCmd("sync", "-jobs", jobsPath, "b")
	syncCmd.Stdout = &out
	err := syncCmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitLocked ||
		!strings.Contains(out.String(), fmt.Sprintf("b: locked, skipped: running in pid %d", daemon.Process.Pid)) ||
		!strings.Contains(out.String(), "(ftpmirror daemon)") {
		t.Errorf("sync of a running job: %v\n%s", err, out.String())
	}

	// SIGTERM: the daemon stops b's transfer and exits 0 in time.
	start := time.Now()
	if err := daemon.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Errorf("daemon exit: %v", err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("daemon took %v to stop", took)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not exit after SIGTERM")
	}
	if _, err := os.Stat(filepath.Join(f.target("b"), "big.bin")); err == nil {
		t.Fatal("big.bin complete before SIGTERM; make it bigger")
	}

	// The next run resumes.
	f.jobsFile(t, jobA+jobB)
	code, stdout, stderr := runCmd(t, "sync", "-jobs", jobsPath, "-json", "b")
	var sum mirror.Summary
	if err := json.Unmarshal([]byte(stdout), &sum); code != exitOK || err != nil {
		t.Fatalf("resume: exit %d %v\n%s\n%s", code, err, stdout, stderr)
	}
	if sum.Resumed != 1 || sum.Bytes >= bigSize {
		t.Errorf("resume run: %+v", sum)
	}
	treetest.Equal(t, f.src, f.target("b"), true)
}
