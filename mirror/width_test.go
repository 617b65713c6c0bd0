package mirror_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/mirror"
	"github.com/ftpmirror/ftpmirror/state"
)

// TestParallelAutoConnectionLimit: -parallel auto against a server that
// allows 3 connections starts at 4 (nothing learned yet), meets the
// limit, settles at 3 without failing a file, and remembers it: the
// next run asks for no connection the server refuses.
func TestParallelAutoConnectionLimit(t *testing.T) {
	const limit = 3
	lim := &sessionLimit{max: limit, reply: "421 There are too many connected users, please try later."}
	tree, want := poolTree()
	srv, db, dir := serverAndState(t, tree, lim.options())
	opts := func() *mirror.Options {
		return &mirror.Options{Job: "auto", Addr: srv.Addr(), Root: "/", Target: filepath.Join(dir, "target"),
			State: db, ParallelAuto: true, Retries: 3}
	}
	key := state.ServerKey(srv.Addr(), "anonymous")

	sum, err := mirror.Run(t.Context(), opts())
	if err != nil || sum.Failed != 0 || sum.Fetched != int64(len(want)) {
		t.Fatalf("first run: %v, %d failed, %d fetched (want %d): %v", err, sum.Failed, sum.Fetched, len(want), sum.Errors)
	}
	rec, ok, err := db.Server(key)
	if !ok || err != nil || rec.ParallelLimit != limit || rec.Parallel < 1 || rec.Parallel > limit {
		t.Fatalf("remembered %+v (%v, %v); want the limit %d and a width up to it", rec, ok, err, limit)
	}
	lim.mu.Lock()
	refused, peak := lim.refused, lim.peak
	lim.mu.Unlock()
	if refused == 0 || peak > limit || sum.Connections > limit {
		t.Fatalf("first run: %d refused, %d at once on the server, %d by the run: the test met no limit, or passed it", refused, peak, sum.Connections)
	}

	// The first run's sessions must be gone from the server's count
	// (Close does not wait for QUIT's reply) before the second starts.
	deadline := time.Now().Add(10 * time.Second)
	for {
		lim.mu.Lock()
		n := len(lim.admitted)
		lim.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions of the first run still open", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, name := range []string{"d0/f00.bin", "d1/f03.bin", "d2/f07.bin", "d3/f11.bin"} {
		if err := os.Remove(filepath.Join(dir, "target", name)); err != nil {
			t.Fatal(err)
		}
	}
	sum, err = mirror.Run(t.Context(), opts())
	if err != nil || sum.Failed != 0 || sum.Fetched != 4 {
		t.Fatalf("second run: %v, %d failed, %d fetched (want 4): %v", err, sum.Failed, sum.Fetched, sum.Errors)
	}
	lim.mu.Lock()
	again := lim.refused - refused
	lim.mu.Unlock()
	if again != 0 || sum.Connections > limit {
		t.Errorf("second run: %d connections refused, %d at once; want none over the remembered limit %d", again, sum.Connections, limit)
	}
}

// TestParallelAutoGrowsOnRealServer: with work waiting, -parallel auto
// adds a connection to the width it starts at (here 1: nothing learned,
// Parallel 1), and remembers a width for the next run.
func TestParallelAutoGrowsOnRealServer(t *testing.T) {
	e, _ := newReal(t, "vsftpd", false)
	for i := range 40 {
		writeFile(t, e.src, "d/f"+strings.Repeat("x", i%5)+string(rune('a'+i%26))+string(rune('a'+i/26))+".txt", strings.Repeat("data ", 100+i))
	}
	o := e.opts()
	o.Parallel, o.ParallelAuto = 1, true
	sum := e.run(o)
	if sum.Fetched != 40 {
		t.Fatalf("fetched %d, want 40", sum.Fetched)
	}
	if sum.Connections < 2 {
		t.Errorf("the run had at most %d connection(s): auto did not grow from 1", sum.Connections)
	}
	rec, ok, err := e.db.Server(state.ServerKey(e.addr, "anonymous"))
	if !ok || err != nil || rec.Parallel < 1 {
		t.Errorf("remembered %+v (%v, %v): want a width", rec, ok, err)
	}
}
