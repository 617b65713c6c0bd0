package mirror_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/internal/ftpservers"
	"github.com/ftpmirror/ftpmirror/internal/hostileftp"
	"github.com/ftpmirror/ftpmirror/internal/treetest"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// TestRealServersRootMissing: a remote root that is gone (vsftpd answers
// the LIST of a missing directory with an empty listing and 226) or
// unreadable (mode 700, owned by root) fails the run with a *RootError
// naming the path and carrying the server's reply; -delete with no limit
// deletes nothing. A subdirectory that cannot be listed fails alone and
// leaves no local directory behind.
func TestRealServersRootMissing(t *testing.T) {
	for _, name := range ftpservers.Names() {
		t.Run(name, func(t *testing.T) {
			e, _ := newReal(t, name, false)
			writeFile(t, e.src, "pub/a.txt", "a\n")
			writeFile(t, e.src, "pub/sub/b.txt", "b\n")
			writeFile(t, e.src, "pub/secret/c.txt", "c\n")
			if err := os.Chmod(filepath.Join(e.src, "pub", "secret"), 0o700); err != nil {
				t.Fatal(err)
			}
			o := e.opts()
			o.Root = "/pub"
			sum, err := mirror.Run(t.Context(), o)
			if err != nil || sum.Failed != 1 || sum.Fetched != 2 {
				t.Fatalf("first run: %v %+v; want 2 fetched and secret failed", err, sum)
			}
			if !strings.Contains(strings.Join(sum.Errors, "\n"), "/pub/secret") {
				t.Errorf("errors do not name /pub/secret: %q", sum.Errors)
			}
			if _, err := os.Lstat(filepath.Join(e.target, "secret")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a local directory for the unreadable one: %v", err)
			}
			before := treetest.Files(t, e.target)

			for _, tc := range []struct {
				what   string
				break_ func()
				root   string
			}{
				{"unreadable", func() { os.Chmod(filepath.Join(e.src, "pub"), 0o700) }, "/pub"},
				{"missing", func() { os.Rename(filepath.Join(e.src, "pub"), filepath.Join(e.src, "pubb")) }, "/pub"},
				{"typo", func() {}, "/nonexistent"},
			} {
				tc.break_()
				o := e.opts()
				o.Root = tc.root
				o.Delete = true
				o.MaxDelete = mirror.DeleteLimit{None: true}
				sum, err := mirror.Run(t.Context(), o)
				var re *mirror.RootError
				var fe *ftpcore.Error
				if !errors.As(err, &re) || re.Path != tc.root || !errors.As(err, &fe) || fe.Code/100 != 5 {
					t.Errorf("%s root: err = %v; want a *RootError for %s with the server's 5xx", tc.what, err, tc.root)
				} else {
					t.Logf("%s root: %v", tc.what, err)
				}
				if sum == nil || sum.Deleted != 0 || sum.Result != mirror.ResultFailed {
					t.Errorf("%s root: summary %+v", tc.what, sum)
				}
				if got := treetest.Files(t, e.target); len(got) != len(before) {
					t.Errorf("%s root: mirror has %d files, had %d", tc.what, len(got), len(before))
				}
			}
		})
	}
}

// TestRootIsAFile: a URL that names a file fails before anything is
// written (no target directory), saying so and what to do instead.
func TestRootIsAFile(t *testing.T) {
	h := newHostile(t, hostileftp.Dir("", ok("a.txt")), nil)
	o := h.opts()
	o.Root, o.Target = "/a.txt", filepath.Join(h.dir, "fresh")
	sum, err, _ := h.run(o, 10*time.Second)
	var re *mirror.RootError
	if !errors.As(err, &re) || !errors.Is(err, mirror.ErrNotStarted) || !strings.Contains(err.Error(), "names a file") || !strings.Contains(err.Error(), "-include") {
		t.Fatalf("err = %v (%+v)", err, sum)
	}
	if _, err := os.Stat(o.Target); !os.IsNotExist(err) {
		t.Errorf("target made for a file URL: %v", err)
	}
}

// TestUnreadablePWD: a server whose PWD reply cannot be parsed still
// serves a run: an absolute root never asks, and the login directory is
// listed with paths relative to it.
func TestUnreadablePWD(t *testing.T) {
	root := hostileftp.Dir("", ok("a.txt"), hostileftp.Dir("sub", ok("b.txt")))
	pwd := hostileftp.Options{Style: hostileftp.StyleUnix, Hook: func(s *hostileftp.Session, verb, _ string) bool {
		if verb == "PWD" {
			s.Reply("257 you are somewhere")
			return true
		}
		return false
	}}
	for _, r := range []string{"/", "", "sub"} {
		t.Run("root="+r, func(t *testing.T) {
			h := newHostile(t, root, &pwd)
			o := h.opts()
			o.Root = r
			sum, err, _ := h.run(o, 10*time.Second)
			if err != nil || sum.Failed != 0 {
				t.Fatalf("%v %+v", err, sum)
			}
			want := map[string]string{"a.txt": string(data("a.txt", 3)), "sub/": "", "sub/b.txt": string(data("b.txt", 3))}
			if r == "sub" {
				want = map[string]string{"b.txt": string(data("b.txt", 3))}
			}
			h.wantFiles(want)
		})
	}
}
