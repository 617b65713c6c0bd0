package mirror_test

import (
	"bytes"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/ftpservers"
	"github.com/ftpmirror/ftpmirror/internal/hostileftp"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// commandsSince returns the commands srv logged after the first n,
// once the log has settled (see count).
func commandsSince(srv *ftpservers.Server, n int) []string {
	var cmds []string
	last := -1
	for range 40 {
		cmds = srv.Commands()
		if len(cmds) == last {
			break
		}
		last = len(cmds)
		time.Sleep(100 * time.Millisecond)
	}
	return cmds[min(n, len(cmds)):]
}

// listings counts the listing commands among cmds.
func listings(cmds []string) (n int) {
	for _, c := range cmds {
		verb, _, _ := strings.Cut(c, " ")
		if slices.Contains([]string{"LIST", "NLST", "MLSD", "STAT"}, verb) {
			n++
		}
	}
	return n
}

// TestRealServersSentinel: with a sentinel, a run whose sentinel is as
// the last complete run saw it ends after one listing of the sentinel's
// directory (counted in the server's log), with result ok and a run
// record; a sentinel with a new size or time, other settings, or a
// missing sentinel make a full run.
func TestRealServersSentinel(t *testing.T) {
	t0 := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
	for _, name := range ftpservers.Names() {
		t.Run(name, func(t *testing.T) {
			e, srv := newReal(t, name, false)
			set := func(rel, data string, mt time.Time) {
				writeFile(t, e.src, rel, data)
				if err := os.Chtimes(filepath.Join(e.src, rel), mt, mt); err != nil {
					t.Fatal(err)
				}
			}
			set("project/trace/master", "Date: 1\n", t0)
			set("project/a.txt", "a1\n", t0)
			set("project/sub/b.txt", "b\n", t0)
			var log bytes.Buffer
			run := func(o *mirror.Options) *mirror.Summary {
				t.Helper()
				log.Reset()
				o.Logger = slog.New(slog.NewTextHandler(&log, nil))
				sum, err := mirror.Run(t.Context(), o)
				if err != nil || sum.Failed != 0 {
					t.Fatalf("run: %v %+v\n%s", err, sum, log.String())
				}
				return sum
			}
			opts := func() *mirror.Options {
				o := e.opts()
				o.Sentinel = "project/trace/master"
				return o
			}
			if sum := run(opts()); sum.Fetched != 3 || sum.SentinelUnchanged {
				t.Fatalf("first run: %+v", sum)
			}

			// Unchanged: one listing, no RETR, result ok, a run record.
			// a.txt changed without the sentinel: the run trusts it.
			set("project/a.txt", "a.txt, changed\n", t0.Add(time.Minute))
			seen := len(commandsSince(srv, 0))
			sum := run(opts())
			cmds := commandsSince(srv, seen)
			if !sum.SentinelUnchanged || sum.Result != mirror.ResultOK || sum.Fetched != 0 || sum.Listed != 0 {
				t.Errorf("unchanged sentinel: %+v", sum)
			}
			if n := listings(cmds); n != 1 || slices.ContainsFunc(cmds, func(c string) bool { return strings.HasPrefix(c, "RETR") }) {
				t.Errorf("unchanged sentinel: %d listings, want 1; commands %q", n, cmds)
			}
			if !strings.Contains(log.String(), "sentinel unchanged since the last complete run") {
				t.Errorf("no log line says why:\n%s", log.String())
			}
			if runs, _ := e.db.Job("test").Runs(0); len(runs) != 2 || runs[0].Result != "ok" {
				t.Errorf("run records %+v", runs)
			}

			// A dry run writes nothing, not even a run record.
			o := opts()
			o.DryRun = true
			if sum := run(o); !sum.SentinelUnchanged {
				t.Errorf("dry run: %+v", sum)
			}
			if runs, _ := e.db.Job("test").Runs(0); len(runs) != 2 {
				t.Errorf("the dry run added a run record: %d", len(runs))
			}

			// Other settings: a full run.
			o = opts()
			o.Exclude = []string{"nothing"}
			if sum := run(o); sum.SentinelUnchanged || sum.Fetched != 1 {
				t.Errorf("new settings: %+v\n%s", sum, log.String())
			}

			for i, tc := range []struct {
				name, data string
				mt         time.Time
			}{{"new size, same time", "Date: 22\n", t0}, {"same size, new time", "Date: 33\n", t0.Add(2 * time.Hour)}} {
				run(opts()) // records the sentinel as it is
				set("project/trace/master", tc.data, tc.mt)
				set("project/a.txt", strings.Repeat("a", 20+i), tc.mt) // a new size: fetched on any server
				// A walk: a.txt is fetched (master too where the
				// listing's time tells; LIST's day precision may not).
				if sum := run(opts()); sum.SentinelUnchanged || sum.Fetched == 0 {
					t.Errorf("%s: %+v\n%s", tc.name, sum, log.String())
				}
				if sum := run(opts()); !sum.SentinelUnchanged {
					t.Errorf("%s, the run after: %+v", tc.name, sum)
				}
			}

			// Missing: a full run, logged, and the next one too.
			if err := os.Remove(filepath.Join(e.src, "project/trace/master")); err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				if sum := run(opts()); sum.SentinelUnchanged || !strings.Contains(log.String(), "reason=\"missing remotely\"") {
					t.Errorf("missing sentinel, run %d: %+v\n%s", i, sum, log.String())
				}
			}
		})
	}
}

// Only a run that ended ok leaves a sentinel record to trust: after a
// run with a failed file, or one that skipped files as too young
// (MinAge), the next run walks the tree again. A run that walks forgets
// the record before it changes anything, so a run killed half-way
// leaves none.
func TestSentinelAfterIncompleteRun(t *testing.T) {
	var failBad atomic.Bool
	failBad.Store(true)
	var h *hostile
	var recordDuringFetch atomic.Int32 // 1: none, 2: there
	root := hostileftp.Dir("", hostileftp.Dir("trace", ok("master")), ok("a"), ok("bad"))
	h = newHostile(t, root, &hostileftp.Options{Hook: func(s *hostileftp.Session, verb, arg string) bool {
		if verb != "RETR" {
			return false
		}
		if _, ok, _ := h.db.Job("hostile").Sentinel(); ok {
			recordDuringFetch.Store(2)
		} else if recordDuringFetch.Load() == 0 {
			recordDuringFetch.Store(1)
		}
		if path.Base(arg) == "bad" && failBad.Load() {
			s.Reply("550 Permission denied.")
			return true
		}
		return false
	}})
	h.noPlan = true
	run := func(o *mirror.Options) *mirror.Summary {
		t.Helper()
		if o == nil {
			o = h.opts()
		}
		o.Sentinel, o.Retries = "trace/master", 0
		sum, _, _ := h.run(o, 10*time.Second)
		return sum
	}
	for i := range 2 {
		if sum := run(nil); sum.SentinelUnchanged || sum.Result != mirror.ResultPartial {
			t.Fatalf("run %d with a failed file: %+v", i, sum)
		}
	}
	failBad.Store(false)
	if sum := run(nil); sum.SentinelUnchanged || sum.Result != mirror.ResultOK || sum.Fetched != 1 {
		t.Fatalf("complete run: %+v", sum)
	}
	if sum := run(nil); !sum.SentinelUnchanged {
		t.Fatalf("after a complete run: %+v", sum)
	}

	// Too young for MinAge: the files will be due without any change.
	h.srv.SetTree(hostileftp.Dir("", hostileftp.Dir("trace", hostileftp.File("master", []byte("new"), t0)),
		ok("a"), ok("bad"), hostileftp.File("young", []byte("young"), time.Now())))
	o := h.opts()
	o.MinAge = time.Hour
	recordDuringFetch.Store(0)
	for i := range 2 {
		if sum := run(o); sum.SentinelUnchanged || sum.Skipped != 1 {
			t.Errorf("run %d with young files: %+v", i, sum)
		}
	}
	// The record was gone by the time the first of those runs fetched
	// the new master.
	if recordDuringFetch.Load() != 1 {
		t.Errorf("the sentinel record was still there while the tree changed")
	}
}
