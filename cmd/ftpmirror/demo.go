package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/embedftp"
	"github.com/ftpmirror/ftpmirror/internal/jobs"
)

// cmdDemo serves a generated sample tree from an embedded read-only FTP
// server on a loopback port, mirrors it into DIR/mirror, changes a few
// remote files, mirrors again, and checks that the copy is exact. Both
// runs go through jobs.Mirror, exactly as `ftpmirror sync` does.
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", `demo [-dir DIR] [-files N]

Serves a generated sample tree from an embedded read-only FTP server on a
loopback port, mirrors it into DIR/mirror with "sync -delete", changes a
few remote files, mirrors again, and checks that the copy is exact. Both
runs go through the code path of "ftpmirror sync".`)
	dir := fs.String("dir", "ftpmirror-demo", "where the sample tree (remote/), the mirror (mirror/) and the state (state.db) go")
	files := fs.Int("files", 300, "files in the sample tree")
	var lf logFlags
	lf.add(fs)
	if err := fs.parse(args, stdout); err != nil {
		return err
	}
	logger, err := lf.logger(stderr, false)
	if err != nil {
		return err
	}
	remote := filepath.Join(*dir, "remote")
	if err := os.RemoveAll(*dir); err != nil {
		return err
	}
	if err := makeSampleTree(remote, *files); err != nil {
		return fmt.Errorf("demo: sample tree: %w", err)
	}
	srv, err := embedftp.Start(remote, nil)
	if err != nil {
		return fmt.Errorf("demo: embedded server: %w", err)
	}
	defer srv.Close()
	fmt.Fprintf(stdout, "serving %s on ftp://%s/ (embedded read-only server)\n", remote, srv.Addr())

	out := &runOutput{stdout: stdout, stderr: stderr}
	jc := jobs.Default()
	jc.Name = "demo"
	jc.Source = "ftp://" + srv.Addr() + "/"
	jc.Target = filepath.Join(*dir, "mirror")
	jc.StatePath = filepath.Join(*dir, "state.db")
	jc.Delete = true
	fmt.Fprintf(stdout, "\n$ ftpmirror sync -delete -state %s %s %s\n", jc.StatePath, jc.Source, jc.Target)
	if sum, err := syncOnce(ctx, &jc, logger, out); err != nil {
		return err
	} else if sum.Failed > 0 {
		return &exitError{code: exitPartial, err: fmt.Errorf("demo: first sync: %d failed", sum.Failed)}
	}

	changed, err := mutateSampleTree(remote)
	if err != nil {
		return fmt.Errorf("demo: changing the sample tree: %w", err)
	}
	fmt.Fprintf(stdout, "\nchanged the remote tree: %s\n", changed)
	fmt.Fprintf(stdout, "\n$ ftpmirror sync -delete -state %s %s %s\n", jc.StatePath, jc.Source, jc.Target)
	sum, err := syncOnce(ctx, &jc, logger, out)
	if err != nil {
		return err
	}
	if sum.Failed > 0 {
		return &exitError{code: exitPartial, err: fmt.Errorf("demo: second sync: %d failed", sum.Failed)}
	}
	n, err := compareTrees(remote, jc.Target)
	if err != nil {
		return fmt.Errorf("demo: the mirror differs from the source: %w", err)
	}
	fmt.Fprintf(stdout, "\nverified: %s is an exact copy of %s (%d files, contents and times)\n", jc.Target, remote, n)
	return nil
}

// makeSampleTree writes a deterministic tree of about n files: nested
// directories, names with spaces and UTF-8, a dot file, empty files and
// one file of 3 MiB, with modification times spread over two years.
func makeSampleTree(root string, n int) error {
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

// mutateSampleTree changes three files, adds two and deletes two.
func mutateSampleTree(root string) (string, error) {
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

// compareTrees checks that b holds exactly a's regular files, with the
// same bytes and (to the second) the same modification times.
func compareTrees(a, b string) (int, error) {
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
