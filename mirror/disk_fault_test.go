package mirror_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/ftpservers"
	"github.com/ftpmirror/ftpmirror/internal/hostileftp"
	"github.com/ftpmirror/ftpmirror/mirror"
	"github.com/ftpmirror/ftpmirror/state"
)

// Faults on our side (issue 7, class 10): a full disk, a read-only
// target, a locked state database, a power cut between the rename of a
// file and the state's record of it.

// mount runs mount(8) and unmounts when the test ends; it skips the test
// where that is not allowed (and fails it with CI=true).
func mount(t *testing.T, args ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		ftpservers.Unavailable(t, "mount needs root")
	}
	if out, err := exec.Command("mount", args...).CombinedOutput(); err != nil {
		ftpservers.Unavailable(t, "mount %v: %v %s", args, err, out)
	}
	dir := args[len(args)-1]
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
}

func TestDiskFull(t *testing.T) {
	pattern := func(n int, seed byte) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i) ^ seed
		}
		return b
	}
	// 3 MiB never fits in 2 MiB: refused before it starts. Three files
	// of 900 KiB pass the check together, and one of them meets ENOSPC.
	root := hostileftp.Dir("",
		hostileftp.File("huge", pattern(3<<20, 1), t0),
		hostileftp.File("half1", pattern(900<<10, 2), t0),
		hostileftp.File("half2", pattern(900<<10, 3), t0),
		hostileftp.File("half3", pattern(900<<10, 4), t0),
		ok("small"),
	)
	h := newHostile(t, root, nil)
	mount(t, "-t", "tmpfs", "-o", "size=2m", "tmpfs", h.target)
	o := h.opts()
	o.Parallel = 4
	sum, err, _ := h.run(o, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	wantErrors(t, sum, "fetch /huge: not enough free space: 3145728 bytes to fetch")
	if !strings.Contains(strings.Join(sum.Errors, "\n"), "no space left on device") &&
		!strings.Contains(strings.Join(sum.Errors, "\n"), "not enough free space: 921600") {
		t.Errorf("no file met the full disk: %q", sum.Errors)
	}
	if sum.Failed < 2 || sum.Result != mirror.ResultPartial {
		t.Errorf("summary %+v", sum)
	}
	// Whatever is under a final name is complete.
	for name, got := range h.files() {
		for _, n := range root.Children {
			if n.Name == name && !bytes.Equal(n.Data, []byte(got)) {
				t.Errorf("%s: %d bytes under its final name, want %d", name, len(got), len(n.Data))
			}
		}
	}
	// The download that met the full disk gave its space back.
	if h.temps != 0 {
		t.Errorf("%d temporary files left", h.temps)
	}
}

func TestReadOnlyTarget(t *testing.T) {
	h := newHostile(t, hostileftp.Dir("", ok("a"), hostileftp.Dir("d", ok("b"))), nil)
	mount(t, "--bind", h.target, h.target)
	mount(t, "-o", "remount,bind,ro", h.target)
	before := h.files()
	sum, err, _ := h.run(nil, 10*time.Second)
	if err != nil {
		// Acceptable too: the run could not even start.
		if !strings.Contains(err.Error(), "read-only file system") {
			t.Fatal(err)
		}
	} else {
		wantErrors(t, sum, "read-only file system")
		if sum.Fetched != 0 || sum.Failed == 0 {
			t.Errorf("summary %+v", sum)
		}
	}
	h.wantFiles(before)
}

func TestStateLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	held, err := state.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	start := time.Now()
	_, err = state.Open(path, &state.Options{Timeout: 200 * time.Millisecond})
	if !errors.Is(err, state.ErrLocked) || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want ErrLocked naming the file", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

// A power cut after a file was renamed into place but before the state
// recorded it: the next run adopts the file if it is whole (size and
// time match) and fetches it again if not; the state never claims a
// file that a run did not finish.
func TestPowerCutBeforeStateCommit(t *testing.T) {
	root := hostileftp.Dir("", ok("whole"), ok("truncated"), ok("zeroed"), ok("missing"))
	h := newHostile(t, root, nil)
	sum, err, _ := h.run(nil, 10*time.Second)
	if err != nil || sum.Fetched != 4 {
		t.Fatalf("%v %+v", err, sum)
	}
	// The cut: state records gone, files in various states of flush.
	var changes []state.Change
	for _, n := range root.Children {
		changes = append(changes, state.Change{Path: n.Name, Delete: true})
	}
	if err := h.db.Job("hostile").Apply(changes); err != nil {
		t.Fatal(err)
	}
	mt := func(name string) time.Time {
		fi, err := os.Stat(filepath.Join(h.target, name))
		if err != nil {
			t.Fatal(err)
		}
		return fi.ModTime()
	}
	tr := filepath.Join(h.target, "truncated")
	m := mt("truncated")
	os.Truncate(tr, 0) // delayed allocation: the size was never written
	os.Chtimes(tr, m, m)
	z := filepath.Join(h.target, "zeroed")
	m = mt("zeroed")
	os.WriteFile(z, make([]byte, 5), 0o644) // a different size of zeros
	os.Chtimes(z, m, m)
	os.Remove(filepath.Join(h.target, "missing"))

	sum, err, _ = h.run(nil, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Adopted != 1 || sum.Fetched != 3 {
		t.Errorf("adopted %d, fetched %d; want 1 and 3", sum.Adopted, sum.Fetched)
	}
	want := map[string]string{}
	for _, n := range root.Children {
		want[n.Name] = string(n.Data)
	}
	h.wantFiles(want)
}
