package state

import (
	"path/filepath"
	"reflect"
	"strings"
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
		{Parallel: 2, Profile: Profile{Listing: "LIST -a", NoEPSV: true, PASVElsewhere: true, Pipelined: true, Active: ActiveWorks,
			PassiveCost: 3 * time.Millisecond, ActiveCost: 2 * time.Millisecond, ActiveTested: now, Checksum: "XSHA256 SHA-256",
			Features: []string{"EPSV", "MLST type*;size*;"}, Runs: 4, RTT: 20300 * time.Microsecond}, Updated: now},
		{Profile: Profile{Listing: "STAT", Active: ActiveFails, ActiveTested: now}},
		{},
	} {
		if err := db.PutServer(key, want); err != nil {
			t.Fatal(err)
		}
		got, ok, err := db.Server(key)
		if !ok || err != nil || got.NoPipelining != want.NoPipelining || got.NoREST != want.NoREST || got.Parallel != want.Parallel || got.ParallelLimit != want.ParallelLimit || !got.Updated.Equal(want.Updated) ||
			!reflect.DeepEqual(got.Profile, want.Profile) {
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
	// A record from before the profile: flags, time, widths.
	old = []byte{codecVersion, 1, timeZero, 5, 2}
	if s, err := decodeServer(old); err != nil || !s.NoPipelining || s.Parallel != 5 || s.ParallelLimit != 2 || !reflect.DeepEqual(s.Profile, Profile{}) {
		t.Errorf("record before the profile = %+v, %v", s, err)
	}
	// A record from before the round trip: the clock fields end it.
	withRTT := encodeServer(Server{Profile: Profile{Active: ActiveWorks, RTT: 5 * time.Millisecond}})
	if s, err := decodeServer(withRTT[:len(withRTT)-2]); err != nil || s.Active != ActiveWorks || s.RTT != 0 {
		t.Errorf("record before the round trip = %+v, %v", s, err)
	}
	servers, err := db.Servers()
	if err != nil || len(servers) != 1 {
		t.Errorf("Servers = %v, %v", servers, err)
	}
}

// TestProfileBounds: FEAT lines are kept bounded, and a record claiming
// more than MaxFeatures does not decode.
func TestProfileBounds(t *testing.T) {
	long := make([]string, MaxFeatures+10)
	for i := range long {
		long[i] = string(make([]byte, 300))
	}
	s := Server{Profile: Profile{Features: long}}
	got, err := decodeServer(encodeServer(s))
	if err != nil || len(got.Features) != MaxFeatures || len(got.Features[0]) != maxFeatureLen {
		t.Fatalf("decoded %d lines, %v", len(got.Features), err)
	}
	e := newEncoder()
	e.byte(0)
	e.time(time.Time{})
	e.uvarint(0)
	e.uvarint(0)
	e.byte(0)
	e.string("")
	e.byte(byte(ActiveFails) + 1)
	if _, err := decodeServer(e.buf); err == nil {
		t.Error("bad active result decoded")
	}
	e = newEncoder()
	e.byte(0)
	e.time(time.Time{})
	e.uvarint(0)
	e.uvarint(0)
	encodeProfile(e, Profile{})
	e.buf = e.buf[:len(e.buf)-1]
	e.uvarint(MaxFeatures + 1)
	if _, err := decodeServer(e.buf); err == nil {
		t.Error("too many FEAT lines decoded")
	}
}

// TestServerDescribe: the profile in plain words, one line per fact.
func TestServerDescribe(t *testing.T) {
	day := time.Date(2026, 11, 30, 4, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		s    Server
		want []string
	}{
		{Server{}, []string{"listing: not learned yet", "passive mode: EPSV", "active mode: not tested", "pipelining: on, from each connection's second transfer", "REST (resume, segments): works", "checksum: none"}},
		{Server{NoPipelining: true, NoREST: true, Parallel: 6, ParallelLimit: 8, Profile: Profile{
			Listing: "STAT", NoEPSV: true, PASVElsewhere: true, Active: ActiveFails, ActiveTested: day,
			Checksum: "HASH SHA-256", Features: []string{"EPSV", "SIZE"}}}, []string{
			"listing: STAT -a over the control connection (no data connection)",
			"passive mode: EPSV refused, PASV used",
			"PASV names another address than the server's (NAT): data connections go to the server's address",
			"active mode: fails: a listing in active mode did not work (tested 2026-11-30)",
			"pipelining: off (replies came out of order)",
			"REST (resume, segments): refused",
			"connections: -parallel auto settled at 6",
			"connections: the server refused more than 8",
			"checksum: HASH SHA-256",
			"FEAT: EPSV, SIZE"}},
		{Server{Profile: Profile{Listing: "LIST -a", Pipelined: true, Active: ActiveWorks, ActiveTested: day, PassiveCost: 2 * time.Millisecond, ActiveCost: time.Millisecond, RTT: 250 * time.Microsecond}, Updated: day}, []string{
			"listing: LIST -a",
			"pipelining: on, from each connection's first transfer (answered in order before)",
			"active mode: works (tested 2026-11-30; a listing took 2ms passive, 1ms active; round trip 250µs)",
			"updated: 2026-11-30T04:00:00Z"}},
	} {
		got := strings.Join(tc.s.Describe(), "\n")
		for _, w := range tc.want {
			if !strings.Contains(got, w+"\n") && !strings.HasSuffix(got, w) {
				t.Errorf("Describe of %+v lacks %q:\n%s", tc.s, w, got)
			}
		}
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
	before = before[:len(before)-4] // the clock fields of a zero offset (zero time, 0, 0) and the round trip (0)
	s, err := decodeServer(before)
	if err != nil || s.Parallel != 6 || s.ParallelLimit != 8 || !s.ClockLearned.IsZero() || s.ClockOffset != 0 {
		t.Errorf("record from before clock calibration = %+v, %v", s, err)
	}
	bad := encodeServer(Server{ClockLearned: learned})
	bad = append(bad[:len(bad)-3], 0x80, 0x80, 0x80, 0x80, 0x08, 0) // an offset of years
	if _, err := decodeServer(bad); err == nil {
		t.Error("absurd clock offset decoded")
	}
}
