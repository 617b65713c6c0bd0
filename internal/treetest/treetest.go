// Package treetest makes and compares directory trees for tests: a
// deterministic tree of many small files with awkward names, changes to
// it, and an exact comparison of two trees (bytes and modification
// times).
package treetest

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// Names that a mirror must carry over exactly.
var awkward = []string{
	"plain.txt", "with space.txt", " leading space", "trailing space ", "日本語.txt",
	"Résumé.pdf", ".hidden", "semi;colon", "percent%20", "a+b=c", "#hash", "dash-", "quote'", "x", "UPPER.TXT",
}

// Make writes a tree of n files under root (which must exist or is
// created), spread over about n/25 directories up to four deep, with
// sizes from 0 to maxSize bytes and times spread over two years (so a
// Unix LIST shows both the "recent" and the "old" format). The same seed
// gives the same tree.
func Make(t testing.TB, root string, n, maxSize int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ndirs := max(n/25, 1)
	dirs := []string{""}
	for i := 1; i < ndirs; i++ {
		parent := dirs[rng.IntN(len(dirs))]
		if depth(parent) >= 4 {
			parent = ""
		}
		name := fmt.Sprintf("d%02d %s", i, awkward[rng.IntN(len(awkward))])
		dirs = append(dirs, filepath.Join(parent, name))
	}
	now := time.Now()
	for i := range n {
		dir := dirs[i%len(dirs)]
		name := fmt.Sprintf("f%04d-%s", i, awkward[i%len(awkward)])
		size := 0
		if maxSize > 0 {
			size = rng.IntN(maxSize + 1)
		}
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		p := filepath.Join(root, dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		mt := now.Add(-time.Duration(rng.IntN(2*365*24*60)) * time.Minute).Truncate(time.Second)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
}

func depth(p string) int {
	if p == "" {
		return 0
	}
	return bytes.Count([]byte(p), []byte{filepath.Separator}) + 1
}

// Files returns the regular files under root, relative, sorted.
func Files(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// Mutate changes, deletes and adds about pct percent of the files each,
// and returns what it did (paths relative to root).
func Mutate(t testing.TB, root string, pct int, seed uint64) (changed, deleted, added []string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	files := Files(t, root)
	k := max(len(files)*pct/100, 1)
	rng.Shuffle(len(files), func(i, j int) { files[i], files[j] = files[j], files[i] })
	mt := time.Now().Add(-time.Hour).Truncate(time.Second)
	for _, f := range files[:k] {
		p := filepath.Join(root, f)
		if err := os.WriteFile(p, []byte("changed "+f), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mt, mt)
		changed = append(changed, f)
	}
	for _, f := range files[k : 2*k] {
		if err := os.Remove(filepath.Join(root, f)); err != nil {
			t.Fatal(err)
		}
		deleted = append(deleted, f)
	}
	for i := range k {
		f := filepath.Join(filepath.Dir(files[i]), fmt.Sprintf("new %d.bin", i))
		p := filepath.Join(root, f)
		if err := os.WriteFile(p, bytes.Repeat([]byte{byte(i)}, 100+i), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mt, mt)
		added = append(added, f)
	}
	return changed, deleted, added
}

// Equal fails t unless got holds exactly want's regular files with the
// same bytes, and, if times, the same modification times to the second.
// Directories and other files in got that want lacks are reported too.
func Equal(t testing.TB, want, got string, times bool) {
	t.Helper()
	wf, gf := Files(t, want), Files(t, got)
	if len(wf) != len(gf) {
		t.Errorf("%s has %d files, %s has %d", want, len(wf), got, len(gf))
	}
	gset := map[string]bool{}
	for _, f := range gf {
		gset[f] = true
	}
	bad := 0
	for _, f := range wf {
		if !gset[f] {
			t.Errorf("missing %q", f)
			bad++
		} else {
			delete(gset, f)
			a, _ := os.ReadFile(filepath.Join(want, f))
			b, _ := os.ReadFile(filepath.Join(got, f))
			if !bytes.Equal(a, b) {
				t.Errorf("%q: contents differ (%d vs %d bytes)", f, len(a), len(b))
				bad++
			}
			if times {
				ai, _ := os.Stat(filepath.Join(want, f))
				bi, _ := os.Stat(filepath.Join(got, f))
				if ai != nil && bi != nil && ai.ModTime().Unix() != bi.ModTime().Unix() {
					t.Errorf("%q: time %v, want %v", f, bi.ModTime(), ai.ModTime())
					bad++
				}
			}
		}
		if bad > 10 {
			t.Fatal("too many differences")
		}
	}
	for f := range gset {
		t.Errorf("extra file %q", f)
	}
}
