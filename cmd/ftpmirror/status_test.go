package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/embedftp"
	"github.com/ftpmirror/ftpmirror/internal/jobs"
	"github.com/ftpmirror/ftpmirror/internal/treetest"
	"github.com/ftpmirror/ftpmirror/mirror"
	"github.com/ftpmirror/ftpmirror/state"
)

// fixture is an FTP server over a source tree and a work directory for
// targets, job file and state ($XDG_STATE_HOME points into it).
type fixture struct {
	src string // the tree the server serves
	dir string // targets, jobs.toml, state/
	url string // ftp://127.0.0.1:PORT
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{src: filepath.Join(t.TempDir(), "src"), dir: t.TempDir()}
	if err := os.MkdirAll(f.src, 0o755); err != nil {
		t.Fatal(err)
	}
	srv, err := embedftp.Start(f.src, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	f.url = "ftp://" + srv.Addr()
	t.Setenv("XDG_STATE_HOME", filepath.Join(f.dir, "state"))
	t.Setenv("FTPMIRROR_PASSWORD", "")
	t.Setenv("NETRC", filepath.Join(f.dir, "no-netrc"))
	return f
}

// jobsPath writes the job file, with URL replaced by the server's URL.
func (f *fixture) jobsFile(t *testing.T, body string) string {
	t.Helper()
	return writeFile(t, filepath.Join(f.dir, "jobs.toml"), strings.ReplaceAll(body, "URL", f.url))
}

// target returns the path of a target directory named in a job file.
func (f *fixture) target(name string) string { return filepath.Join(f.dir, name) }

// runCmd runs ftpmirror with args in-process.
func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(t.Context(), args, &o, &e)
	return code, o.String(), e.String()
}

// statusJSON runs `status -json` and decodes it.
func statusJSON(t *testing.T, jobsPath string, names ...string) (int, map[string]jobs.Report) {
	t.Helper()
	code, out, errOut := runCmd(t, append([]string{"status", "-jobs", jobsPath, "-json"}, names...)...)
	var reports []jobs.Report
	if err := json.Unmarshal([]byte(out), &reports); err != nil {
		t.Fatalf("status -json: exit %d: %v\n%s\n%s", code, err, out, errOut)
	}
	m := map[string]jobs.Report{}
	for _, r := range reports {
		m[r.Job] = r
	}
	return code, m
}

func TestStatusAfterSyncJobs(t *testing.T) {
	f := newFixture(t)
	treetest.Make(t, f.src, 20, 2000, 1)
	jobsPath := f.jobsFile(t, `
[defaults]
source = "URL/"
max_age = "1h"

[[job]]
name = "a"
target = "a"
schedule = "@hourly"

[[job]]
name = "never"
target = "never"
`)
	code, reports := statusJSON(t, jobsPath)
	if code != exitPartial || !reports["a"].Stale || reports["a"].LastRun != nil {
		t.Errorf("before any run: exit %d, %+v", code, reports)
	}

	code, out, errOut := runCmd(t, "sync", "-jobs", jobsPath, "-json", "a")
	if code != exitOK {
		t.Fatalf("sync -jobs: exit %d\n%s\n%s", code, out, errOut)
	}
	var sum mirror.Summary
	if err := json.Unmarshal([]byte(out), &sum); err != nil || sum.Job != "a" || sum.Result != "ok" || sum.Fetched != 20 {
		t.Fatalf("sync -jobs -json: %v %s", err, out)
	}
	treetest.Equal(t, f.src, f.target("a"), true)

	before := time.Now()
	code, reports = statusJSON(t, jobsPath, "a")
	a := reports["a"]
	switch {
	case code != exitOK:
		t.Errorf("status a: exit %d", code)
	case a.Running || a.Stale || a.LastRun == nil:
		t.Errorf("status a: %+v", a)
	case a.LastRun.Result != "ok" || a.LastRun.Fetched != 20 || a.LastRun.Bytes != sum.Bytes:
		t.Errorf("last run %+v, want %+v", a.LastRun, sum)
	case !a.LastSuccess.Equal(sum.End):
		t.Errorf("last success %v, want %v", a.LastSuccess, sum.End)
	case a.Next.Before(before) || a.Next.After(before.Add(time.Hour)) || a.Next.Minute() != 0:
		t.Errorf("next %v", a.Next)
	}

	// The table, for everybody: "never" is stale, so exit 1.
	code, out, _ = runCmd(t, "status", "-jobs", jobsPath)
	if code != exitPartial {
		t.Errorf("status: exit %d", code)
	}
	lines := strings.Split(out, "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "JOB") || !strings.HasPrefix(lines[1], "a ") ||
		!strings.Contains(lines[1], " ok ") || !strings.Contains(lines[2], "STALE (max_age 1h0m0s)") {
		t.Errorf("table:\n%s", out)
	}

	// Without its status file, the history in the database does.
	paths, _ := f.jobSpec(t, jobsPath, "a").Paths()
	if err := os.Remove(paths.Status); err != nil {
		t.Fatal(err)
	}
	_, reports = statusJSON(t, jobsPath, "a")
	if a := reports["a"]; a.LastRun == nil || a.LastRun.Fetched != 20 || a.LastSuccess.IsZero() || a.Stale {
		t.Errorf("from the database: %+v", a)
	}
}

// jobSpec loads a job from a job file.
func (f *fixture) jobSpec(t *testing.T, jobsPath, name string) *jobs.Job {
	t.Helper()
	file, err := jobs.Load(jobsPath)
	if err != nil {
		t.Fatal(err)
	}
	return file.Job(name)
}

// TestStatusWhileLocked plays a daemon in the middle of a run (the job
// lock held, the state database open, a status file saying so) and
// checks that status still reads everything, and that a run from cron
// is skipped with exit 4 naming the holder.
func TestStatusWhileLocked(t *testing.T) {
	f := newFixture(t)
	treetest.Make(t, f.src, 5, 100, 2)
	jobsPath := f.jobsFile(t, "[[job]]\nname = \"a\"\nsource = \"URL/\"\ntarget = \"a\"\n")
	if code, out, errOut := runCmd(t, "sync", "-jobs", jobsPath); code != exitOK {
		t.Fatalf("sync: %d %s %s", code, out, errOut)
	}
	paths, _ := f.jobSpec(t, jobsPath, "a").Paths()
	lock, err := jobs.AcquireLock(t.Context(), paths.Lock, "a", "daemon", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	db, err := state.Open(paths.DB, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, _, _ := jobs.ReadStatus(paths.Status)
	runStart := time.Now().UTC().Truncate(time.Millisecond)
	st.Running, st.RunStart, st.PID = true, runStart, os.Getpid()
	if err := jobs.WriteStatus(paths.Status, st); err != nil {
		t.Fatal(err)
	}

	_, reports := statusJSON(t, jobsPath)
	a := reports["a"]
	wantHolder := fmt.Sprintf("pid %d", os.Getpid())
	if !a.Running || !a.RunningSince.Equal(runStart) || !strings.Contains(a.RunningIn, wantHolder) ||
		!strings.Contains(a.RunningIn, "(ftpmirror daemon)") || a.LastRun == nil || a.LastRun.Fetched != 5 {
		t.Errorf("while locked: %+v", a)
	}

	code, out, errOut := runCmd(t, "sync", "-jobs", jobsPath, "a")
	if code != exitLocked || !strings.Contains(out, "a: locked, skipped: running in "+wantHolder) ||
		!strings.Contains(errOut, "run skipped: job locked") {
		t.Errorf("sync while locked: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runCmd(t, "sync", "-jobs", jobsPath, "-json")
	var sum mirror.Summary
	if err := json.Unmarshal([]byte(out), &sum); code != exitLocked || err != nil || sum.Result != "locked" {
		t.Errorf("sync -json while locked: exit %d %v %s", code, err, out)
	}

	// A run killed without a chance to clean up leaves "running" in its
	// status file, but no lock.
	lock.Release()
	db.Close()
	_, reports = statusJSON(t, jobsPath)
	if a := reports["a"]; a.Running {
		t.Errorf("after the holder died: %+v", a)
	}
	if code, _, errOut := runCmd(t, "sync", "-jobs", jobsPath); code != exitOK {
		t.Errorf("sync after the holder died: exit %d %s", code, errOut)
	}
}
