package mirror_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/internal/ftpservers"
	"github.com/ftpmirror/ftpmirror/internal/treetest"
	"github.com/ftpmirror/ftpmirror/mirror"
)

func newReal(t *testing.T, name string, active bool) (*env, *ftpservers.Server) {
	t.Helper()
	return newRealWith(t, name, active, &ftpservers.Options{ProtocolLog: true})
}

// newRealWith is newReal with the server's options.
func newRealWith(t *testing.T, name string, active bool, opts *ftpservers.Options) (*env, *ftpservers.Server) {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	srv := ftpservers.Start(t, name, src, opts)
	e := &env{t: t, src: srv.Root, target: filepath.Join(dir, "target"), addr: srv.Addr,
		ftp: ftpcore.Config{Active: active, Timeout: 20 * time.Second}}
	if name == "pyftpdlib" && active {
		// pyftpdlib 1.5.7 in active mode, with several sessions at
		// once, now and then leaves a PORT unanswered: its log shows
		// the data connection made and closed, and no reply. Each
		// costs a timeout and a retry; one connection never meets it.
		e.parallel = 1
	}
	e.openState(filepath.Join(dir, "state.db"))
	return e, srv
}

// count returns how many logged commands start with verb, waiting for
// the log to settle: proftpd and pure-ftpd may log a command after they
// answered it.
func count(srv *ftpservers.Server, verb string) (n int, args []string) {
	last := -1
	for range 40 {
		n, args = 0, nil
		for _, c := range srv.Commands() {
			if c == verb || strings.HasPrefix(c, verb+" ") {
				n++
				args = append(args, strings.TrimPrefix(c, verb+" "))
			}
		}
		if n == last {
			return n, args
		}
		last = n
		time.Sleep(100 * time.Millisecond)
	}
	return n, args
}

// TestRealServersMirror: a full mirror of a generated tree is exact; a
// second run fetches nothing (no RETR at all); after changes, additions
// and deletions a third run with -delete makes the mirror exact again.
func TestRealServersMirror(t *testing.T) {
	for _, name := range ftpservers.Names() {
		for _, active := range []bool{false, true} {
			t.Run(name+"/"+mode(active), func(t *testing.T) {
				e, srv := newReal(t, name, active)
				n := 2000
				if active {
					n = 400
				}
				treetest.Make(t, e.src, n, 2048, 11)
				sum := e.run(e.opts())
				if sum.Fetched != int64(n) {
					t.Fatalf("first run fetched %d of %d: %+v", sum.Fetched, n, sum)
				}
				treetest.Equal(t, e.src, e.target, true)
				retrs, _ := count(srv, "RETR")

				sum = e.run(e.opts())
				if sum.Fetched != 0 || sum.Unchanged != int64(n) {
					t.Errorf("second run: fetched %d, unchanged %d of %d", sum.Fetched, sum.Unchanged, n)
				}
				if again, _ := count(srv, "RETR"); again != retrs {
					t.Errorf("second run sent %d RETR, want none", again-retrs)
				}

				changed, deleted, added := treetest.Mutate(t, e.src, 2, 12)
				o := e.opts()
				o.Delete = true
				sum = e.run(o)
				if want := int64(len(changed) + len(added)); sum.Fetched != want || sum.Deleted != int64(len(deleted)) {
					t.Errorf("third run: fetched %d deleted %d, want %d and %d", sum.Fetched, sum.Deleted, want, len(deleted))
				}
				treetest.Equal(t, e.src, e.target, true)
			})
		}
	}
}

func mode(active bool) string {
	if active {
		return "active"
	}
	return "passive"
}

// TestRealServersResume: an interrupted large download resumes with REST
// from the partial size (less the overlap it compares), and the result is
// byte-identical.
func TestRealServersResume(t *testing.T) {
	for _, name := range ftpservers.Names() {
		t.Run(name, func(t *testing.T) {
			e, srv := newReal(t, name, false)
			big := make([]byte, 8<<20)
			for i := range big {
				big[i] = byte(i ^ i>>9)
			}
			if err := os.WriteFile(filepath.Join(e.src, "big image.iso"), big, 0o644); err != nil {
				t.Fatal(err)
			}
			o := e.opts()
			o.LimitRate = 4 << 20
			runInterrupted(t, o, 2<<20)
			parts, _ := e.db.Job("test").Partials()
			p, ok := parts["big image.iso"]
			if !ok {
				t.Fatalf("no partial record: %v", parts)
			}
			fi, err := os.Stat(filepath.Join(e.target, p.Temp))
			if err != nil || fi.Size() == 0 {
				t.Fatalf("partial file: %v", err)
			}
			sum := e.run(e.opts())
			if sum.Resumed != 1 {
				t.Fatalf("resumed %d", sum.Resumed)
			}
			treetest.Equal(t, e.src, e.target, true)
			// The resume fetches 64 KiB before the partial size again,
			// to compare them with the temporary file (resume.go).
			want := fi.Size() - min(fi.Size(), 64<<10)
			_, args := count(srv, "REST")
			found := false
			for _, a := range args {
				if off, err := strconv.ParseInt(a, 10, 64); err == nil && off == want {
					found = true
				}
			}
			if !found {
				t.Fatalf("server saw no REST %d; REST commands: %v", want, args)
			}
		})
	}
}

// TestRealServerEmptyRootGuard: the remote root suddenly lists empty;
// -delete with the default -max-delete stops, and the mirror is intact.
func TestRealServerEmptyRootGuard(t *testing.T) {
	e, _ := newReal(t, "vsftpd", false)
	treetest.Make(t, e.src, 60, 256, 13)
	e.run(e.opts())
	entries, _ := os.ReadDir(e.src)
	for _, de := range entries {
		os.RemoveAll(filepath.Join(e.src, de.Name()))
	}
	o := e.opts()
	o.Delete = true
	_, err := mirror.Run(t.Context(), o)
	if !errors.Is(err, mirror.ErrSafetyGuard) {
		t.Fatalf("err = %v, want the safety guard", err)
	}
	if got := len(treetest.Files(t, e.target)); got != 60 {
		t.Fatalf("mirror has %d files, want 60", got)
	}
}
