package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/treetest"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// startSlowSync starts ftpmirror as a process with args and env, and
// waits until it is fetching into target (a temporary file shows up).
func startSlowSync(t *testing.T, target string, env []string, args ...string) (*exec.Cmd, *bytes.Buffer, chan error) {
	t.Helper()
	var out bytes.Buffer
	cmd := ftpmirrorCmd(args...)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
		}
	})
	waitFor(t, 10*time.Second, "the transfer to bring bytes", func() bool {
		m, _ := filepath.Glob(filepath.Join(target, ".ftpmirror", "*.part"))
		for _, p := range m {
			if fi, err := os.Stat(p); err == nil && fi.Size() >= 64<<10 {
				return true
			}
		}
		return false
	})
	return cmd, &out, exited
}

func exitOf(t *testing.T, exited chan error) int {
	t.Helper()
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(15 * time.Second):
		t.Fatal("ftpmirror did not exit")
	}
	return -1
}

// TestOneWriterPerTarget: a job run as systemd runs it (its state under
// /var/lib) and an ad-hoc sync as cron runs it (another XDG_STATE_HOME,
// no job name) into the same target: the second exits 4 naming the
// first's pid, and writes nothing. Then SIGTERM stops the first with
// exit 143, its status says "interrupted", not "failed", and the next
// run resumes the partial download.
func TestOneWriterPerTarget(t *testing.T) {
	f := newFixture(t)
	treetest.Make(t, f.src, 5, 100, 9)
	const bigSize = 3 << 20
	addBigFile(t, f.src, "big.bin", bigSize)
	jobs := f.jobsFile(t, `
[[job]]
name = "pub"
source = "URL/"
target = "mirror"
limit_rate = "256k"
segments = 1
`)
	systemd := []string{"XDG_STATE_HOME=" + filepath.Join(f.dir, "var-lib")}
	cron := []string{"XDG_STATE_HOME=" + filepath.Join(f.dir, "home-state")}
	first, _, firstExit := startSlowSync(t, f.target("mirror"), systemd, "sync", "-jobs", jobs, "pub")

	before := finalFiles(f.target("mirror"))
	var out bytes.Buffer
	second := ftpmirrorCmd("sync", f.url+"/", f.target("mirror"))
	second.Env = append(second.Env, cron...)
	second.Stdout, second.Stderr = &out, &out
	err := second.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitLocked || !strings.Contains(out.String(), fmt.Sprintf("pid %d", first.Process.Pid)) ||
		!strings.Contains(out.String(), "is being written by") {
		t.Errorf("second writer: %v\n%s", err, out.String())
	}
	// The first one goes on writing (it only adds files): every file
	// that was there is still there.
	after := map[string]bool{}
	for _, p := range finalFiles(f.target("mirror")) {
		after[p] = true
	}
	for _, p := range before {
		if !after[p] {
			t.Errorf("%s is gone after the second writer", p)
		}
	}

	if err := first.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := exitOf(t, firstExit); code != exitSIGTERM {
		t.Errorf("SIGTERM: exit %d, want %d", code, exitSIGTERM)
	}
	t.Setenv("XDG_STATE_HOME", filepath.Join(f.dir, "var-lib"))
	_, reports := statusJSON(t, jobs)
	if r := reports["pub"]; r.LastRun == nil || r.LastRun.Result != mirror.ResultInterrupted {
		t.Errorf("status after SIGTERM: %+v", r.LastRun)
	}
	code, stdout, stderr := runCmd(t, "sync", "-jobs", jobs, "-limit-rate", "0", "-json", "pub")
	var sum mirror.Summary
	if err := json.Unmarshal([]byte(stdout), &sum); code != 0 || err != nil || sum.Resumed != 1 || sum.Bytes >= bigSize {
		t.Errorf("resume: exit %d %v %+v\n%s", code, err, sum, stderr)
	}
	treetest.Equal(t, f.src, f.target("mirror"), true)
}

// TestInterruptKeepsPartial: Ctrl-C (SIGINT) on an ad-hoc sync exits
// 130, keeps the partial download, and the next run resumes it.
func TestInterruptKeepsPartial(t *testing.T) {
	f := newFixture(t)
	const bigSize = 3 << 20
	addBigFile(t, f.src, "big.bin", bigSize)
	state := filepath.Join(f.dir, "s.db")
	target := f.target("m")
	cmd, out, exited := startSlowSync(t, target, nil, "sync", "-limit-rate", "256k", "-segments", "1", "-state", state, f.url+"/", target)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := exitOf(t, exited); code != exitSIGINT {
		t.Errorf("SIGINT: exit %d, want %d\n%s", code, exitSIGINT, out.String())
	}
	if m, _ := filepath.Glob(filepath.Join(target, ".ftpmirror", "*.part")); len(m) != 1 {
		t.Fatalf("partial files after SIGINT: %v", m)
	}
	code, stdout, stderr := runCmd(t, "sync", "-json", "-state", state, f.url+"/", target)
	var sum mirror.Summary
	if err := json.Unmarshal([]byte(stdout), &sum); code != 0 || err != nil || sum.Resumed != 1 || sum.Bytes >= bigSize {
		t.Errorf("resume: exit %d %v %+v\n%s", code, err, sum, stderr)
	}
	treetest.Equal(t, f.src, target, true)
}

// finalFiles lists the files under root that are in place (not in the
// staging directory), while another process may be writing there.
func finalFiles(root string) []string {
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && p == filepath.Join(root, ".ftpmirror") {
			return filepath.SkipDir
		}
		if err == nil && d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	return out
}
