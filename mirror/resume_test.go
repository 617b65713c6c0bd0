package mirror

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/internal/ftpservers"
	"github.com/ftpmirror/ftpmirror/state"
)

// An interrupted download meets a remote file that changed before the
// next run, on vsftpd, pure-ftpd and proftpd: the result is the new
// file, never old bytes followed by new ones. The interruption is what a
// run killed mid-download leaves: the partial record, written from the
// listing before the download started, and the temporary file with the
// first 1 MiB.
func TestResumeChangedRealServers(t *testing.T) {
	const size = 3 << 19 // 1.5 MiB, above partialMin
	oldTime := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	newTime := oldTime.Add(72 * time.Hour) // seen at any listing precision
	content := func(word string, n int) []byte {
		return bytes.Repeat([]byte(word), n/len(word)+1)[:n]
	}
	cases := []struct {
		name     string
		old, new []byte
		newTime  time.Time
	}{
		{"unchanged", content("same\n", size), content("same\n", size), oldTime},
		// The tail is as before: only the time tells.
		{"same size, new time", content("before\n", size), prefixed("after\n", content("before\n", size)), newTime},
		{"new size", content("before\n", size), append(prefixed("after\n", content("before\n", size)), "more"...), oldTime},
		// All bytes new, size and time as before: only the bytes tell.
		{"same size and time, new bytes", content("old bytes\n", size), content("NEW BYTES\n", size), oldTime},
	}
	for _, name := range ftpservers.Names() {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			src, target := filepath.Join(dir, "src"), filepath.Join(dir, "target")
			for _, d := range []string{src, target} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for i, tc := range cases {
				writeAt(t, filepath.Join(src, fmt.Sprint("f", i)), tc.old, oldTime)
			}
			srv := ftpservers.Start(t, name, src, nil)
			db, err := state.Open(filepath.Join(dir, "state.db"), &state.Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()

			// What the interrupted run left.
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			c, err := ftpcore.Dial(ctx, srv.Addr, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Login(ctx, "", ""); err != nil {
				t.Fatal(err)
			}
			entries, err := c.List(ctx, "/")
			c.Close()
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != len(cases) {
				t.Fatalf("listed %d entries: %+v", len(entries), entries)
			}
			for _, e := range entries {
				var i int
				fmt.Sscanf(e.Name, "f%d", &i)
				p := state.Partial{Size: e.Size, ModTime: e.Time, Precision: uint8(e.Precision), Temp: tempPath(e.Name), Started: oldTime}
				if err := db.Job("job").PutPartial(e.Name, p); err != nil {
					t.Fatal(err)
				}
				os.MkdirAll(filepath.Join(target, stagingDir), 0o755)
				if err := os.WriteFile(filepath.Join(target, p.Temp), cases[i].old[:1<<20], 0o644); err != nil {
					t.Fatal(err)
				}
			}

			// The remote files change.
			for i, tc := range cases {
				writeAt(t, filepath.Join(srv.Root, fmt.Sprint("f", i)), tc.new, tc.newTime)
			}
			sum, err := Run(ctx, &Options{Job: "job", Addr: srv.Addr, Root: "/", Target: target, State: db,
				Parallel: 2, FTP: ftpcore.Config{Timeout: 20 * time.Second}})
			if err != nil || sum.Failed != 0 {
				t.Fatalf("run: %v %v", err, sum.Errors)
			}
			for i, tc := range cases {
				got, err := os.ReadFile(filepath.Join(target, fmt.Sprint("f", i)))
				if err != nil || !bytes.Equal(got, tc.new) {
					t.Errorf("%s: %d bytes, the new file: %v (%v); starts %q", tc.name, len(got), bytes.Equal(got, tc.new), err, got[:min(len(got), 16)])
				}
			}
			// Resumed: "unchanged", and "same size and time" until its
			// bytes told it apart.
			if sum.Resumed != 2 {
				t.Errorf("resumed %d, want 2", sum.Resumed)
			}
			left, _ := filepath.Glob(filepath.Join(target, ".ftpmirror*"))
			if partials, _ := db.Job("job").Partials(); len(left) > 0 || len(partials) > 0 {
				t.Errorf("left behind: temporary files %q, partial records %v", left, partials)
			}
		})
	}
}

func writeAt(t *testing.T, p string, data []byte, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// prefixed returns b with its first 4 KiB rewritten with word.
func prefixed(word string, b []byte) []byte {
	c := bytes.Clone(b)
	copy(c[:4096], bytes.Repeat([]byte(word), 4096/len(word)+1))
	return c
}
