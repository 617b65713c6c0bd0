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
	"github.com/ftpmirror/ftpmirror/internal/treetest"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// On every real server: a sync records the SHA-256 of each file it
// wrote; one local byte changed afterwards (time kept) is found by
// Verify, -repair marks it, and the next sync fetches it again. proftpd
// with mod_digest confirms every fetched file with HASH; the others
// offer no checksum command and verify nothing.
func TestVerifyRealServers(t *testing.T) {
	for _, name := range ftpservers.Names() {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "src")
			srv := ftpservers.Start(t, name, mkdir(t, src), &ftpservers.Options{Digest: true})
			e := &env{t: t, src: srv.Root, target: filepath.Join(dir, "target"), addr: srv.Addr,
				ftp: ftpcore.Config{Timeout: 20 * time.Second}}
			e.openState(filepath.Join(dir, "state.db"))
			writeFile(t, e.src, "a.txt", "alpha\n")
			writeFile(t, e.src, "sub/b.bin", strings.Repeat("0123456789", 5000))
			writeFile(t, e.src, "sub/c.txt", "see\n")
			sum := e.run(e.opts())
			wantVerified := int64(0)
			if name == "proftpd" {
				wantVerified = 3
			}
			if sum.Fetched != 3 || sum.Verified != wantVerified {
				t.Fatalf("fetched %d, verified %d; want 3, %d", sum.Fetched, sum.Verified, wantVerified)
			}
			vopts := &mirror.VerifyOptions{Job: "test", Target: e.target, State: e.db}
			vs, err := mirror.Verify(t.Context(), vopts)
			if err != nil || vs.Files != 3 || vs.Digests != 3 || len(vs.Mismatches) != 0 {
				t.Fatalf("verify after the sync: %v %+v", err, vs)
			}

			// One byte rots; size and time stay.
			p := filepath.Join(e.target, "sub", "b.bin")
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteAt([]byte{'X'}, 12345)
			f.Close()
			os.Chtimes(p, fi.ModTime(), fi.ModTime())
			vs, err = mirror.Verify(t.Context(), vopts)
			if !errors.Is(err, mirror.ErrMismatch) || len(vs.Mismatches) != 1 || vs.Mismatches[0].Path != "sub/b.bin" ||
				!strings.Contains(vs.Mismatches[0].Reason, "SHA-256") {
				t.Fatalf("verify after the bad byte: %v %+v", err, vs)
			}
			// A sync alone does not see it: size and time match.
			if sum := e.run(e.opts()); sum.Fetched != 0 {
				t.Errorf("sync without repair fetched %d", sum.Fetched)
			}
			vopts.Repair = true
			if vs, err = mirror.Verify(t.Context(), vopts); !errors.Is(err, mirror.ErrMismatch) || vs.Repaired != 1 {
				t.Fatalf("verify -repair: %v %+v", err, vs)
			}
			if sum := e.run(e.opts()); sum.Fetched != 1 {
				t.Errorf("sync after repair fetched %d, want 1", sum.Fetched)
			}
			treetest.Equal(t, e.src, e.target, true)
			vopts.Repair = false
			if vs, err = mirror.Verify(t.Context(), vopts); err != nil || vs.Digests != 3 {
				t.Errorf("verify after the repairing sync: %v %+v", err, vs)
			}
		})
	}
}

func mkdir(t *testing.T, p string) string {
	t.Helper()
	if err := os.Mkdir(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}
