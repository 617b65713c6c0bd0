package mirror_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/ftpservers"
	"github.com/ftpmirror/ftpmirror/internal/treetest"
	"github.com/ftpmirror/ftpmirror/mirror"
	"github.com/ftpmirror/ftpmirror/state"
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
			o.MaxDelete = mirror.DeleteLimit{None: true}
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

// TestRealServerOutOfOrder: pyftpdlib 1.5.7 in active mode answers a
// pipelined PORT's 200 after the next command's 150. The first run finds
// out, mirrors everything one command at a time and records it; the next
// run starts that way. Pipelining off by hand (Config.DisablePipelining)
// never meets the problem.
func TestRealServerOutOfOrder(t *testing.T) {
	e, _ := newReal(t, "pyftpdlib", true)
	e.parallel = 4 // see newReal
	e.ftp.Timeout = 5 * time.Second
	treetest.Make(t, e.src, 60, 512, 5)
	key := state.ServerKey(e.addr, "anonymous")
	var log bytes.Buffer
	o := e.opts()
	o.Logger = slog.New(slog.NewTextHandler(&log, nil))
	sum := e.run(o)
	if sum.Fetched != 60 {
		t.Fatalf("first run fetched %d of 60", sum.Fetched)
	}
	treetest.Equal(t, e.src, e.target, true)
	if rec, ok, err := e.db.Server(key); !ok || err != nil || !rec.NoPipelining {
		t.Fatalf("state: %+v %v %v, want NoPipelining", rec, ok, err)
	}
	if !strings.Contains(log.String(), "out of order") {
		t.Errorf("first run did not say why it stopped pipelining:\n%s", log.String())
	}

	log.Reset()
	treetest.Mutate(t, e.src, 3, 6)
	o.Delete = true
	e.run(o)
	treetest.Equal(t, e.src, e.target, true)
	if strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), "known to answer pipelined commands out of order") {
		t.Errorf("second run:\n%s", log.String())
	}

	// By hand, with a fresh state: no warning, and no refusal recorded
	// (the record holds the rest of the profile).
	e2, _ := newReal(t, "pyftpdlib", true)
	treetest.Make(t, e2.src, 20, 512, 7)
	log.Reset()
	o = e2.opts()
	o.FTP.DisablePipelining = true
	o.Logger = slog.New(slog.NewTextHandler(&log, nil))
	e2.run(o)
	treetest.Equal(t, e2.src, e2.target, true)
	if rec, _, _ := e2.db.Server(state.ServerKey(e2.addr, "anonymous")); rec.NoPipelining || strings.Contains(log.String(), "level=WARN") {
		t.Errorf("pipelining off by hand: record %+v, log:\n%s", rec, log.String())
	}
}
