package mirror_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ftpmirror/ftpmirror/internal/ftpservers"
	"github.com/ftpmirror/ftpmirror/internal/treetest"
)

// writeFile writes a file (and its directory) under root, readable by
// the servers.
func writeFile(t *testing.T, root, rel, data string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRealServersGlobNames: names that ls would expand or split. GNU
// inetutils ftpd hands a LIST or STAT argument to ls, which globs it:
// listing "/[x]" listed the empty directory "x", so bracket.txt was
// never fetched, and once fetched it was deleted as gone; "/dir with
// spaces" was split in two. Listing by CWD sends no argument to glob.
func TestRealServersGlobNames(t *testing.T) {
	for _, name := range ftpservers.Names() {
		t.Run(name, func(t *testing.T) {
			e, srv := newReal(t, name, false)
			writeFile(t, e.src, "[x]/bracket.txt", "in the bracket directory\n")
			writeFile(t, e.src, "keep.txt", "keep\n")
			writeFile(t, e.src, "dir with spaces/inner.txt", "spaces\n")
			writeFile(t, e.src, "star*/q?.txt", "glob characters\n")
			sum := e.run(e.opts())
			if sum.Fetched != 4 {
				t.Errorf("first run fetched %d files, want 4: %+v", sum.Fetched, sum)
			}
			treetest.Equal(t, e.src, e.target, true)

			// An empty directory that "[x]" and "star*" match as globs.
			for _, d := range []string{"x", "star"} {
				if err := os.Mkdir(filepath.Join(e.src, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			o := e.opts()
			o.Delete = true
			o.MaxDeletePercent = -1
			sum = e.run(o)
			if sum.Deleted != 0 {
				t.Errorf("second run deleted %d paths, want none: %+v", sum.Deleted, sum)
			}
			if _, err := os.Stat(filepath.Join(e.target, "[x]", "bracket.txt")); err != nil {
				t.Errorf("bracket.txt is gone from the mirror: %v", err)
			}
			treetest.Equal(t, e.src, e.target, true)
			for _, c := range srv.Commands() {
				verb, arg, _ := strings.Cut(c, " ")
				if slices.Contains([]string{"LIST", "NLST", "MLSD", "STAT"}, verb) && !slices.Contains([]string{"", ".", "-a", "-a ."}, arg) {
					t.Errorf("listing command with a path argument: %q", c)
				}
			}
		})
	}
}
