package mirror

import (
	"sync"
	"time"

	"github.com/ftpmirror/ftpmirror/state"
)

// The width of a run is how many connections it uses. Options.Parallel
// fixes it. With Options.ParallelAuto the run chooses: it starts at the
// width the last auto run settled at (state.Server.Parallel), and after
// each window of 2×width finished tasks it compares the window's
// throughput (tasks and bytes per second) with the one measured at the
// width before. While a step brought at least autoGain more and work is
// waiting, it doubles the connections (up to the cap or the limit), as
// TCP's slow start does: adding one at a time took most of a 1,000-file
// run to get from 4 to 16. The first step that did not pay stops the
// growth, and the width before it is what the next run starts at. A
// server that refuses one more connection (421, or proftpd's 530; see
// tooManyConnections) sets a limit, kept in state.Server.ParallelLimit,
// that auto runs stay within. A fixed width that gets more connections
// than that limit without a refusal clears it.

const (
	// autoCap: -parallel auto never uses more connections. Past 16,
	// servers' per-address limits (vsftpd max_per_ip, pure-ftpd -C)
	// and the politeness owed to a public mirror matter more than speed.
	autoCap = 16
	// autoGain: a step up counts as growth if throughput grew by this.
	autoGain = 1.1
)

// width is a run's connection count, and with ParallelAuto its growth.
// Its methods are safe for concurrent use.
type width struct {
	auto  bool
	known state.Server // as loaded: what earlier runs learned

	mu       sync.Mutex
	cur      int  // workers started (minus those refused)
	limit    int  // most connections allowed now
	settled  bool // no more growth this run
	good     int  // the widest width whose step brought more throughput
	refused  bool // the server refused one more connection
	peak     int  // most connections in use at once
	judge    int  // the width that the current window measures; 0: warming up
	winStart time.Time
	winTasks int
	winBytes int64
	rate     [2]float64 // tasks and bytes per second at width judge-1 (or earlier)
}

// newWidth returns the width of a run with these options, given what
// earlier runs learned about the server.
func newWidth(opts *Options, known state.Server, fixed int) *width {
	w := &width{auto: opts.ParallelAuto, known: known, cur: fixed, limit: autoCap}
	if !w.auto {
		return w
	}
	if known.Parallel > 0 {
		w.cur = known.Parallel
	}
	if known.ParallelLimit > 0 {
		w.limit = min(w.limit, known.ParallelLimit)
	}
	w.cur = max(1, min(w.cur, w.limit))
	w.good = w.cur
	return w
}

// start returns how many workers to start with.
func (w *width) start() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cur
}

// current returns the number of workers now.
func (w *width) current() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cur
}

// peakConnections returns the most connections in use at once.
func (w *width) peakConnections() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.peak
}

// connected notes that n connections are in use.
func (w *width) connected(n int) {
	w.mu.Lock()
	w.peak = max(w.peak, n)
	w.mu.Unlock()
}

// tick notes a finished task, at time now with bytes fetched so far in
// the run, and returns how many more workers to start. backlog says
// whether tasks are waiting for a worker.
func (w *width) tick(now time.Time, bytes int64, backlog bool) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.auto || w.settled {
		return 0
	}
	if w.winStart.IsZero() {
		// The first window starts with the first task done, so that
		// it does not measure the logins.
		w.winStart, w.winBytes, w.judge = now, bytes, w.cur
		return 0
	}
	w.winTasks++
	if w.winTasks < 2*w.cur {
		return 0
	}
	el := now.Sub(w.winStart).Seconds()
	rate := [2]float64{float64(w.winTasks) / el, float64(bytes-w.winBytes) / el}
	judge := w.judge
	w.winStart, w.winTasks, w.winBytes, w.judge = now, 0, bytes, w.cur
	if el <= 0 || judge != w.cur {
		// A window that saw a new connection log in: it does not
		// measure the new width yet.
		return 0
	}
	if w.rate != [2]float64{} && judge > w.good {
		more := rate[0] >= autoGain*w.rate[0] || (rate[1] > 0 && rate[1] >= autoGain*w.rate[1])
		if !more {
			w.settled = true // the last step did not pay
			return 0
		}
		w.good = judge
	}
	w.rate = rate
	if !backlog || w.cur >= w.limit {
		return 0
	}
	more := min(w.cur, w.limit-w.cur)
	w.cur += more
	return more
}

// refuse notes that the server refused one more connection: a worker
// bows out, and an auto run grows no more. The limit learned is the most
// connections the run had at once (the count when the refusal came is
// no measure: the connections of a run's start are dialled together).
func (w *width) refuse() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.refused = true
	w.cur = max(1, w.cur-1)
	w.settled = true
}

// learned returns the record of what this run learned about the server's
// width, and whether it differs from what was known.
func (w *width) learned(rec state.Server) (state.Server, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	rec.Parallel, rec.ParallelLimit = w.known.Parallel, w.known.ParallelLimit
	switch {
	case w.refused && w.peak > 0:
		rec.ParallelLimit = w.peak
	case rec.ParallelLimit > 0 && w.peak > rec.ParallelLimit:
		rec.ParallelLimit = 0 // the server took more this time
	}
	if w.auto {
		rec.Parallel = w.good
		if w.refused && w.peak > 0 {
			rec.Parallel = min(rec.Parallel, w.peak)
		}
	}
	changed := rec.Parallel != w.known.Parallel || rec.ParallelLimit != w.known.ParallelLimit
	return rec, changed
}
