// Package sampletree is the sample tree that `ftpmirror demo` serves and
// mirrors: made deterministically, changed between the demo's two runs,
// and compared with the mirror.
package sampletree

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// Make writes a deterministic tree of about n files: nested
// directories, names with spaces and UTF-8, a dot file, empty files and
// one file of 3 MiB, with modification times spread over two years.
func Make(root string, n int) error {
	rng := rand.New(rand.NewPCG(1, 2))
	dirs := []string{"", "docs", "docs/old releases", "src", "src/pkg", "src/pkg/deep", "data", "données", "data/2025"}
	names := []string{"README", "notes.txt", "release notes.md", "archive.tar.gz", "日本語.txt", ".hidden", "empty", "Résumé.pdf"}
	base := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	for i := range n {
		dir := dirs[i%len(dirs)]
		name := fmt.Sprintf("%03d-%s", i, names[i%len(names)])
		size := rng.IntN(32 << 10)
		if names[i%len(names)] == "empty" {
			size = 0
		}
		if i == 7 {
			size = 3 << 20
		}
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(rng.IntN(256))
		}
		p := filepath.Join(root, filepath.FromSlash(dir), name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
		mt := base.Add(time.Duration(rng.IntN(2*365*24)) * time.Hour)
		if err := os.Chtimes(p, mt, mt); err != nil {
			return err
		}
	}
	return nil
}

// Change changes three files of a tree made by Make, adds two and
// deletes two, and says so.
func Change(root string) (string, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, p)
		}
		return err
	})
	if err != nil || len(files) < 10 {
		return "", fmt.Errorf("too few files: %v", err)
	}
	now := time.Now().Add(-time.Minute).Truncate(time.Second)
	for _, p := range files[1:4] {
		if err := os.WriteFile(p, []byte("changed at "+now.String()+"\n"), 0o644); err != nil {
			return "", err
		}
		os.Chtimes(p, now, now)
	}
	for _, p := range files[4:6] {
		if err := os.Remove(p); err != nil {
			return "", err
		}
	}
	for i, name := range []string{"new file.txt", "docs/nouveau-é.txt"} {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.WriteFile(p, bytes.Repeat([]byte{byte('a' + i)}, 1000*(i+1)), 0o644); err != nil {
			return "", err
		}
		os.Chtimes(p, now, now)
	}
	return "3 files changed, 2 deleted, 2 added", nil
}

// Compare checks that b holds exactly a's regular files, with the same
// bytes and (to the second) the same modification times, and returns
// how many there are.
func Compare(a, b string) (int, error) {
	seen := map[string]bool{}
	n := 0
	err := filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(a, p)
		seen[rel] = true
		n++
		want, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		got, err := os.ReadFile(filepath.Join(b, rel))
		if err != nil {
			return err
		}
		if !bytes.Equal(want, got) {
			return fmt.Errorf("%s: contents differ", rel)
		}
		wi, _ := d.Info()
		gi, err := os.Stat(filepath.Join(b, rel))
		if err != nil {
			return err
		}
		if wi.ModTime().Unix() != gi.ModTime().Unix() {
			return fmt.Errorf("%s: time %s, want %s", rel, gi.ModTime(), wi.ModTime())
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	return n, filepath.WalkDir(b, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(b, p)
		if !seen[rel] {
			return fmt.Errorf("%s: not in the source", rel)
		}
		return nil
	})
}
