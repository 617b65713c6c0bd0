package mirror_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/hostileftp"
	"github.com/ftpmirror/ftpmirror/state"
)

// profileTree has files in a few directories: several connections list
// and fetch.
func profileTree() *hostileftp.Node {
	return hostileftp.Dir("", ok("a.txt"), ok("b.txt"),
		hostileftp.Dir("d1", ok("c.txt"), ok("d.txt")),
		hostileftp.Dir("d2", ok("e.txt")),
		hostileftp.Dir("d3", ok("f.txt")))
}

// hostileSince returns the commands the server got after the first n,
// and how many there are now.
func hostileSince(srv *hostileftp.Server, n int) ([]string, int) {
	all := srv.Commands()
	return all[n:], len(all)
}

func countVerb(cmds []string, verbs ...string) int {
	n := 0
	for _, c := range cmds {
		v, _, _ := strings.Cut(c, " ")
		for _, want := range verbs {
			if v == want {
				n++
			}
		}
	}
	return n
}

func serverRecord(t *testing.T, h *hostile) state.Server {
	t.Helper()
	rec, ok, err := h.db.Server(state.ServerKey(h.srv.Addr(), "anonymous"))
	if !ok || err != nil {
		t.Fatalf("server record: %v %v", ok, err)
	}
	return rec
}

// TestProfileUsedAndRelearned: run 1 learns that the server refuses EPSV
// and that STAT does not list, and stores it; run 2 starts from that and
// sends neither EPSV nor STAT on any connection. Between runs 2 and 3
// the server changes: FEAT now offers EPSV (it did not), EPSV works, and
// "LIST -a" is taken as a file name. Run 3 tries EPSV again, falls back
// to a plain LIST, logs both as relearned and stores them; run 4 starts
// from the new profile.
func TestProfileUsedAndRelearned(t *testing.T) {
	var changed atomic.Bool
	h := newHostile(t, profileTree(), &hostileftp.Options{Style: hostileftp.StyleUnix, Hook: func(s *hostileftp.Session, verb, arg string) bool {
		switch {
		case verb == "FEAT" && !changed.Load():
			s.Reply("211-Features:")
			s.Reply(" SIZE")
			s.Reply(" MDTM")
			s.Reply("211 End")
		case verb == "EPSV" && !changed.Load():
			s.Reply("500 EPSV not understood")
		case verb == "LIST" && changed.Load() && strings.HasPrefix(arg, "-a"):
			s.Reply("550 -a: no such file or directory")
		default:
			return false
		}
		return true
	}})
	h.noPlan = true
	var log bytes.Buffer
	o := h.opts()
	o.Logger = slog.New(slog.NewTextHandler(&log, nil))
	type want struct {
		epsv, stat, listA bool // sent in the run
		listing           string
		noEPSV            bool
		logs              []string
	}
	n := 0
	for i, w := range []want{
		{epsv: true, stat: true, listA: true, listing: "LIST -a", noEPSV: true},
		{listA: true, listing: "LIST -a", noEPSV: true, logs: []string{"using the stored server profile"}},
		{epsv: true, listA: true, listing: "LIST", logs: []string{"FEAT now offers EPSV", `entry=listing was="LIST -a" now=LIST`, "entry=epsv was=refused now=works"}},
		{epsv: true, listing: "LIST", logs: []string{"using the stored server profile"}},
	} {
		if i == 2 {
			changed.Store(true)
		}
		log.Reset()
		sum, err, _ := h.run(o, 20*time.Second)
		if err != nil || sum.Failed != 0 {
			t.Fatalf("run %d: %v %v", i+1, err, sum.Errors)
		}
		var cmds []string
		cmds, n = hostileSince(h.srv, n)
		listA := 0
		for _, c := range cmds {
			if strings.HasPrefix(c, "LIST -a") {
				listA++
			}
		}
		if got := countVerb(cmds, "EPSV") > 0; got != w.epsv {
			t.Errorf("run %d: EPSV sent: %v, want %v", i+1, got, w.epsv)
		}
		if got := countVerb(cmds, "STAT") > 0; got != w.stat {
			t.Errorf("run %d: STAT sent: %v, want %v", i+1, got, w.stat)
		}
		if got := listA > 0; got != w.listA {
			t.Errorf("run %d: LIST -a sent: %v, want %v", i+1, got, w.listA)
		}
		rec := serverRecord(t, h)
		if rec.Listing != w.listing || rec.NoEPSV != w.noEPSV {
			t.Errorf("run %d: stored listing %q, no EPSV %v; want %q, %v", i+1, rec.Listing, rec.NoEPSV, w.listing, w.noEPSV)
		}
		for _, l := range w.logs {
			if !strings.Contains(log.String(), l) {
				t.Errorf("run %d: log lacks %q:\n%s", i+1, l, log.String())
			}
		}
		if t.Failed() {
			t.Logf("run %d commands: %q", i+1, cmds)
		}
	}
}

// TestProfileDryRunStoresNothing: a dry run learns but does not store.
func TestProfileDryRunStoresNothing(t *testing.T) {
	h := newHostile(t, profileTree(), &hostileftp.Options{Style: hostileftp.StyleUnix})
	h.noPlan = true
	o := h.opts()
	o.DryRun, o.ActiveAuto = true, true
	if _, err, _ := h.run(o, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if rec, ok, err := h.db.Server(state.ServerKey(h.srv.Addr(), "anonymous")); ok || err != nil {
		t.Errorf("a dry run stored %+v, %v", rec, err)
	}
	if n := countVerb(h.srv.Commands(), "PORT", "EPRT"); n != 0 {
		t.Errorf("a dry run tested active mode (%d PORT/EPRT)", n)
	}
}

// neverConnects makes a server behind "NAT": it takes PORT/EPRT and
// answers the transfer command with 150, but its data connection never
// arrives.
func neverConnects(s *hostileftp.Session, verb, arg string) bool {
	switch verb {
	case "LIST", "MLSD", "NLST", "RETR":
		if s.ActiveAddr() != "" {
			s.Reply("150 connecting to you (not really)")
			return true
		}
	}
	return false
}

// TestModeAutoBehindNAT: with mode auto and a server whose active
// connect-back never arrives, run 1 goes passive, tests active mode once
// (one PORT, one short timeout), mirrors everything and stores "active
// fails"; run 2 sends no PORT at all and waits for nothing.
func TestModeAutoBehindNAT(t *testing.T) {
	h := newHostile(t, profileTree(), &hostileftp.Options{Style: hostileftp.StyleUnix, Hook: neverConnects})
	h.noPlan = true
	o := h.opts()
	o.ActiveAuto = true
	o.FTP.Timeout = 20 * time.Second // the test's bound is the probe's 2 s, not this
	n := 0
	for i, wantPORT := range []int{1, 0} {
		// Run 1 waits one short timeout (2 s) at most; run 2 none.
		sum, err, _ := h.run(o, time.Duration(4-2*i)*time.Second)
		if err != nil || sum.Failed != 0 || (i == 0 && sum.Fetched != 6) {
			t.Fatalf("run %d: %v, fetched %d, %v", i+1, err, sum.Fetched, sum.Errors)
		}
		var cmds []string
		cmds, n = hostileSince(h.srv, n)
		if got := countVerb(cmds, "PORT", "EPRT"); got != wantPORT {
			t.Errorf("run %d: %d PORT/EPRT, want %d", i+1, got, wantPORT)
		}
		rec := serverRecord(t, h)
		if rec.Active != state.ActiveFails || rec.ActiveTested.IsZero() {
			t.Errorf("run %d: stored active %v (tested %v), want fails", i+1, rec.Active, rec.ActiveTested)
		}
	}
}

// TestModeAutoFallsBackMidRun: the stored profile says active mode works
// and is faster, but the server's connect-back no longer arrives. The
// run switches to passive, tries the file again without counting a
// failure, and stores "active fails".
func TestModeAutoFallsBackMidRun(t *testing.T) {
	h := newHostile(t, profileTree(), &hostileftp.Options{Style: hostileftp.StyleUnix, Hook: neverConnects})
	h.noPlan = true
	key := state.ServerKey(h.srv.Addr(), "anonymous")
	if err := h.db.PutServer(key, state.Server{Profile: state.Profile{
		Active: state.ActiveWorks, PassiveCost: 60 * time.Millisecond, ActiveCost: 40 * time.Millisecond, RTT: 20 * time.Millisecond, ActiveTested: time.Now(),
	}}); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	o := h.opts()
	o.ActiveAuto, o.Retries, o.Parallel = true, 0, 1
	o.FTP.Timeout = time.Second
	o.Logger = slog.New(slog.NewTextHandler(&log, nil))
	sum, err, _ := h.run(o, 10*time.Second)
	if err != nil || sum.Failed != 0 || sum.Fetched != 6 {
		t.Fatalf("run: %v, fetched %d, failed %d: %v\n%s", err, sum.Fetched, sum.Failed, sum.Errors, log.String())
	}
	if !strings.Contains(log.String(), "passive from now on") {
		t.Errorf("log does not say it went passive:\n%s", log.String())
	}
	if rec := serverRecord(t, h); rec.Active != state.ActiveFails {
		t.Errorf("stored active %v, want fails", rec.Active)
	}
	if n := countVerb(h.srv.Commands(), "PORT", "EPRT"); n != 1 {
		t.Errorf("%d PORT/EPRT, want 1: the run stays passive after the first failure", n)
	}
}

// TestProfileRelearnAfterRuns: a stored refusal (EPSV, LIST -a) holds
// for profileRelearnRuns (20) runs; the run after tries again, and on a
// server where both now work stores that, the count starting afresh.
func TestProfileRelearnAfterRuns(t *testing.T) {
	for _, tc := range []struct {
		runs      int
		tried     bool
		wantStore state.Profile
	}{
		{19, false, state.Profile{Listing: "LIST", NoEPSV: true, Runs: 20}},
		{20, true, state.Profile{Listing: "LIST -a", Runs: 0}},
	} {
		t.Run(strconv.Itoa(tc.runs), func(t *testing.T) { relearnAfter(t, tc.runs, tc.tried, tc.wantStore) })
	}
}

// relearnAfter runs once from a stored profile of runs runs that says
// EPSV and LIST -a fail, on a server where both work.
func relearnAfter(t *testing.T, runs int, tried bool, want state.Profile) {
	h := newHostile(t, profileTree(), &hostileftp.Options{Style: hostileftp.StyleUnix})
	h.noPlan = true
	key := state.ServerKey(h.srv.Addr(), "anonymous")
	if err := h.db.PutServer(key, state.Server{Profile: state.Profile{Listing: "LIST", NoEPSV: true, Runs: runs}}); err != nil {
		t.Fatal(err)
	}
	o := h.opts()
	o.Parallel = 1
	if _, err, _ := h.run(o, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	cmds := h.srv.Commands()
	listA := 0
	for _, c := range cmds {
		if strings.HasPrefix(c, "LIST -a") {
			listA++
		}
	}
	if got := countVerb(cmds, "EPSV") > 0 && listA > 0; got != tried {
		t.Errorf("after %d runs: EPSV and LIST -a tried %v, want %v: %q", runs, got, tried, cmds)
	}
	rec := serverRecord(t, h)
	if rec.Listing != want.Listing || rec.NoEPSV != want.NoEPSV || rec.Runs != want.Runs {
		t.Errorf("after %d runs: stored %+v, want %+v", runs, rec.Profile, want)
	}
}

// TestProfileFollowsFEAT: a stored MLSD is not used once FEAT no longer
// offers MLST; the run lists the next way and stores that.
func TestProfileFollowsFEAT(t *testing.T) {
	var noMLST atomic.Bool
	h := newHostile(t, profileTree(), &hostileftp.Options{Style: hostileftp.StyleMLSD, Hook: func(s *hostileftp.Session, verb, arg string) bool {
		if verb == "FEAT" && noMLST.Load() {
			s.Reply("211-Features:")
			s.Reply(" SIZE")
			s.Reply(" EPSV")
			s.Reply("211 End")
			return true
		}
		return verb == "MLSD" && noMLST.Load() && replied(s, "500 MLSD not understood")
	}})
	h.noPlan = true
	var log bytes.Buffer
	o := h.opts()
	o.Logger = slog.New(slog.NewTextHandler(&log, nil))
	n := 0
	for i, want := range []string{"MLSD", "LIST -a"} {
		noMLST.Store(i == 1)
		if sum, err, _ := h.run(o, 20*time.Second); err != nil || sum.Failed != 0 {
			t.Fatalf("run %d: %v", i+1, err)
		}
		var cmds []string
		cmds, n = hostileSince(h.srv, n)
		if i == 1 && countVerb(cmds, "MLSD") != 0 {
			t.Errorf("run 2 sent MLSD: %q", cmds)
		}
		if rec := serverRecord(t, h); rec.Listing != want {
			t.Errorf("run %d: stored listing %q, want %q", i+1, rec.Listing, want)
		}
	}
	if !strings.Contains(log.String(), `entry=listing was=MLSD now="LIST -a"`) {
		t.Errorf("run 2 did not log the relearned listing:\n%s", log.String())
	}
}

// replied sends reply and reports true (for a Hook).
func replied(s *hostileftp.Session, reply string) bool {
	s.Reply("%s", reply)
	return true
}

// TestModeAutoSwitchesAfterTest: a first run in mode auto against a
// server whose passive mode is the slower (its EPSV replies come 40 ms
// late) tests active mode before the first fetch, finds it works and is
// faster, and fetches every file in active mode from then on, in this
// run already.
func TestModeAutoSwitchesAfterTest(t *testing.T) {
	for _, tc := range []struct {
		name string
		noop time.Duration // the server's delay of NOOP: the round trip mode auto measures
		want string        // the mode of every RETR
	}{
		{"round trip long enough", 5 * time.Millisecond, "active"},
		// Loopback's round trip: active mode would save next to nothing
		// per file, however much faster its listing was.
		{"round trip too short", 0, "passive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slowPassive := func(s *hostileftp.Session, verb, _ string) bool {
				switch verb {
				case "EPSV", "PASV":
					s.Sleep(40 * time.Millisecond)
				case "NOOP":
					s.Sleep(tc.noop)
				}
				return false
			}
			h := newHostile(t, profileTree(), &hostileftp.Options{Style: hostileftp.StyleUnix, Hook: slowPassive})
			h.noPlan = true
			o := h.opts()
			o.ActiveAuto, o.Parallel = true, 1
			sum, err, _ := h.run(o, 20*time.Second)
			if err != nil || sum.Failed != 0 || sum.Fetched != 6 {
				t.Fatalf("run: %v, fetched %d: %v", err, sum.Fetched, sum.Errors)
			}
			rec := serverRecord(t, h)
			if rec.Active != state.ActiveWorks || rec.RTT <= 0 || (tc.noop > 0 && rec.RTT < tc.noop) {
				t.Fatalf("stored active %v, round trip %v; want works, a round trip of at least %v", rec.Active, rec.RTT, tc.noop)
			}
			mode := ""
			for _, c := range h.srv.Commands() {
				switch v, arg, _ := strings.Cut(c, " "); v {
				case "EPSV", "PASV":
					mode = "passive"
				case "EPRT", "PORT":
					mode = "active"
				case "RETR":
					if mode != tc.want {
						t.Errorf("RETR %s in %s mode, want %s after the test", arg, mode, tc.want)
					}
				}
			}
		})
	}
}

// TestModeAutoRetestsWithoutRoundTrip: a stored test from before round
// trips were measured says active mode works and is faster, but not
// whether it matters: the run tests again, and stores the round trip.
func TestModeAutoRetestsWithoutRoundTrip(t *testing.T) {
	h := newHostile(t, profileTree(), &hostileftp.Options{Style: hostileftp.StyleUnix})
	h.noPlan = true
	tested := time.Now().Add(-time.Hour).Truncate(time.Second)
	key := state.ServerKey(h.srv.Addr(), "anonymous")
	if err := h.db.PutServer(key, state.Server{Profile: state.Profile{
		Active: state.ActiveWorks, PassiveCost: 3 * time.Millisecond, ActiveCost: 2 * time.Millisecond, ActiveTested: tested,
	}}); err != nil {
		t.Fatal(err)
	}
	o := h.opts()
	o.ActiveAuto, o.Parallel = true, 1
	if sum, err, _ := h.run(o, 20*time.Second); err != nil || sum.Failed != 0 {
		t.Fatalf("run: %v %+v", err, sum)
	}
	if rec := serverRecord(t, h); !rec.ActiveTested.After(tested) || rec.RTT <= 0 {
		t.Errorf("stored test of %v, round trip %v: not tested again", rec.ActiveTested, rec.RTT)
	}
}

// TestModeAutoSwitchesPipelinedWorkers: while the first worker tests
// active mode, the second fetches, each next file pipelined behind the
// one ending, so it is never without a transfer queued; it must still
// go active after the test.
func TestModeAutoSwitchesPipelinedWorkers(t *testing.T) {
	var mu sync.Mutex
	mode := map[int]string{} // session: the mode of its last data command
	last := map[int]string{} // session: the mode of its last RETR
	slowPassive := func(s *hostileftp.Session, verb, _ string) bool {
		mu.Lock()
		switch verb {
		case "EPSV", "PASV":
			mode[s.ID] = "passive"
		case "EPRT", "PORT":
			mode[s.ID] = "active"
		case "RETR":
			last[s.ID] = mode[s.ID]
		}
		mu.Unlock()
		switch verb {
		case "EPSV", "PASV":
			s.Sleep(20 * time.Millisecond)
		case "NOOP": // a round trip long enough for active mode to matter
			s.Sleep(5 * time.Millisecond)
		}
		return false
	}
	var files []*hostileftp.Node
	for i := range 60 {
		files = append(files, ok(fmt.Sprintf("f%02d.txt", i)))
	}
	h := newHostile(t, hostileftp.Dir("", files...), &hostileftp.Options{Style: hostileftp.StyleUnix, Hook: slowPassive})
	h.noPlan = true
	o := h.opts()
	o.ActiveAuto, o.Parallel = true, 2
	sum, err, _ := h.run(o, 30*time.Second)
	if err != nil || sum.Failed != 0 || sum.Fetched != 60 {
		t.Fatalf("run: %v, fetched %d: %v", err, sum.Fetched, sum.Errors)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(last) < 2 {
		t.Fatalf("%d sessions fetched, want 2", len(last))
	}
	for id, m := range last {
		if m != "active" {
			t.Errorf("session %d fetched its last file in %s mode, want active after the test", id, m)
		}
	}
}

// TestProfilePipelinesFirstTransfer: run 1 finds that pipelined
// transfers are answered in order and stores it; in run 2 every
// connection pipelines from its first data transfer (its first EPSV
// comes with the listing command behind it), where in run 1 each first
// one went a command at a time.
func TestProfilePipelinesFirstTransfer(t *testing.T) {
	var mu sync.Mutex
	firstEPSV := map[int]bool{} // session: its first EPSV came pipelined
	hook := func(s *hostileftp.Session, verb, _ string) bool {
		if verb == "EPSV" {
			mu.Lock()
			if _, seen := firstEPSV[s.ID]; !seen {
				firstEPSV[s.ID] = s.Pipelined()
			}
			mu.Unlock()
		}
		return false
	}
	h := newHostile(t, profileTree(), &hostileftp.Options{Style: hostileftp.StyleUnix, Hook: hook})
	h.noPlan = true
	for run := 1; run <= 2; run++ {
		mu.Lock()
		clear(firstEPSV)
		mu.Unlock()
		if sum, err, _ := h.run(nil, 20*time.Second); err != nil || sum.Failed != 0 {
			t.Fatalf("run %d: %v %+v", run, err, sum)
		}
		mu.Lock()
		got := maps.Clone(firstEPSV)
		mu.Unlock()
		if len(got) == 0 {
			t.Fatalf("run %d: no EPSV at all", run)
		}
		for id, pipelined := range got {
			if pipelined != (run == 2) {
				t.Errorf("run %d, session %d: first EPSV pipelined %v, want %v", run, id, pipelined, run == 2)
			}
		}
		if rec := serverRecord(t, h); !rec.Pipelined {
			t.Errorf("run %d: stored Pipelined false", run)
		}
	}
}
