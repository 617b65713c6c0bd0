package mirror

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/state"
)

// Clock calibration. A LIST time is the server's local time (read in
// Options.FTP.Location), MDTM's is UTC: comparing both for the same
// files gives the server's offset (ftpcore.ZoneOffset), which is kept in
// state.Server. It turns a listing time into a real one where a listing
// time meets real time: the ages of -min-age/-max-age, and the local
// file's time when an existing tree is adopted. Change detection never
// uses it: records keep the listing time as listed, compared like with
// like, so a newly learned offset changes no file.

const (
	// maxClockSamples bounds the files whose LIST and MDTM times a run
	// compares: the most recent are kept, whose zone is the current one.
	maxClockSamples = 5
	// minClockSamples is how many files must agree before an offset is
	// learned, or a stored one replaced.
	minClockSamples = 3
	// maxCalibrations bounds the listings whose recent files get MDTMs
	// of their own while the offset is unknown.
	maxCalibrations = 3
)

// clockSample is one file's LIST time and what it is ahead of MDTM's.
type clockSample struct {
	list time.Time
	off  time.Duration
}

// serverClock is the server's clock offset: as stored, as learned, and
// this run's samples.
type serverClock struct {
	known  atomic.Bool  // offset is usable
	offset atomic.Int64 // time.Duration

	mu      sync.Mutex
	stored  state.Server  // the clock fields as loaded
	samples []clockSample // most recent LIST time first
	learned *state.Server // the clock fields learned in this run, if any
	tries   int           // calibrations done (calMu)
	calMu   sync.Mutex    // one calibration at a time
}

// load starts from what an earlier run learned.
func (k *serverClock) load(rec state.Server) {
	k.stored = rec
	if !rec.ClockLearned.IsZero() {
		k.offset.Store(int64(rec.ClockOffset))
		k.known.Store(true)
	}
}

// get returns the offset, and whether it is known.
func (k *serverClock) get() (time.Duration, bool) {
	return time.Duration(k.offset.Load()), k.known.Load()
}

// realTime returns the UTC time of a listing's time: less the offset
// for a LIST time (minute or day), when the offset is known.
func (k *serverClock) realTime(e ftpcore.Entry) time.Time {
	if off, ok := k.get(); ok && (e.Precision == ftpcore.TimeMinute || e.Precision == ftpcore.TimeDay) {
		return e.Time.Add(-off)
	}
	return e.Time
}

// clockSample notes a file's LIST time (minute precision) and MDTM time.
// While no offset is known, enough files that agree teach it at once,
// so that the rest of the run plans with it.
func (r *runner) clockSample(e ftpcore.Entry, mdtm time.Time) {
	if e.Precision != ftpcore.TimeMinute {
		return
	}
	k := &r.clk
	k.mu.Lock()
	defer k.mu.Unlock()
	s := clockSample{list: e.Time, off: ftpcore.ListOffset(e.Time, mdtm)}
	i, _ := slices.BinarySearchFunc(k.samples, s, func(a, b clockSample) int { return b.list.Compare(a.list) })
	if i >= maxClockSamples {
		return
	}
	k.samples = slices.Insert(k.samples, i, s)
	k.samples = k.samples[:min(len(k.samples), maxClockSamples)]
	if k.known.Load() {
		return // checked against the stored offset at the end (clockLearned)
	}
	if off, n, ok := k.agreed(); ok {
		k.learned = &state.Server{ClockOffset: off, ClockLearned: r.now, ClockSamples: n}
		k.offset.Store(int64(off))
		k.known.Store(true)
		r.log.Info("server clock offset learned", "offset", off, "samples", n)
	}
}

// agreed returns the offset the samples agree on, if there are enough.
// k.mu is held.
func (k *serverClock) agreed() (time.Duration, int, bool) {
	if len(k.samples) < minClockSamples {
		return 0, 0, false
	}
	offs := make([]time.Duration, len(k.samples))
	for i, s := range k.samples {
		offs[i] = s.off
	}
	off, ok := ftpcore.ZoneOffset(offs)
	return off, len(offs), ok
}

// clockLearned sets rec's clock fields for saveServer: as stored, or as
// learned in this run. A stored offset that this run's files contradict
// (summer time began or ended, the server moved) is replaced, with a
// warning. It reports whether they changed.
func (r *runner) clockLearned(rec state.Server) (state.Server, bool) {
	k := &r.clk
	k.mu.Lock()
	defer k.mu.Unlock()
	rec.ClockOffset, rec.ClockLearned, rec.ClockSamples = k.stored.ClockOffset, k.stored.ClockLearned, k.stored.ClockSamples
	if k.learned == nil && !k.stored.ClockLearned.IsZero() {
		if off, n, ok := k.agreed(); ok && off != k.stored.ClockOffset {
			r.log.Warn("server clock offset changed; relearned", "old", k.stored.ClockOffset, "new", off, "samples", n)
			k.learned = &state.Server{ClockOffset: off, ClockLearned: r.now, ClockSamples: n}
		}
	}
	if k.learned == nil {
		return rec, false
	}
	rec.ClockOffset, rec.ClockLearned, rec.ClockSamples = k.learned.ClockOffset, k.learned.ClockLearned, k.learned.ClockSamples
	return rec, true
}

// learnedZone names the offset this run learned or relearned, if any.
func (k *serverClock) learnedZone() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.learned == nil {
		return ""
	}
	return ftpcore.ZoneName(k.learned.ClockOffset)
}

// calibrate asks MDTM, in one round trip, for the most recent files of a
// LIST listing of directory rel whose times show the minute, while the
// offset is unknown: before their directory is planned, so that its
// ages and adoptions use it. Other listings wait for it. It is only
// worth trying: a refused MDTM is no sample, and a connection that broke
// is left for the worker to drop (put) while the listing goes on.
func (r *runner) calibrate(ctx context.Context, c *ftpcore.Conn, rel string, entries []ftpcore.Entry) {
	k := &r.clk
	if k.known.Load() || r.noMDTM.Load() {
		return
	}
	var files []ftpcore.Entry
	for _, e := range entries {
		// A name holding CR or LF cannot be an argument (ftpcore
		// refuses to send it), and would stop the whole write.
		if _, p := saneTime(e.Time, e.Precision, r.now); e.Type == ftpcore.TypeFile && p == ftpcore.TimeMinute &&
			checkName(e.Name) == nil && !strings.ContainsAny(r.remote(joinRel(rel, e.Name)), "\r\n") {
			files = append(files, e)
		}
	}
	if len(files) == 0 {
		return
	}
	k.calMu.Lock()
	defer k.calMu.Unlock()
	if k.known.Load() || r.noMDTM.Load() || k.tries >= maxCalibrations {
		return
	}
	k.tries++
	slices.SortStableFunc(files, func(a, b ftpcore.Entry) int { return b.Time.Compare(a.Time) })
	files = files[:min(len(files), maxClockSamples)]
	paths := make([]string, len(files))
	for i, e := range files {
		paths[i] = r.remote(joinRel(rel, e.Name))
	}
	times, errs := c.ModTimes(ctx, paths)
	for i, e := range files {
		mt, ok, err := r.mdtm(joinRel(rel, e.Name), times[i], errs[i])
		if err != nil {
			r.log.Debug("clock calibration stopped", "path", "/"+rel, "err", err)
			return
		}
		if ok {
			r.clockSample(e, mt)
		}
	}
}
