//go:build linux

package mirror

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/internal/embedftp"
	"github.com/ftpmirror/ftpmirror/internal/powercut"
	"github.com/ftpmirror/ftpmirror/internal/treetest"
	"github.com/ftpmirror/ftpmirror/state"
)

// The power-cut test (issue 11): mirror.Run against the embedded FTP
// server (internal/embedftp, goftp.io/server/v2) on loopback, into a
// target on internal/powercut, a FUSE file system that loses
// everything not made durable when the power is cut. The cut comes at a
// random point: after the nth changing file system operation, or at the
// kth syncfs of the run (where a batch of state records waits for its
// files to be durable), or after the run ended. Then the file system is
// remounted as it was at its last sync, and:
//
//   - every file the state claims is there, complete and exact;
//   - the next run ends with an exact mirror (bytes and times, no
//     temporary file left);
//   - nothing outside the target changed.
//
// The server is the embedded one, not vsftpd: the test makes dozens of
// runs of hundreds of files in a row, and in one trial vsftpd (which
// gets 50 passive ports here) failed a fetch in the 21st iteration with
// "500 OOPS: priv_sock_get_int", which says nothing about the mirror.
// Real servers meet changed files in TestResumeChangedRealServers.
//
// The state database lives on a real disk (it is never what loses
// power here; state/powercut_linux_test.go cuts the power under bbolt).
// FUSE is not told of syncfs(2), so the test wraps mirror's syncfs and
// makes the file system durable when mirror calls it.
//
// FTPMIRROR_POWERCUT_SECONDS bounds the loop (default 30),
// FTPMIRROR_POWERCUT_SEED replays a run.
func TestPowerCut(t *testing.T) {
	powercut.Require(t)
	budget := 30 * time.Second
	if s := os.Getenv("FTPMIRROR_POWERCUT_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		budget = time.Duration(n) * time.Second
	}
	if testing.Short() {
		budget = 3 * time.Second
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("FTPMIRROR_POWERCUT_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("seed %d (FTPMIRROR_POWERCUT_SEED replays it)", seed)
	rng := rand.New(rand.NewPCG(seed, 11))

	base := t.TempDir()
	src := filepath.Join(base, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	treetest.Make(t, src, 300, 3000, 5)
	// Two files above partialMin: their downloads are recorded as
	// partial and resumed from the temporary file.
	for i, name := range []string{"big1", "d01 big/big2"} {
		p := filepath.Join(src, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		data := bytes.Repeat([]byte{byte('a' + i), '\n'}, partialMin*3/4)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		mt := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
		os.Chtimes(p, mt, mt)
	}
	srv, err := embedftp.Start(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	pt := &powerTest{t: t, base: base, src: src, addr: srv.Addr()}
	pt.hookSyncfs()
	if err := os.Mkdir(filepath.Join(base, "mnt"), 0o755); err != nil {
		t.Fatal(err)
	}

	// A run without a cut: how many operations and syncs a run makes.
	ops, syncs := pt.iteration(0, cut{}, "calibration")
	if t.Failed() {
		return
	}
	t.Logf("a whole run: %d file system operations, %d syncfs", ops, syncs)

	start := time.Now()
	n := 0
	for time.Since(start) < budget && !t.Failed() {
		n++
		var c cut
		if rng.IntN(2) == 0 {
			c.op = 1 + rng.IntN(ops+ops/5+1)
		} else {
			c.sync = 1 + rng.IntN(syncs+1)
		}
		pt.iteration(n, c, "")
	}
	t.Logf("%d power cuts in %v", n, time.Since(start).Round(time.Millisecond))
}

// cut is where one iteration cuts the power: at file system operation
// op, or at syncfs number sync; neither (or a point the run does not
// reach): after the run.
type cut struct{ op, sync int }

type powerTest struct {
	t         *testing.T
	base, src string
	addr      string
	cur       atomic.Pointer[powerRun]
}

// powerRun is the file system of the iteration under way.
type powerRun struct {
	fs    *powercut.FS
	dev   uint64
	syncs atomic.Int32
	cutAt int32
}

// hookSyncfs makes mirror's syncfs also make the power-cut file system
// durable (or cut its power, at the chosen syncfs).
func (pt *powerTest) hookSyncfs() {
	real := syncfs
	pt.t.Cleanup(func() { syncfs = real })
	syncfs = func(f *os.File) error {
		if err := real(f); err != nil {
			return err
		}
		pr := pt.cur.Load()
		if pr == nil {
			return nil
		}
		fi, err := f.Stat()
		if err != nil {
			return err // the power is off
		}
		if uint64(fi.Sys().(*syscall.Stat_t).Dev) != pr.dev {
			return nil // not the power-cut file system
		}
		if n := pr.syncs.Add(1); n == pr.cutAt {
			pr.fs.Cut()
		}
		return pr.fs.Sync()
	}
}

// iteration runs one sync with a power cut, remounts, checks, and runs
// again. It returns the operations and syncs of the interrupted run.
func (pt *powerTest) iteration(i int, c cut, what string) (ops, syncs int) {
	t := pt.t
	mnt := filepath.Join(pt.base, "mnt")
	fs, err := powercut.Mount(mnt)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Unmount()
	if err := os.WriteFile(filepath.Join(mnt, "outside"), []byte("sentinel"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := fs.Sync(); err != nil {
		t.Fatal(err)
	}
	db, err := state.Open(filepath.Join(pt.base, fmt.Sprintf("state-%d.db", i)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if what == "" {
		what = fmt.Sprintf("iteration %d, cut at op %d / syncfs %d", i, c.op, c.sync)
	}

	pr := &powerRun{fs: fs, cutAt: int32(c.sync)}
	pr.dev = devOfPath(t, mnt)
	pt.cur.Store(pr)
	if c.op > 0 {
		fs.CutAfter(c.op)
	}
	target := filepath.Join(mnt, "target")
	o := &Options{Job: "pc", Addr: pt.addr, Root: "/", Target: target, State: db,
		Parallel: 4, FTP: ftpcore.Config{Timeout: 10 * time.Second}}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	sum, runErr := Run(ctx, o)
	cancel()
	ops, syncs = fs.Ops(), int(pr.syncs.Load())
	if c == (cut{}) && (runErr != nil || sum.Failed > 0) {
		t.Errorf("%s: run without a cut failed: %v %v", what, runErr, sum.Errors)
	}
	fs.Cut() // if the run got to its end first
	pt.cur.Store(nil)
	if err := fs.Restart(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	pr.dev = devOfPath(t, mnt)

	// Every file the state claims is complete and exact.
	claimed := 0
	err = db.Walk("pc", func(p string, rec state.Record) error {
		local := filepath.Join(target, filepath.FromSlash(p))
		switch rec.Kind {
		case state.KindDir:
			if fi, err := os.Lstat(local); err != nil || !fi.IsDir() {
				return fmt.Errorf("state claims directory %s: %v", p, err)
			}
		case state.KindFile:
			claimed++
			want, err := os.ReadFile(filepath.Join(pt.src, filepath.FromSlash(p)))
			if err != nil {
				return err
			}
			got, err := os.ReadFile(local)
			if err != nil {
				return fmt.Errorf("state claims %s: %v", p, err)
			}
			if !bytes.Equal(got, want) || rec.Size != int64(len(want)) {
				return fmt.Errorf("state claims %s (%d bytes): local file has %d bytes, equal %v, want %d",
					p, rec.Size, len(got), bytes.Equal(got, want), len(want))
			}
		}
		return nil
	})
	if err != nil {
		t.Errorf("%s, after the power cut (%d operations, %d syncfs, run error %v): %v", what, ops, syncs, runErr, err)
		return
	}

	// The next run makes the mirror exact.
	pt.cur.Store(pr)
	ctx, cancel = context.WithTimeout(t.Context(), time.Minute)
	sum, err = Run(ctx, o)
	cancel()
	pt.cur.Store(nil)
	if err != nil || sum.Failed > 0 {
		t.Errorf("%s: the run after the power cut: %v %v", what, err, sum.Errors)
		return
	}
	treetest.Equal(t, pt.src, target, true)

	// Nothing outside the target.
	entries, err := os.ReadDir(mnt)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if fmt.Sprint(names) != "[outside target]" {
		t.Errorf("%s: the mount holds %q", what, names)
	}
	if b, err := os.ReadFile(filepath.Join(mnt, "outside")); err != nil || string(b) != "sentinel" {
		t.Errorf("%s: outside = %q, %v", what, b, err)
	}
	if t.Failed() {
		t.Logf("%s: %d files claimed after the cut", what, claimed)
	}
	return ops, syncs
}

func devOfPath(t *testing.T, p string) uint64 {
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(fi.Sys().(*syscall.Stat_t).Dev)
}
