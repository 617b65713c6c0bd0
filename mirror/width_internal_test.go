package mirror

import (
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/state"
)

// TestWidthSteps drives -parallel auto's decisions with a made-up clock:
// a window of 2×width tasks at each width, the window after each step
// ignored (the new connection logs in during it). Growth goes on while
// a step brings autoGain more throughput and work waits; the width
// remembered is the last one that paid.
func TestWidthSteps(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		known   state.Server
		perTask []time.Duration // how long a task takes at width 1, 2, ...
		backlog bool
		refuse  int // refuse at this width (0: never)
		// want: the width reached, and what is remembered
		cur, parallel, limit int
	}{{
		name: "doubles while each step pays, settles at the first that does not",
		// ms per task (all workers) at width 1, 2, ..., 8
		perTask: []time.Duration{100, 50, 40, 26, 26, 26, 26, 25},
		backlog: true,
		cur:     8, parallel: 4,
	}, {
		name:    "no backlog: no growth",
		perTask: []time.Duration{100, 50},
		cur:     1, parallel: 1,
	}, {
		name:    "starts where the last run settled, stops at the cap",
		known:   state.Server{Parallel: 15},
		perTask: []time.Duration{100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 50, 25, 12},
		backlog: true,
		cur:     16, parallel: 16,
	}, {
		name:    "a refusal sets the limit and stops growth",
		perTask: []time.Duration{100, 50, 25, 12},
		backlog: true, refuse: 4,
		cur: 3, parallel: 2, limit: 3,
	}, {
		name:    "a known limit is never passed",
		known:   state.Server{Parallel: 2, ParallelLimit: 3},
		perTask: []time.Duration{100, 50, 25, 12, 6},
		backlog: true,
		cur:     3, parallel: 3, limit: 3,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWidth(&Options{ParallelAuto: true}, tc.known, 1)
			now := t0
			for range 200 {
				cur := w.current()
				if tc.refuse > 0 && cur == tc.refuse {
					w.refuse()
					cur = w.current()
				}
				w.connected(cur)
				now = now.Add(tc.perTask[min(cur, len(tc.perTask))-1] * time.Millisecond)
				w.tick(now, 0, tc.backlog)
			}
			rec, _ := w.learned(state.Server{})
			if got := w.current(); got != tc.cur || rec.Parallel != tc.parallel || rec.ParallelLimit != tc.limit {
				t.Errorf("width %d, remembered %d, limit %d; want %d, %d, %d", got, rec.Parallel, rec.ParallelLimit, tc.cur, tc.parallel, tc.limit)
			}
		})
	}
}

// A fixed width never grows; one that got more connections than a known
// limit, without a refusal, clears the limit.
func TestWidthFixed(t *testing.T) {
	w := newWidth(&Options{}, state.Server{Parallel: 5, ParallelLimit: 3}, 8)
	for i := range 100 {
		if w.tick(time.Unix(int64(i), 0), 0, true) > 0 {
			t.Fatal("a fixed width grew")
		}
	}
	w.connected(8)
	rec, changed := w.learned(state.Server{})
	if w.current() != 8 || rec.Parallel != 5 || rec.ParallelLimit != 0 || !changed {
		t.Errorf("width %d, remembered %+v (changed %v)", w.current(), rec, changed)
	}
}

// TestWidthReachesCapSoon: from the default start of 4, a server that
// serves each connection as fast as the last gets the cap of 16 within a
// few dozen tasks, not most of a run (as one connection a step took).
func TestWidthReachesCapSoon(t *testing.T) {
	w := newWidth(&Options{ParallelAuto: true}, state.Server{}, 4)
	now := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	for tasks := 1; tasks <= 48; tasks++ {
		w.connected(w.current())
		now = now.Add(time.Second / time.Duration(w.current())) // each connection alike
		w.tick(now, 0, true)
		if w.current() == autoCap {
			t.Logf("%d connections after %d tasks", autoCap, tasks)
			return
		}
	}
	t.Fatalf("%d connections after 48 tasks, want %d", w.current(), autoCap)
}
