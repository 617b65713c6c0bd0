//go:build linux

package mirror_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ftpmirror/ftpmirror/internal/treetest"
	"github.com/ftpmirror/ftpmirror/mirror"
	"github.com/ftpmirror/ftpmirror/state"
)

// TestTargetLock: a run into a target that another process holds (as a
// run of another job, another state file and another environment
// would) writes nothing and fails with a *TargetLockedError naming the
// holder's pid and command; once the holder is gone the run goes
// through. A dry run is not stopped by the lock: it writes nothing.
func TestTargetLock(t *testing.T) {
	e := newEmbedded(t)
	treetest.Make(t, e.src, 20, 512, 3)
	if err := os.MkdirAll(e.target, 0o755); err != nil {
		t.Fatal(err)
	}
	// Another process holds the lock: flock(1) on the target directory,
	// as a second ftpmirror would.
	flock, err := exec.LookPath("flock")
	if err != nil {
		t.Skip("flock(1) not installed (util-linux)")
	}
	holder := exec.Command(flock, "--exclusive", "--no-fork", e.target, "sleep", "30")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })
	waitLocked(t, e.target)

	other, err := state.Open(filepath.Join(t.TempDir(), "other.db"), &state.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	o := e.opts()
	o.Job, o.State = "another-job", other
	sum, err := mirror.Run(t.Context(), o)
	var le *mirror.TargetLockedError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v, want a *TargetLockedError", err)
	}
	if le.Holder.PID == 0 || !strings.Contains(le.Holder.Cmd, "sleep 30") || le.Holder.Since.IsZero() {
		t.Errorf("holder %+v: want the flock process's pid, command and start", le.Holder)
	}
	if sum != nil && sum.Fetched != 0 {
		t.Errorf("fetched %d while locked", sum.Fetched)
	}
	if got := treetest.Files(t, e.target); len(got) != 0 {
		t.Errorf("the locked run wrote %v", got)
	}

	dry := e.opts()
	dry.DryRun = true
	if _, err := mirror.Run(t.Context(), dry); err != nil {
		t.Errorf("dry run while locked: %v", err)
	}

	holder.Process.Kill()
	holder.Wait()
	e.run(e.opts())
	treetest.Equal(t, e.src, e.target, true)
}

// waitLocked waits until dir is flocked by someone else.
func waitLocked(t *testing.T, dir string) {
	t.Helper()
	for range 200 {
		f, err := os.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		f.Close()
		if err != nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the holder never took the lock")
}
