package state

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// A sentinel record comes back as stored, is per job, and goes with
// DeleteSentinel; a damaged one is ErrCorrupt.
func TestSentinel(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "s.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	j := db.Job("j")
	if _, ok, err := j.Sentinel(); ok || err != nil {
		t.Fatalf("empty job: %v %v", ok, err)
	}
	t0 := time.Date(2026, 11, 30, 1, 2, 3, 0, time.UTC)
	want := Sentinel{Path: "project/trace/master", Size: 1234, ModTime: t0, Precision: 3, Settings: "abc", Saved: t0.Add(time.Hour)}
	if err := j.PutSentinel(want); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := j.Sentinel(); !ok || err != nil || got != want {
		t.Errorf("Sentinel() = %+v, %v, %v; want %+v", got, ok, err, want)
	}
	if _, ok, _ := db.Job("other").Sentinel(); ok {
		t.Error("another job has the sentinel")
	}
	if err := j.DeleteSentinel(); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := j.Sentinel(); ok || err != nil {
		t.Errorf("after DeleteSentinel: %v %v", ok, err)
	}
	if _, err := decodeSentinel(append(encodeSentinel(want), 0)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("trailing byte: %v", err)
	}
}
