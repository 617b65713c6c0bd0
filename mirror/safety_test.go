package mirror_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/hostileftp"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// The tests in this file hold the guards of the local side (issue 11):
// temporary files, the deletion guards, the confinement of the
// per-directory Roots, resuming only the same remote file. Each fails
// when its guard is removed (see bench/mutate.sh).

// tenFiles is a root of ten files, f0 to f9.
func tenFiles(n int) *hostileftp.Node {
	root := hostileftp.Dir("")
	for i := range n {
		root.Children = append(root.Children, ok("f"+strconv.Itoa(i)))
	}
	return root
}

func filesOf(n, from int) map[string]string {
	want := map[string]string{}
	for i := from; i < n; i++ {
		name := "f" + strconv.Itoa(i)
		want[name] = string(data(name, 3))
	}
	return want
}

// The default deletion guard is exactly 50% of the known paths: half
// goes, one more than half is refused and nothing is deleted.
func TestDeleteGuardDefault(t *testing.T) {
	for _, tc := range []struct {
		gone  int
		guard bool
	}{{5, false}, {6, true}} {
		t.Run(strconv.Itoa(tc.gone)+" of 10", func(t *testing.T) {
			h := newHostile(t, tenFiles(10), nil)
			if sum, err, _ := h.run(nil, 10*time.Second); err != nil || sum.Fetched != 10 {
				t.Fatalf("first run: %v %+v", err, sum)
			}
			left := hostileftp.Dir("")
			for i := tc.gone; i < 10; i++ {
				left.Children = append(left.Children, ok("f"+strconv.Itoa(i)))
			}
			h.srv.SetTree(left)
			o := h.opts()
			o.Delete = true
			sum, err, _ := h.run(o, 10*time.Second)
			if errors.Is(err, mirror.ErrSafetyGuard) != tc.guard {
				t.Fatalf("err = %v, want the guard: %v", err, tc.guard)
			}
			if tc.guard {
				if sum.Deleted != 0 || sum.Result != mirror.ResultGuard {
					t.Errorf("summary %+v", sum)
				}
				h.wantFiles(filesOf(10, 0))
				return
			}
			if sum.Deleted != int64(tc.gone) {
				t.Errorf("deleted %d, want %d", sum.Deleted, tc.gone)
			}
			h.wantFiles(filesOf(10, tc.gone))
		})
	}
}

// -max-delete N: N deletions go through, N+1 are refused and nothing is
// deleted.
func TestMaxDeleteCount(t *testing.T) {
	for _, tc := range []struct {
		gone  int
		guard bool
	}{{2, false}, {3, true}} {
		t.Run(strconv.Itoa(tc.gone), func(t *testing.T) {
			h := newHostile(t, tenFiles(10), nil)
			if _, err, _ := h.run(nil, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			left := hostileftp.Dir("")
			for i := tc.gone; i < 10; i++ {
				left.Children = append(left.Children, ok("f"+strconv.Itoa(i)))
			}
			h.srv.SetTree(left)
			o := h.opts()
			o.Delete, o.MaxDelete = true, mirror.DeleteLimit{N: 2}
			sum, err, _ := h.run(o, 10*time.Second)
			if errors.Is(err, mirror.ErrSafetyGuard) != tc.guard {
				t.Fatalf("err = %v, want the guard: %v", err, tc.guard)
			}
			if tc.guard {
				if sum.Deleted != 0 {
					t.Errorf("deleted %d", sum.Deleted)
				}
				h.wantFiles(filesOf(10, 0))
				return
			}
			h.wantFiles(filesOf(10, tc.gone))
		})
	}
}

// Temporary files that no interrupted download of the state will
// resume (a crash whose state record was lost, a file gone remotely) are
// removed when their directory is listed.
func TestStaleTempsRemoved(t *testing.T) {
	root := hostileftp.Dir("", ok("a"), hostileftp.Dir("sub", ok("b")))
	h := newHostile(t, root, nil)
	if err := os.Mkdir(filepath.Join(h.target, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{".ftpmirror-0123456789abcdef.part", "sub/.ftpmirror-fedcba9876543210.part"} {
		if err := os.WriteFile(filepath.Join(h.target, p), []byte("stale"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Not a temporary name: left alone.
	if err := os.WriteFile(filepath.Join(h.target, "sub", ".ftpmirror-notes"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err, _ := h.run(nil, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, sum, 2, 0, mirror.ResultOK)
	h.wantFiles(map[string]string{"a": string(data("a", 3)), "sub/": "", "sub/b": string(data("b", 3)),
		"sub/.ftpmirror-notes": "mine"})
}

// A RETR that fails before any byte came leaves no temporary file,
// whether the failure is permanent or transient.
func TestNoTempAfterRETRError(t *testing.T) {
	for _, reply := range []string{"550 Permission denied.", "450 Try again later."} {
		t.Run(reply[:3], func(t *testing.T) {
			root := hostileftp.Dir("", ok("good"), ok("bad"))
			h := newHostile(t, root, &hostileftp.Options{Hook: func(s *hostileftp.Session, verb, arg string) bool {
				if verb == "RETR" && filepath.Base(arg) == "bad" {
					s.Reply("%s", reply)
					return true
				}
				return false
			}})
			o := h.opts()
			o.Retries = 0
			o.FTP.DisablePipelining = true // one RETR at a time: the hook sees each
			sum, err, _ := h.run(o, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			wantCounts(t, sum, 1, 1, mirror.ResultPartial)
			h.wantFiles(map[string]string{"good": string(data("good", 3))})
		})
	}
}

// The directories of the target are opened through the target's Root: a
// directory that is swapped for a link out of the target between its
// creation and the fetch of its files is not followed.
func TestDirSwappedForLink(t *testing.T) {
	root := hostileftp.Dir("", ok("a"), hostileftp.Dir("d", ok("f")), hostileftp.Dir("z", ok("g")))
	var swapped atomic.Bool
	var h *hostile
	h = newHostile(t, root, &hostileftp.Options{Listing: func(verb, dir, text string) string {
		// One connection lists /, /d, then /z, and fetches after: by
		// the listing of /z, the real run has made target/d for d/f
		// (a dry run makes nothing, and is left alone).
		d := filepath.Join(h.target, "d")
		if fi, err := os.Lstat(d); dir == "/z" && err == nil && fi.IsDir() && !swapped.Load() {
			if err := os.Remove(d); err != nil {
				t.Errorf("remove the directory: %v", err)
			} else if err := os.Symlink("../sentinel", d); err != nil {
				t.Error(err)
			}
			swapped.Store(true)
		}
		return text
	}})
	o := h.opts()
	o.Retries, o.Parallel = 0, 1
	sum, err, _ := h.run(o, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !swapped.Load() {
		t.Fatal("the listing of /d was never asked for")
	}
	wantCounts(t, sum, 2, 1, mirror.ResultPartial)
	// h's cleanup checks that nothing changed in dir/sentinel.
	h.wantFiles(map[string]string{"a": string(data("a", 3)), "d": "-> ../sentinel", "z/": "", "z/g": string(data("g", 3))})
}

// A download cut short is resumed only against the same remote file:
// when the file changed in size or time before the next run, it is
// fetched from the start, never spliced (old bytes, then new).
func TestResumeChangedHostile(t *testing.T) {
	const size = 2 << 20
	old := bytes.Repeat([]byte("old bytes\n"), size/10)
	t1 := t0.Add(time.Hour)
	for _, tc := range []struct {
		name    string
		data    []byte
		mtime   time.Time
		resumed int64
	}{
		{"unchanged", old, t0, 1},
		{"same size, new time", rewritePrefix(old), t1, 0},
		{"new size", append(rewritePrefix(old), "more"...), t0, 0},
		{"shorter", rewritePrefix(old)[:size-100], t0, 0},
		// Size and time as before, every byte new: resumed, until the
		// bytes fetched again before the offset tell it apart.
		{"same size and time, new bytes", bytes.Repeat([]byte("NEW BYTES\n"), size/10), t0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cut atomic.Bool
			cut.Store(true)
			h := newHostile(t, hostileftp.Dir("", hostileftp.File("big", old, t0)), &hostileftp.Options{
				Content: func(p string, off int64, d []byte) io.Reader {
					if cut.Load() {
						// The first run gets 1.25 MiB, then the
						// connection breaks.
						return io.MultiReader(bytes.NewReader(d[:size*5/8]), errReader{})
					}
					return bytes.NewReader(d[min(off, int64(len(d))):])
				},
			})
			o := h.opts()
			o.Retries = 0
			sum, err, _ := h.run(o, 10*time.Second)
			if err != nil || sum.Failed != 1 {
				t.Fatalf("interrupted run: %v %+v", err, sum)
			}
			h.wantFilesTemps(map[string]string{}, 1)

			cut.Store(false)
			h.srv.SetTree(hostileftp.Dir("", hostileftp.File("big", tc.data, tc.mtime)))
			sum, err, _ = h.run(nil, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			wantCounts(t, sum, 1, 0, mirror.ResultOK)
			if sum.Resumed != tc.resumed {
				t.Errorf("resumed %d, want %d", sum.Resumed, tc.resumed)
			}
			got, _ := os.ReadFile(filepath.Join(h.target, "big"))
			if !bytes.Equal(got, tc.data) {
				t.Errorf("big: %d bytes, equal to the remote file: false; begins %q", len(got), got[:min(len(got), 20)])
			}
			h.wantFiles(map[string]string{"big": string(tc.data)})
		})
	}
}

// rewritePrefix returns b with its first 4 KiB changed: a new version of
// the file whose tail is as before.
func rewritePrefix(b []byte) []byte {
	c := bytes.Clone(b)
	copy(c, bytes.Repeat([]byte("NEW BYTES\n"), 4096/10))
	return c
}

// A directory that the run made for a fetch, and that is removed before
// the fetch (by hand, under a running mirror), is made again: the file
// is fetched, not failed.
func TestDirRemovedBeforeFetch(t *testing.T) {
	root := hostileftp.Dir("", ok("a"), hostileftp.Dir("d", ok("f")), hostileftp.Dir("z", ok("g")))
	var removed atomic.Bool
	var h *hostile
	h = newHostile(t, root, &hostileftp.Options{Listing: func(verb, dir, text string) string {
		// As in TestDirSwappedForLink: by the listing of /z the run
		// has made target/d; it has fetched nothing yet.
		d := filepath.Join(h.target, "d")
		if fi, err := os.Lstat(d); dir == "/z" && err == nil && fi.IsDir() && !removed.Load() {
			if err := os.Remove(d); err != nil {
				t.Errorf("remove the directory: %v", err)
			}
			removed.Store(true)
		}
		return text
	}})
	o := h.opts()
	o.Parallel = 1
	sum, err, _ := h.run(o, 10*time.Second)
	if err != nil || !removed.Load() {
		t.Fatalf("%v, removed %v", err, removed.Load())
	}
	wantCounts(t, sum, 3, 0, mirror.ResultOK)
	h.wantFiles(map[string]string{"a": string(data("a", 3)), "d/": "", "d/f": string(data("f", 3)), "z/": "", "z/g": string(data("g", 3))})
}
