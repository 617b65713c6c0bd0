package mirror_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/treetest"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// writeFiles writes each file (a '/'-separated path) under root with its
// path as content, and the modification time mtime if not zero.
func writeFiles(t *testing.T, root string, mtime time.Time, files ...string) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
		if !mtime.IsZero() {
			if err := os.Chtimes(p, mtime, mtime); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// slashFiles returns the files under root as sorted '/'-separated paths.
func slashFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for _, f := range treetest.Files(t, root) {
		out = append(out, filepath.ToSlash(f))
	}
	return out
}

// -min-age and -max-age against exact MLSD times: a file an hour old, two
// days old and 400 days old.
func TestMirrorAgeFilters(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	ages := map[string]time.Duration{
		"hour.txt":    time.Hour,
		"2days.txt":   48 * time.Hour,
		"400days.txt": 400 * 24 * time.Hour,
	}
	for _, tc := range []struct {
		name           string
		minAge, maxAge time.Duration
		want           []string
	}{
		{"no limits", 0, 0, []string{"2days.txt", "400days.txt", "hour.txt"}},
		{"min-age 1 day", 24 * time.Hour, 0, []string{"2days.txt", "400days.txt"}},
		{"max-age 30 days", 0, 30 * 24 * time.Hour, []string{"2days.txt", "hour.txt"}},
		{"both", 24 * time.Hour, 30 * 24 * time.Hour, []string{"2days.txt"}},
		{"min-age beyond all", 500 * 24 * time.Hour, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEmbedded(t)
			for name, age := range ages {
				writeFiles(t, e.src, now.Add(-age), name)
			}
			o := e.opts()
			o.MinAge, o.MaxAge = tc.minAge, tc.maxAge
			o.Now = func() time.Time { return now }
			sum := e.run(o)
			if got := slashFiles(t, e.target); !slices.Equal(got, tc.want) {
				t.Errorf("mirrored %v, want %v", got, tc.want)
			}
			if sum.Fetched != int64(len(tc.want)) || sum.Skipped != int64(len(ages)-len(tc.want)) {
				t.Errorf("fetched %d, skipped %d; want %d and %d", sum.Fetched, sum.Skipped, len(tc.want), len(ages)-len(tc.want))
			}
		})
	}
}

// Include and Exclude corner cases (mirror/names.go): "**" in the middle
// of a pattern, a leading '/', character classes, and excluded
// directories, which are not even listed.
func TestMirrorGlobs(t *testing.T) {
	tree := []string{
		"top.txt", "a.log", "b.log", "c.log", "d.log",
		"a/x.txt", "a/y.txt", "a/b/z.txt", "a/b/c/x.txt",
		"sub/top.txt", "sub/x.txt",
		"skip/g.txt", "skip/deep/f.txt",
	}
	const allDirs = 7 // the root, a, a/b, a/b/c, sub, skip, skip/deep
	for _, tc := range []struct {
		name             string
		include, exclude []string
		want             []string
		dirs             int64    // directories listed, the root included
		pruned           []string // directories that must not be made locally
	}{
		{name: "** in the middle matches zero or more directories", include: []string{"a/**/x.txt"},
			want: []string{"a/b/c/x.txt", "a/x.txt"}, dirs: allDirs},
		{name: "leading slash anchors at the root", include: []string{"/top.txt"},
			want: []string{"top.txt"}, dirs: allDirs},
		{name: "no slash matches base names at any depth", include: []string{"top.txt"},
			want: []string{"sub/top.txt", "top.txt"}, dirs: allDirs},
		{name: "class", include: []string{"[abc].log"},
			want: []string{"a.log", "b.log", "c.log"}, dirs: allDirs},
		{name: "negated class", include: []string{"[!a].log"},
			want: []string{"b.log", "c.log", "d.log"}, dirs: allDirs},
		{name: "excluded directory is pruned", exclude: []string{"skip"},
			want: []string{"a.log", "a/b/c/x.txt", "a/b/z.txt", "a/x.txt", "a/y.txt", "b.log", "c.log", "d.log", "sub/top.txt", "sub/x.txt", "top.txt"},
			dirs: allDirs - 2, pruned: []string{"skip"}},
		{name: "excluded directory by rooted path", exclude: []string{"/a/b"},
			want: []string{"a.log", "a/x.txt", "a/y.txt", "b.log", "c.log", "d.log", "skip/deep/f.txt", "skip/g.txt", "sub/top.txt", "sub/x.txt", "top.txt"},
			dirs: allDirs - 2, pruned: []string{"a/b"}},
		{name: "**/name matches at any depth, the root included", include: []string{"**/x.txt"},
			want: []string{"a/b/c/x.txt", "a/x.txt", "sub/x.txt"}, dirs: allDirs},
		{name: "trailing ** includes what is below", include: []string{"a/**"},
			want: []string{"a/b/c/x.txt", "a/b/z.txt", "a/x.txt", "a/y.txt"}, dirs: allDirs},
		{name: "** alone matches everything", include: []string{"**"},
			want: []string{"a.log", "a/b/c/x.txt", "a/b/z.txt", "a/x.txt", "a/y.txt", "b.log", "c.log", "d.log", "skip/deep/f.txt", "skip/g.txt", "sub/top.txt", "sub/x.txt", "top.txt"},
			dirs: allDirs},
		{name: "excluded ** below a directory prunes its subdirectories", exclude: []string{"skip/**"},
			want: []string{"a.log", "a/b/c/x.txt", "a/b/z.txt", "a/x.txt", "a/y.txt", "b.log", "c.log", "d.log", "sub/top.txt", "sub/x.txt", "top.txt"},
			dirs: allDirs - 1, pruned: []string{"skip/deep"}},
		{name: "exclude wins over include", include: []string{"*.txt"}, exclude: []string{"a/**", "skip"},
			want: []string{"sub/top.txt", "sub/x.txt", "top.txt"},
			dirs: allDirs - 4, pruned: []string{"a/b", "skip"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEmbedded(t)
			writeFiles(t, e.src, time.Time{}, tree...)
			o := e.opts()
			o.Include, o.Exclude = tc.include, tc.exclude
			sum := e.run(o)
			if got := slashFiles(t, e.target); !slices.Equal(got, tc.want) {
				t.Errorf("mirrored %v, want %v", got, tc.want)
			}
			// A pruned directory is never listed: its files are neither
			// fetched nor even counted as seen.
			if sum.Dirs != tc.dirs {
				t.Errorf("listed %d directories, want %d", sum.Dirs, tc.dirs)
			}
			var inPruned int64
			for _, f := range tree {
				for _, d := range tc.pruned {
					if len(f) > len(d) && f[:len(d)+1] == d+"/" {
						inPruned++
						break
					}
				}
			}
			if want := int64(len(tree)) - inPruned; sum.Listed != want {
				t.Errorf("saw %d files in listings, want %d", sum.Listed, want)
			}
			for _, d := range tc.pruned {
				if _, err := os.Lstat(filepath.Join(e.target, filepath.FromSlash(d))); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("pruned directory %s made locally: %v", d, err)
				}
			}
		})
	}
}

// -delete never removes what the filters leave out: a file mirrored by
// one run, then excluded (or no longer included) in the next while it is
// gone remotely, stays. What is gone remotely and not filtered goes,
// which shows that the run did delete.
func TestMirrorFilteredNeverDeleted(t *testing.T) {
	tree := []string{"keep.txt", "gone.txt", "z.tmp", "old/y.txt", "old/w.tmp"}
	removed := []string{"gone.txt", "z.tmp", "old"} // remotely, before the second run
	for _, tc := range []struct {
		name             string
		include, exclude []string
		kept, deleted    []string
	}{
		{name: "excluded directory and glob", exclude: []string{"old", "*.tmp"},
			kept: []string{"keep.txt", "old/w.tmp", "old/y.txt", "z.tmp"}, deleted: []string{"gone.txt"}},
		{name: "excluded file in a directory gone remotely", exclude: []string{"*.tmp"},
			kept: []string{"keep.txt", "old/w.tmp", "z.tmp"}, deleted: []string{"gone.txt", "old/y.txt"}},
		{name: "no longer included", include: []string{"*.txt"},
			kept: []string{"keep.txt", "old/w.tmp", "z.tmp"}, deleted: []string{"gone.txt", "old/y.txt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEmbedded(t)
			writeFiles(t, e.src, time.Time{}, tree...)
			o := e.opts()
			o.Delete = true
			if sum := e.run(o); sum.Fetched != int64(len(tree)) {
				t.Fatalf("first run fetched %d, want %d", sum.Fetched, len(tree))
			}
			for _, f := range removed {
				if err := os.RemoveAll(filepath.Join(e.src, filepath.FromSlash(f))); err != nil {
					t.Fatal(err)
				}
			}
			o = e.opts()
			o.Delete, o.MaxDelete = true, mirror.DeleteLimit{None: true}
			o.Include, o.Exclude = tc.include, tc.exclude
			sum := e.run(o)
			if got := slashFiles(t, e.target); !slices.Equal(got, tc.kept) {
				t.Errorf("target holds %v, want %v (deleted should be %v)", got, tc.kept, tc.deleted)
			}
			for _, f := range tc.kept {
				if b, err := os.ReadFile(filepath.Join(e.target, filepath.FromSlash(f))); err != nil || string(b) != f {
					t.Errorf("%s: %q, %v", f, b, err)
				}
			}
			if sum.Deleted != int64(len(tc.deleted)) {
				t.Errorf("deleted %d files, want %d (%v)", sum.Deleted, len(tc.deleted), tc.deleted)
			}
		})
	}
}

// TestIncludeMakesNoEmptyDirectories: with -include "big/**" only the
// directories that hold something mirrored are made (and big/empty,
// which the pattern takes in and which is empty remotely too), not every
// directory of the remote tree. Without filters every directory, empty
// ones included, is made.
func TestIncludeMakesNoEmptyDirectories(t *testing.T) {
	e := newEmbedded(t)
	writeFiles(t, e.src, time.Time{}, "big/a.bin", "big/sub/b.bin", "small/x.txt", "small/deep/y.txt")
	for _, d := range []string{"empty", "big/empty", "small/deep/empty"} {
		if err := os.MkdirAll(filepath.Join(e.src, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	o := e.opts()
	o.Include = []string{"big/**"}
	e.run(o)
	if got, want := dirsUnder(t, e.target), []string{"big", "big/empty", "big/sub"}; !slices.Equal(got, want) {
		t.Errorf("with -include big/**: directories %q, want %q", got, want)
	}

	o = e.opts()
	o.Job, o.Target = "all", filepath.Join(t.TempDir(), "all")
	e.run(o)
	want := []string{"big", "big/empty", "big/sub", "empty", "small", "small/deep", "small/deep/empty"}
	if got := dirsUnder(t, o.Target); !slices.Equal(got, want) {
		t.Errorf("without filters: directories %q, want %q", got, want)
	}
}

// dirsUnder lists the directories below root, '/'-separated, sorted.
func dirsUnder(t *testing.T, root string) []string {
	t.Helper()
	var dirs []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && p != root {
			rel, _ := filepath.Rel(root, p)
			dirs = append(dirs, filepath.ToSlash(rel))
		}
		return nil
	})
	slices.Sort(dirs)
	return dirs
}
