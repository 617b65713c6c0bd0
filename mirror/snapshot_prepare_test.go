package mirror

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestSnapshotsPrepare: a run cut after publishing but before switching
// left current on the older version: prepare switches it to the newest.
// A half-linked next.tmp is thrown away, and next is made of hard links
// to the newest version, without its temporary files or staging
// directory; symlinks are made anew. An existing next is kept as it is.
func TestSnapshotsPrepare(t *testing.T) {
	target := t.TempDir()
	write := func(rel, data string) {
		p := filepath.Join(target, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	older, newer := "snapshots/20261129T010000Z", "snapshots/20261130T010000Z"
	write(older+"/a", "old")
	write(newer+"/a", "new")
	write(newer+"/d/b", "b")
	write(newer+"/d/"+tempPrefix+"0123456789abcdef"+tempSuffix, "partial")
	write(newer+"/"+stagingDir+"/x", "staged")
	write(nextBuilding+"/half", "cut")
	os.Symlink("d/b", filepath.Join(target, newer, "link"))
	os.Symlink(older, filepath.Join(target, currentLink))

	root, err := os.OpenRoot(target)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	s := snapshots{root: root}
	if err := s.prepare(); err != nil {
		t.Fatal(err)
	}
	if got := s.current(); got != filepath.Base(newer) {
		t.Errorf("current -> %q, want %q", got, filepath.Base(newer))
	}
	var got []string
	filepath.WalkDir(filepath.Join(target, nextSnapshot), func(p string, d os.DirEntry, err error) error {
		rel, _ := filepath.Rel(filepath.Join(target, nextSnapshot), p)
		got = append(got, rel)
		return err
	})
	if want := []string{".", "a", "d", "d/b", "link"}; !slices.Equal(got, want) {
		t.Errorf("next holds %q, want %q", got, want)
	}
	a1, _ := os.Stat(filepath.Join(target, newer, "a"))
	a2, _ := os.Stat(filepath.Join(target, nextSnapshot, "a"))
	if a1 == nil || a2 == nil || !os.SameFile(a1, a2) {
		t.Error("next/a is not a hard link to the newest version's")
	}
	if l, _ := os.Readlink(filepath.Join(target, nextSnapshot, "link")); l != "d/b" {
		t.Errorf("next/link -> %q", l)
	}
	if _, err := os.Lstat(filepath.Join(target, nextBuilding)); !os.IsNotExist(err) {
		t.Errorf("next.tmp left: %v", err)
	}

	// A next that exists (a run that did not end ok) is gone on in.
	write(nextSnapshot+"/fetched", "x")
	if err := s.prepare(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(target, nextSnapshot, "fetched")); err != nil {
		t.Errorf("prepare made next anew: %v", err)
	}

	// Two runs in one second publish two versions.
	start := time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)
	n1, err1 := s.publish(start)
	s.prepare()
	n2, err2 := s.publish(start)
	if err1 != nil || err2 != nil || n1 != "20261130T020000Z" || n2 != "20261130T020000Z-2" || s.current() != n2 {
		t.Errorf("published %q (%v), %q (%v); current %q", n1, err1, n2, err2, s.current())
	}
}
