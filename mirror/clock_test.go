package mirror_test

import (
	"bytes"
	"cmp"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/ftpservers"
	"github.com/ftpmirror/ftpmirror/internal/hostileftp"
	"github.com/ftpmirror/ftpmirror/internal/treetest"
	"github.com/ftpmirror/ftpmirror/mirror"
	"github.com/ftpmirror/ftpmirror/state"
)

// The tests in this file run against a server in UTC+3 whose LIST shows
// local time (hostileftp.Options.ListZone) while MDTM gives UTC, and a
// job that reads LIST times as UTC, as ftpmirror does by default.

const zoneOffset = 3 * time.Hour

var plus3 = time.FixedZone("UTC+3", int(zoneOffset/time.Second))

// agedTree is a tree of files modified the given time ago (with seconds:
// LIST shows only the minute), named after their age.
func agedTree(now time.Time, ages ...time.Duration) *hostileftp.Node {
	root := hostileftp.Dir("")
	for _, a := range ages {
		name := fmt.Sprintf("%dm.txt", a/time.Minute)
		if a%time.Hour == 0 {
			name = fmt.Sprintf("%dh.txt", a/time.Hour)
		}
		root.Children = append(root.Children, hostileftp.File(name, data(name, 40), now.Add(-a).Truncate(time.Second)))
	}
	return root
}

// clockRun runs one sync of h without a dry run first, logging to a
// buffer, and returns the summary and the log.
func clockRun(t *testing.T, h *hostile, set func(*mirror.Options)) (*mirror.Summary, string) {
	t.Helper()
	var log bytes.Buffer // the handler writes one record at a time
	o := h.opts()
	o.Logger = slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if set != nil {
		set(o)
	}
	h.noPlan = true
	sum, err, _ := h.run(o, 10*time.Second)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	return sum, log.String()
}

// mdtms returns the paths MDTM was asked for, in order.
func mdtms(h *hostile) []string {
	var out []string
	for _, c := range h.srv.Commands() {
		if p, ok := strings.CutPrefix(c, "MDTM "); ok {
			out = append(out, p)
		}
	}
	return out
}

// TestClockLearned: the first run learns the server's offset from a few
// recent files, in one round trip before their directory is planned,
// says so, and stores it for the server; the next run asks nothing.
func TestClockLearned(t *testing.T) {
	now := time.Now()
	// The first four MDTMs are the calibration's: each but the last
	// has the next one behind it, in the same write.
	var mu sync.Mutex
	var behind []bool
	hook := func(s *hostileftp.Session, verb, arg string) bool {
		if verb == "MDTM" {
			mu.Lock()
			behind = append(behind, s.Pipelined())
			mu.Unlock()
		}
		return false
	}
	h := newHostile(t, agedTree(now, time.Hour, 2*time.Hour, 4*time.Hour, 8*time.Hour), &hostileftp.Options{Style: hostileftp.StyleUnix, ListZone: plus3, Hook: hook})
	sum, log := clockRun(t, h, nil)
	if sum.Fetched != 4 {
		t.Errorf("fetched %d, want 4", sum.Fetched)
	}
	mu.Lock()
	if len(behind) < 4 || !slices.Equal(behind[:4], []bool{true, true, true, false}) {
		t.Errorf("MDTMs with another behind them: %v; want the first four in one write", behind)
	}
	mu.Unlock()
	rec := serverRecord(t, h)
	if rec.ClockOffset != zoneOffset || rec.ClockSamples < 3 || rec.ClockLearned.IsZero() {
		t.Errorf("stored clock: offset %v, %d samples, learned %v; want %v", rec.ClockOffset, rec.ClockSamples, rec.ClockLearned, zoneOffset)
	}
	if !strings.Contains(log, "server clock offset learned") || !strings.Contains(log, "offset=3h0m0s") || sum.ClockLearned != "UTC+03:00" {
		t.Errorf("neither the summary (%q) nor the log says the offset was learned:\n%s", sum.ClockLearned, log)
	}
	before := len(h.srv.Commands())
	sum, log = clockRun(t, h, nil)
	if sum.Unchanged != 4 || sum.Fetched != 0 {
		t.Errorf("second run: unchanged %d, fetched %d; want 4, 0", sum.Unchanged, sum.Fetched)
	}
	for _, c := range h.srv.Commands()[before:] {
		if strings.HasPrefix(c, "MDTM") {
			t.Errorf("second run sent %q: the offset is known", c)
		}
	}
	if strings.Contains(log, "offset learned") || strings.Contains(log, "offset changed") || sum.ClockLearned != "" {
		t.Errorf("second run relearned:\n%s", log)
	}
}

// TestClockAges: -min-age and -max-age compare real ages, the listing's
// time less the server's offset. Read as UTC, the LIST times of this
// server are three hours younger than the files: the 2 h old file
// would look an hour in the future and be skipped by -min-age 1h, the
// 4 h old one would look 1 h old and be kept by -max-age 3h.
func TestClockAges(t *testing.T) {
	for _, tc := range []struct {
		name    string
		set     func(*mirror.Options)
		fetched []string
	}{
		{"min-age 1h", func(o *mirror.Options) { o.MinAge = time.Hour }, []string{"2h.txt", "4h.txt", "8h.txt"}},
		{"max-age 3h", func(o *mirror.Options) { o.MaxAge = 3 * time.Hour }, []string{"30m.txt", "2h.txt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Now()
			h := newHostile(t, agedTree(now, 30*time.Minute, 2*time.Hour, 4*time.Hour, 8*time.Hour), &hostileftp.Options{Style: hostileftp.StyleUnix, ListZone: plus3})
			sum, log := clockRun(t, h, tc.set)
			var got []string
			for name := range h.files() {
				got = append(got, name)
			}
			slices.Sort(got)
			slices.Sort(tc.fetched)
			if !slices.Equal(got, tc.fetched) {
				t.Errorf("fetched %v, want %v\n%s", got, tc.fetched, log)
			}
			if want := int64(4 - len(tc.fetched)); sum.Skipped != want {
				t.Errorf("skipped %d, want %d", sum.Skipped, want)
			}
		})
	}
}

// TestClockAdopt: a tree made by another tool (files with the remote
// times, to the second) and no state: with the offset known, a file
// whose size matches and whose time falls in the listing's minute is
// adopted without an MDTM of its own; one whose time does not is
// fetched; a file listed with only its day still asks MDTM. The adopted
// records hold: the next run finds every file unchanged. With no
// offset stored, the run learns it from one round trip of MDTMs and
// adopts the same way.
func TestClockAdopt(t *testing.T) {
	for _, stored := range []bool{true, false} {
		t.Run(map[bool]string{true: "offset stored", false: "offset learned"}[stored], func(t *testing.T) {
			now := time.Now()
			ages := []time.Duration{time.Hour, 2 * time.Hour, 3 * time.Hour, 4 * time.Hour, 5 * time.Hour, 6 * time.Hour, 7 * time.Hour, 300 * 24 * time.Hour}
			tree := agedTree(now, ages...)
			h := newHostile(t, tree, &hostileftp.Options{Style: hostileftp.StyleUnix, ListZone: plus3})
			if stored {
				err := h.db.PutServer(state.ServerKey(h.srv.Addr(), "anonymous"), state.Server{ClockOffset: zoneOffset, ClockLearned: now.Add(-time.Hour), ClockSamples: 5})
				if err != nil {
					t.Fatal(err)
				}
			}
			want := map[string]string{}
			for i, n := range tree.Children {
				p := filepath.Join(h.target, n.Name)
				if err := os.WriteFile(p, n.Data, 0o644); err != nil {
					t.Fatal(err)
				}
				mt := n.Time
				if i == 1 {
					mt = mt.Add(-2 * time.Minute) // another version
				}
				if err := os.Chtimes(p, mt, mt); err != nil {
					t.Fatal(err)
				}
				want[n.Name] = string(n.Data)
			}
			sum, log := clockRun(t, h, nil)
			if sum.Adopted != 7 || sum.Fetched != 1 {
				t.Errorf("adopted %d, fetched %d; want 7, 1\n%s", sum.Adopted, sum.Fetched, log)
			}
			h.wantFiles(want)
			asked := mdtms(h)
			if stored {
				// The fetch of the other version pipelines its MDTM with
				// RETR; the 300-day-old file is listed with its day only.
				wantAsked := []string{"/" + tree.Children[1].Name, "/" + tree.Children[7].Name}
				slices.Sort(asked)
				slices.Sort(wantAsked)
				if !slices.Equal(asked, wantAsked) {
					t.Errorf("MDTM asked for %v, want %v", asked, wantAsked)
				}
			} else if len(asked) > 5+2 {
				t.Errorf("MDTM asked %d times for %d files: %v", len(asked), len(ages), asked)
			}
			if rec := serverRecord(t, h); rec.ClockOffset != zoneOffset {
				t.Errorf("stored offset %v, want %v", rec.ClockOffset, zoneOffset)
			}
			sum, log = clockRun(t, h, nil)
			if sum.Unchanged != int64(len(ages)) || sum.Fetched != 0 {
				t.Errorf("next run: unchanged %d, fetched %d; want %d, 0\n%s", sum.Unchanged, sum.Fetched, len(ages), log)
			}
		})
	}
}

// TestClockRelearn: the offset stored is two hours (say, before summer
// time began), the server now lists at three: the run's fetches, whose
// MDTM goes with RETR, contradict it, and the run warns, naming the
// server and both offsets, and stores the new one.
func TestClockRelearn(t *testing.T) {
	now := time.Now()
	h := newHostile(t, agedTree(now, time.Hour, 2*time.Hour, 4*time.Hour), &hostileftp.Options{Style: hostileftp.StyleUnix, ListZone: plus3})
	learned := now.Add(-24 * time.Hour).Truncate(time.Second)
	if err := h.db.PutServer(state.ServerKey(h.srv.Addr(), "anonymous"), state.Server{ClockOffset: 2 * time.Hour, ClockLearned: learned, ClockSamples: 5}); err != nil {
		t.Fatal(err)
	}
	sum, log := clockRun(t, h, nil)
	if sum.Fetched != 3 {
		t.Errorf("fetched %d, want 3", sum.Fetched)
	}
	var warn string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "server clock offset changed") {
			warn = l
		}
	}
	if !strings.Contains(warn, "level=WARN") || !strings.Contains(warn, "server="+h.srv.Addr()) || !strings.Contains(warn, "old=2h0m0s") || !strings.Contains(warn, "new=3h0m0s") {
		t.Errorf("no warning naming the server and both offsets:\n%s", log)
	}
	if sum.ClockLearned != "UTC+03:00" {
		t.Errorf("summary: clock learned %q, want UTC+03:00", sum.ClockLearned)
	}
	rec := serverRecord(t, h)
	if rec.ClockOffset != zoneOffset || !rec.ClockLearned.After(learned) {
		t.Errorf("stored: offset %v learned %v; want %v, relearned", rec.ClockOffset, rec.ClockLearned, zoneOffset)
	}
}

// TestRealServersClock: inetutils ftpd in UTC+3 lists local time; the
// first sync learns three hours and stores it. A second job on the same
// server, over a tree another tool made with the files' times, adopts
// every file without an MDTM. vsftpd lists UTC (use_localtime=NO):
// offset 0, adopted the same way. With use_localtime=YES, vsftpd 3.0.3
// gives MDTM in local time too (against RFC 3659): LIST and MDTM agree,
// 0 is learned, and the mirror's times are the server's local ones, which
// no comparison of the two can tell. The servers that list with MLSD
// give UTC: nothing to learn.
func TestRealServersClock(t *testing.T) {
	const tzPlus3 = "<+03>-3"
	for _, tc := range []struct {
		server, zone string
		lists        bool          // STAT -a, in LIST format: an offset is learned
		want         time.Duration // the offset learned
		mdtmLocal    bool          // MDTM in the server's zone too
	}{
		{"vsftpd", "", true, 0, false},
		{"vsftpd", tzPlus3, true, 0, true},
		{"inetutils", tzPlus3, true, zoneOffset, false},
		{"pure-ftpd", tzPlus3, false, 0, false},
		{"proftpd", tzPlus3, false, 0, false},
		{"pyftpdlib", tzPlus3, false, 0, false},
	} {
		t.Run(tc.server+" "+cmp.Or(tc.zone, "UTC"), func(t *testing.T) {
			e, srv := newRealWith(t, tc.server, false, &ftpservers.Options{ProtocolLog: true, Zone: tc.zone})
			now := time.Now()
			for i := range 4 {
				rel := fmt.Sprintf("f%d.txt", i)
				writeFile(t, e.src, rel, strings.Repeat(rel, i+1))
				mt := now.Add(-time.Duration(i+1) * time.Hour).Truncate(time.Second)
				if err := os.Chtimes(filepath.Join(e.src, rel), mt, mt); err != nil {
					t.Fatal(err)
				}
			}
			if sum := e.run(e.opts()); sum.Fetched != 4 {
				t.Fatalf("fetched %d, want 4", sum.Fetched)
			}
			if tc.mdtmLocal {
				fi, err := os.Stat(filepath.Join(e.target, "f0.txt"))
				if err != nil || !fi.ModTime().Equal(now.Add(-time.Hour+zoneOffset).Truncate(time.Second)) {
					t.Errorf("f0.txt: %v %v; want the server's local time (MDTM is local)", fi.ModTime(), err)
				}
				return
			}
			treetest.Equal(t, e.src, e.target, true)
			rec, _, err := e.db.Server(state.ServerKey(e.addr, "anonymous"))
			if err != nil {
				t.Fatal(err)
			}
			if learned := !rec.ClockLearned.IsZero(); learned != tc.lists || rec.ClockOffset != tc.want {
				t.Fatalf("stored clock: learned %v, offset %v; want learned %v, offset %v", learned, rec.ClockOffset, tc.lists, tc.want)
			}
			if !tc.lists {
				return
			}
			// Another job of the same server, over a copy of the tree.
			before, _ := count(srv, "MDTM")
			e.target = filepath.Join(filepath.Dir(e.target), "copy")
			if err := os.CopyFS(e.target, os.DirFS(e.src)); err != nil {
				t.Fatal(err)
			}
			for i := range 4 {
				rel := fmt.Sprintf("f%d.txt", i)
				fi, err := os.Stat(filepath.Join(e.src, rel))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.Chtimes(filepath.Join(e.target, rel), fi.ModTime(), fi.ModTime()); err != nil {
					t.Fatal(err)
				}
			}
			o := e.opts()
			o.Job = "copy"
			if sum := e.run(o); sum.Adopted != 4 || sum.Fetched != 0 {
				t.Errorf("copy: adopted %d, fetched %d; want 4, 0", sum.Adopted, sum.Fetched)
			}
			if after, args := count(srv, "MDTM"); after != before {
				t.Errorf("adoption asked MDTM %d times: %v", after-before, args[before:])
			}
		})
	}
}

// TestClockCalibrationCut: the server drops the connection at the first
// MDTM of the calibration. The listing it followed still counts: the
// directory is planned (without the offset) and mirrored, on new
// connections, and the run is not failed by the calibration. Each later
// MDTM (the fetches') is answered, so the offset is learned from them.
func TestClockCalibrationCut(t *testing.T) {
	now := time.Now()
	var cut atomic.Bool
	h := newHostile(t, agedTree(now, time.Hour, 2*time.Hour, 4*time.Hour), &hostileftp.Options{Style: hostileftp.StyleUnix, ListZone: plus3,
		Hook: func(s *hostileftp.Session, verb, arg string) bool {
			if verb == "MDTM" && !cut.Swap(true) {
				s.Conn().Close()
				return true
			}
			return false
		}})
	sum, log := clockRun(t, h, nil)
	if sum.Fetched != 3 || sum.Failed != 0 || sum.Dirs != 1 {
		t.Errorf("dirs %d, fetched %d, failed %d; want 1, 3, 0\n%s", sum.Dirs, sum.Fetched, sum.Failed, log)
	}
	if !strings.Contains(log, "clock calibration stopped") {
		t.Errorf("the log does not say the calibration stopped:\n%s", log)
	}
	if rec := serverRecord(t, h); rec.ClockOffset != zoneOffset || rec.ClockLearned.IsZero() {
		t.Errorf("stored offset %v (learned %v), want %v from the fetches' MDTMs", rec.ClockOffset, rec.ClockLearned, zoneOffset)
	}
}
