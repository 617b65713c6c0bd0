package state

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// The function set with SetBeforeCommit runs before the batch is
// committed: when it runs, no change of its batch is visible, and after
// Flush all are. (mirror makes the files durable in it: the state must
// never claim a file whose data a power cut can still take.)
func TestBatcherBeforeCommitComesFirst(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "state.db"), &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b := db.Job("job").NewBatcher(4, time.Hour)
	var visible []int // per call: how many changes were committed
	b.SetBeforeCommit(func() error {
		n, err := db.Job("job").Count()
		if err != nil {
			return err
		}
		visible = append(visible, n)
		return nil
	})
	for i := range 10 {
		if err := b.Add(Change{Path: fmt.Sprintf("f%d", i), Record: Record{Size: int64(i), ModTime: t0}}); err != nil {
			t.Fatal(err)
		}
		if i%4 == 3 {
			// One batch at a time, so that what before sees is only
			// its own batch or nothing.
			if err := b.Flush(); err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := db.Job("job").Get(fmt.Sprintf("f%d", i)); !ok {
				t.Fatalf("f%d not committed after Flush", i)
			}
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// Each call sees the batches before its own, never its own.
	if fmt.Sprint(visible) != "[0 4 8]" {
		t.Errorf("before-commit saw %v changes committed, want [0 4 8]", visible)
	}
}

// A failing before-commit function fails the batch: nothing of it is
// committed, and the Batcher reports the error.
func TestBatcherBeforeCommitFailure(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "state.db"), &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b := db.Job("job").NewBatcher(4, time.Hour)
	boom := fmt.Errorf("disk gone")
	b.SetBeforeCommit(func() error { return boom })
	if err := b.Add(Change{Path: "f", Record: Record{Size: 1, ModTime: t0}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(); err != boom {
		t.Errorf("Flush = %v, want %v", err, boom)
	}
	b.Close()
	if _, ok, _ := db.Job("job").Get("f"); ok {
		t.Error("a batch whose before-commit failed was committed")
	}
}
