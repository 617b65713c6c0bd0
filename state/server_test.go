package state

import (
	"path/filepath"
	"testing"
	"time"
)

func TestServerRecord(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "s.db"), &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key := ServerKey("127.0.0.1:21", "anonymous")
	if _, ok, err := db.Server(key); ok || err != nil {
		t.Fatalf("empty db: %v %v", ok, err)
	}
	now := time.Date(2026, 11, 29, 23, 0, 0, 0, time.UTC)
	for _, want := range []Server{
		{NoPipelining: true, Updated: now},
		{NoREST: true, Updated: now},
		{NoPipelining: true, NoREST: true, Updated: now},
		{Parallel: 7, ParallelLimit: 3, Updated: now},
		{},
	} {
		if err := db.PutServer(key, want); err != nil {
			t.Fatal(err)
		}
		got, ok, err := db.Server(key)
		if !ok || err != nil || got.NoPipelining != want.NoPipelining || got.NoREST != want.NoREST || got.Parallel != want.Parallel || got.ParallelLimit != want.ParallelLimit || !got.Updated.Equal(want.Updated) {
			t.Errorf("Server = %+v %v %v, want %+v", got, ok, err, want)
		}
	}
	if _, ok, _ := db.Server(ServerKey("127.0.0.1:21", "other")); ok {
		t.Error("another user's record")
	}
	jobs, err := db.Jobs()
	if err != nil || len(jobs) != 0 {
		t.Errorf("Jobs = %v %v: the servers bucket is no job", jobs, err)
	}
	if _, err := decodeServer([]byte{codecVersion}); err == nil {
		t.Error("truncated record decoded")
	}
	// A record from before -parallel auto: flags and time only.
	old := []byte{codecVersion, 2, timeZero}
	if s, err := decodeServer(old); err != nil || !s.NoREST || s.Parallel != 0 {
		t.Errorf("old record = %+v, %v", s, err)
	}
}

// TestServerClock: the learned clock offset round-trips, negative ones
// too, and a record written before clock calibration (ending after the
// connection counts) still decodes, with no offset learned.
func TestServerClock(t *testing.T) {
	learned := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	for _, want := range []Server{
		{ClockOffset: 3 * time.Hour, ClockLearned: learned, ClockSamples: 5, Parallel: 4, Updated: learned},
		{ClockOffset: -(5*time.Hour + 30*time.Minute), ClockLearned: learned, ClockSamples: 3},
		{NoREST: true},
	} {
		got, err := decodeServer(encodeServer(want))
		if err != nil || got.ClockOffset != want.ClockOffset || !got.ClockLearned.Equal(want.ClockLearned) ||
			got.ClockSamples != want.ClockSamples || got.Parallel != want.Parallel || got.NoREST != want.NoREST {
			t.Errorf("decode(encode(%+v)) = %+v, %v", want, got, err)
		}
	}
	before := encodeServer(Server{Parallel: 6, ParallelLimit: 8, Updated: learned})
	before = before[:len(before)-3] // the clock fields of a zero offset: zero time, 0, 0
	s, err := decodeServer(before)
	if err != nil || s.Parallel != 6 || s.ParallelLimit != 8 || !s.ClockLearned.IsZero() || s.ClockOffset != 0 {
		t.Errorf("record from before clock calibration = %+v, %v", s, err)
	}
	bad := encodeServer(Server{ClockLearned: learned})
	bad = append(bad[:len(bad)-2], 0x80, 0x80, 0x80, 0x80, 0x08, 0) // an offset of years
	if _, err := decodeServer(bad); err == nil {
		t.Error("absurd clock offset decoded")
	}
}
