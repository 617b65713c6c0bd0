package mirror_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/treetest"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// linkTree writes a tree with symlinks: to a file and a directory inside
// it, one climbing out of it, an absolute one, and a dangling one.
func linkTree(t *testing.T, src string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "real dir"), 0o755))
	must(os.WriteFile(filepath.Join(src, "real dir", "inner.txt"), []byte("inner\n"), 0o644))
	must(os.WriteFile(filepath.Join(src, "file.txt"), []byte("the file\n"), 0o644))
	must(os.Symlink("file.txt", filepath.Join(src, "to-file")))
	must(os.Symlink("real dir", filepath.Join(src, "to-dir")))
	must(os.Symlink("../../../../etc/passwd", filepath.Join(src, "escape")))
	must(os.Symlink("/etc/passwd", filepath.Join(src, "absolute")))
	must(os.Symlink("nowhere", filepath.Join(src, "dangling")))
}

func TestSymlinks(t *testing.T) {
	for _, server := range []string{"vsftpd", "proftpd"} {
		t.Run(server, func(t *testing.T) {
			for _, tc := range []struct {
				mode  mirror.SymlinkMode
				files []string          // regular files in the target
				links map[string]string // symlinks in the target and their targets
			}{
				{mirror.SymlinksSkip, []string{"file.txt", "real dir/inner.txt"}, nil},
				{mirror.SymlinksFollow, []string{"file.txt", "real dir/inner.txt", "to-dir/inner.txt", "to-file"}, nil},
				{mirror.SymlinksKeep, []string{"file.txt", "real dir/inner.txt"}, map[string]string{"to-file": "file.txt", "to-dir": "real dir", "dangling": "nowhere"}},
			} {
				t.Run(tc.mode.String(), func(t *testing.T) {
					if server == "proftpd" && tc.links != nil {
						// proftpd's MLSD leaves dangling links out.
						delete(tc.links, "dangling")
					}
					e, _ := newReal(t, server, false)
					linkTree(t, e.src)
					o := e.opts()
					o.Symlinks = tc.mode
					o.Progress = &mirror.Progress{}
					sum, err := mirror.Run(t.Context(), o)
					if err != nil {
						t.Fatal(err)
					}
					// A followed link to a directory is listed like one.
					if n := o.Progress.Listed.Load(); n != sum.Dirs {
						t.Errorf("Progress.Listed = %d, Summary.Dirs = %d", n, sum.Dirs)
					}
					got := treetest.Files(t, e.target)
					if len(got) != len(tc.files) {
						t.Fatalf("files %q, want %q (%+v)", got, tc.files, sum)
					}
					for i := range got {
						if got[i] != tc.files[i] {
							t.Fatalf("files %q, want %q", got, tc.files)
						}
					}
					if tc.mode == mirror.SymlinksFollow {
						b, _ := os.ReadFile(filepath.Join(e.target, "to-file"))
						if string(b) != "the file\n" {
							t.Errorf("to-file holds %q", b)
						}
					}
					for name, want := range tc.links {
						target, err := os.Readlink(filepath.Join(e.target, name))
						if err != nil || target != want {
							t.Errorf("link %s -> %q (%v), want %q", name, target, err, want)
						}
					}
					for _, name := range []string{"escape", "absolute"} {
						if _, err := os.Lstat(filepath.Join(e.target, name)); err == nil {
							t.Errorf("%s exists in the mirror: a link out of it must not be made or followed", name)
						}
					}
					// A second run changes nothing.
					o.Progress = nil
					sum2, err := mirror.Run(t.Context(), e.opts2(o))
					if err != nil || sum2.Fetched != 0 {
						t.Errorf("second run fetched %d: %v %v", sum2.Fetched, err, sum2.Errors)
					}
				})
			}
		})
	}
}

// opts2 copies o for a second run.
func (e *env) opts2(o *mirror.Options) *mirror.Options {
	c := *o
	return &c
}

// -limit-rate caps the total rate: 2 MiB at 1 MiB/s cannot take less
// than about 1.5 s (the limiter allows a burst). A lower bound only: it
// cannot fail because the machine is slow.
func TestLimitRate(t *testing.T) {
	e := newEmbedded(t)
	data := make([]byte, 2<<20)
	if err := os.WriteFile(filepath.Join(e.src, "a.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	o := e.opts()
	o.LimitRate = 1 << 20
	start := time.Now()
	e.run(o)
	if d := time.Since(start); d < 1500*time.Millisecond {
		t.Fatalf("2 MiB at 1 MiB/s took %v", d)
	}
	treetest.Equal(t, e.src, e.target, true)
}
