package state

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// addConcurrently adds n changes from g goroutines, paths "gI/fJ".
func addConcurrently(t testing.TB, b *Batcher, g, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range g {
		wg.Go(func() {
			for j := range n / g {
				c := Change{Path: fmt.Sprintf("g%d/f%d", i, j), Record: Record{Size: int64(j), ModTime: t0}}
				if err := b.Add(c); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// 10,000 Adds from 8 goroutines cost about 10,000/256 transactions, and
// Close writes the rest.
func TestBatcherConcurrent(t *testing.T) {
	// Sync on, as in production: the count of commits is the point.
	db, err := Open(filepath.Join(t.TempDir(), "state.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	before := db.commits.Load()
	b := db.Job("j").NewBatcher(0, 0)
	addConcurrently(t, b, 8, 10000)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	commits := db.commits.Load() - before
	t.Logf("10000 Adds: %d commits", commits)
	if commits > 50 {
		t.Errorf("10000 Adds took %d commits, want at most 50", commits)
	}
	if n, err := db.Job("j").Count(); err != nil || n != 10000 {
		t.Fatalf("Count = %d, %v; want 10000", n, err)
	}
	for i := range 8 {
		r, ok, err := db.Job("j").Get(fmt.Sprintf("g%d/f%d", i, 1249))
		if err != nil || !ok || r.Size != 1249 || !r.ModTime.Equal(t0) {
			t.Errorf("g%d/f1249 = %+v, %v, %v", i, r, ok, err)
		}
	}

	if err := b.Add(Change{Path: "late"}); !errors.Is(err, errBatcherClosed) {
		t.Errorf("Add after Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := b.Flush(); err != nil {
		t.Errorf("Flush after Close: %v", err)
	}
}

func TestBatcherFlush(t *testing.T) {
	db := openTest(t)
	b := db.Job("j").NewBatcher(100, time.Hour)
	defer b.Close()
	for i := range 5 {
		if err := b.Add(Change{Path: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Add(Change{Path: "2", Delete: true}); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.Job("j").Count(); n != 0 {
		t.Fatalf("%d records written before Flush", n)
	}
	before := db.commits.Load()
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.Job("j").Count(); n != 4 {
		t.Errorf("Count after Flush = %d, want 4 (order of changes kept)", n)
	}
	if c := db.commits.Load() - before; c != 1 {
		t.Errorf("Flush took %d commits", c)
	}
	if err := b.Flush(); err != nil || db.commits.Load()-before != 1 {
		t.Errorf("empty Flush: %v, %d commits", err, db.commits.Load()-before)
	}
	if err := b.Add(Change{Path: "/bad"}); !errors.Is(err, errInvalidPath) {
		t.Errorf("Add of a bad path: %v", err)
	}
}

// A batch is written maxDelay after its first change, without Flush.
func TestBatcherDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := openTest(t)
		b := db.Job("j").NewBatcher(100, time.Second)
		defer b.Close()
		count := func() int {
			t.Helper()
			n, err := db.Job("j").Count()
			if err != nil {
				t.Fatal(err)
			}
			return n
		}

		if err := b.Add(Change{Path: "a"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		if err := b.Add(Change{Path: "b"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(499 * time.Millisecond)
		synctest.Wait()
		if n := count(); n != 0 {
			t.Fatalf("%d written before maxDelay", n)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if n := count(); n != 2 {
			t.Fatalf("%d written at maxDelay, want 2", n)
		}

		// The next batch's clock starts at its own first change.
		time.Sleep(10 * time.Second)
		if err := b.Add(Change{Path: "c"}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := count(); n != 2 {
			t.Fatalf("a change was written at once: %d", n)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if n := count(); n != 3 {
			t.Fatalf("%d written, want 3", n)
		}
	})
}

// A full queue makes Add wait for the running write; a batch never holds
// more than maxItems changes.
func TestBatcherBounded(t *testing.T) {
	db := openTest(t)
	b := db.Job("j").NewBatcher(10, time.Hour)
	defer b.Close()
	// Hold the writer: a write transaction of our own blocks its Apply.
	// (Not under synctest: a goroutine blocked on a mutex stops its clock.)
	tx, err := db.bolt.Begin(true)
	if err != nil {
		t.Fatal(err)
	}
	added := make(chan int, 100)
	go func() {
		defer close(added)
		for i := range 30 {
			if err := b.Add(Change{Path: fmt.Sprint(i)}); err != nil {
				t.Error(err)
			}
			added <- i
		}
	}()
	// The writer takes 10 and waits for the lock; 10 more fill the queue;
	// the 21st Add waits.
	n := 0
	for n < 20 {
		select {
		case <-added:
			n++
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d Adds returned", n)
		}
	}
	select {
	case <-added:
		t.Fatal("21st Add returned while the writer was held")
	case <-time.After(100 * time.Millisecond):
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	for range added {
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.Job("j").Count(); n != 30 {
		t.Errorf("Count = %d, want 30", n)
	}
}

// A failed write is returned by the next calls, and the Batcher stops
// taking changes.
func TestBatcherError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(path, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	b := db.Job("j").NewBatcher(2, time.Hour)
	if err := b.Add(Change{Path: "a"}); err != nil {
		t.Fatalf("first Add: %v", err)
	}
	if err := b.Add(Change{Path: "b"}); err != nil { // fills the batch: written in the background
		t.Fatalf("second Add: %v", err)
	}
	if err := b.Flush(); err == nil {
		t.Fatal("Flush on a read-only database succeeded")
	}
	if err := b.Add(Change{Path: "c"}); err == nil {
		t.Error("Add after a failed write succeeded")
	}
	if err := b.Close(); err == nil {
		t.Error("Close after a failed write succeeded")
	}
}
