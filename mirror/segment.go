package mirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/state"
)

// segmentMin is the size from which a file may be fetched in segments.
const segmentMin = 32 << 20

// segFile is a file fetched in segments over several connections (like
// lftp's pget -n): each segment is a RETR from its start offset (REST)
// that stops at the next segment's start; all write into one temporary
// file, and the last segment to finish renames it into place.
//
// How far each segment got is kept in the state (state.Partial's
// Segments) when the run is interrupted or a segment fails, so that the
// next run fetches only the holes.
type segFile struct {
	t    *task
	tmp  string
	f    *os.File
	segs []state.Segment // the byte ranges; Done is in done
	done []atomic.Int64  // bytes written of each segment, from its Start
	ask  int             // the segment that asks MDTM (the first one fetched)

	left    atomic.Int32 // segments not finished
	bad     atomic.Bool  // the data cannot be trusted: discard the file
	keep    atomic.Bool  // interrupted, or a segment failed: keep what came
	failed  atomic.Bool  // the file was counted failed
	noREST  atomic.Bool  // REST refused: fetch the file again in one stream
	unsaved atomic.Int64 // bytes written since the progress was last recorded
	resumed bool         // the segments continue an earlier run's

	mu    sync.Mutex
	mtime time.Time
	prec  ftpcore.TimePrecision
	// The server's digest of the file, asked with the segment that
	// asks MDTM: see ftpcore.Transfer.Digest.
	want    ftpcore.Digest
	wantErr error
}

// splitFetch turns a large fetch that is the last thing left into
// Options.Segments segment tasks, so that a single big file does not
// keep all but one connection idle at the end of a run; and an
// interrupted download in segments into tasks for its holes. It returns
// the first segment for the calling worker, or t itself when t is not
// worth splitting.
func (r *runner) splitFetch(t *task) *task {
	if t.kind != taskFetch || t.attempt > 0 || t.queued != nil || r.dryRun() || r.srv.noREST.Load() {
		return t
	}
	p, partial := r.partials[t.rel]
	if partial && len(p.Segments) > 0 && t.verb == VerbResume {
		if first := r.resumeSegments(t, p); first != nil {
			return first
		}
		return t // download fetches it from the start
	}
	n := min(r.opts.Segments, r.parallel())
	e := t.entry
	if n < 2 || t.verb != VerbFetch || t.dec.replace || partial || e.Size < segmentMin || !r.q.idle() {
		return t
	}
	tmp := tempName(t.rel)
	st, err := r.staging()
	if err != nil {
		return t // download reports it
	}
	f, err := st.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return t
	}
	if free := freeSpace(f); free >= 0 && e.Size > free {
		f.Close()
		st.Remove(tmp)
		return t // download reports the lack of space
	}
	segs := make([]state.Segment, n)
	for i := range segs {
		segs[i] = state.Segment{Start: e.Size * int64(i) / int64(n), End: e.Size * int64(i+1) / int64(n)}
	}
	// Recorded before the first byte, so that even a kill -9 leaves a
	// record that the next run finds (and that resumes nothing).
	if err := r.w.store.PutPartial(t.rel, r.segPartial(t, segs)); err != nil {
		f.Close()
		st.Remove(tmp)
		return t
	}
	r.log.Debug("fetching in segments", "path", "/"+t.rel, "segments", n, "bytes", e.Size)
	return r.segmentTasks(&segFile{t: t, tmp: tmp, f: f, segs: segs, done: make([]atomic.Int64, n)})
}

// segPartial is the state's record of a download in segments.
func (r *runner) segPartial(t *task, segs []state.Segment) state.Partial {
	e := t.entry
	return state.Partial{Size: e.Size, ModTime: e.Time, Precision: uint8(e.Precision), Temp: tempPath(t.rel),
		Started: r.clock(), Segments: segs}
}

// resumeSegments continues an interrupted download in segments: a task
// for each segment not finished, from where it stopped. It returns nil
// when the temporary file does not hold what the state says.
func (r *runner) resumeSegments(t *task, p state.Partial) *task {
	e := t.entry
	tmp := tempName(t.rel)
	if p.Temp != tempPath(t.rel) || p.Size != e.Size {
		return nil
	}
	st, err := r.staging()
	if err != nil {
		return nil
	}
	f, err := st.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return nil
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > e.Size {
		f.Close()
		return nil
	}
	sf := &segFile{t: t, tmp: tmp, f: f, segs: p.Segments, done: make([]atomic.Int64, len(p.Segments)), resumed: true}
	var have int64
	for i, sg := range p.Segments {
		if sg.Start+sg.Done <= fi.Size() { // else the bytes are not there
			sf.done[i].Store(sg.Done)
			have += sg.Done
		}
	}
	if have == e.Size {
		// All there, but not committed: fetch the last byte again, so
		// that one task finishes the file.
		last := len(sf.done) - 1
		sf.done[last].Add(-1)
		have--
	}
	r.log.Debug("resuming in segments", "path", "/"+t.rel, "bytes", e.Size-have, "of", e.Size)
	return r.segmentTasks(sf)
}

// segmentTasks queues a task for each segment of sf with bytes missing
// and returns the first for the calling worker.
func (r *runner) segmentTasks(sf *segFile) *task {
	t := sf.t
	sf.mtime, sf.prec = t.entry.Time, t.entry.Precision // until MDTM says better
	r.prog.InFlight.Add(1)
	var first *task
	for i, sg := range sf.segs {
		if sg.Start+sf.done[i].Load() == sg.End {
			continue
		}
		st := &task{kind: taskSegment, rel: t.rel, entry: t.entry, verb: t.verb, dec: t.dec, seg: sf,
			segIdx: i, segStart: sg.Start, segEnd: sg.End}
		sf.left.Add(1)
		if first == nil {
			first = st
			sf.ask = i
		} else {
			r.q.push(st)
		}
	}
	return first
}

// fetchSegment fetches what is missing of one segment, and finishes the
// file if it is the last.
func (r *runner) fetchSegment(ctx context.Context, c *ftpcore.Conn, t *task) error {
	sf := t.seg
	done := &sf.done[t.segIdx]
	start := t.segStart + done.Load()
	want := t.segEnd - start
	last := t.segEnd == t.entry.Size
	askTime := t.segIdx == sf.ask && t.entry.Precision != ftpcore.TimeExact && !r.noMDTM.Load()
	var opts ftpcore.RetrOptions
	if t.segIdx == sf.ask {
		opts = r.retrOptions(askTime)
	}
	xfer, err := c.RetrWith(ctx, r.remote(t.rel), start, opts)
	if err != nil {
		if start > 0 && restRefused(err) {
			r.restRefused(t.rel, err)
			sf.noREST.Store(true)
			r.segmentDone(sf)
			return nil
		}
		return err
	}
	cw := &countWriter{w: newWriteback(sf.f, io.NewOffsetWriter(sf.f, start), start), n: done, after: func(n int) { r.segmentProgress(sf, n) }}
	n, err := r.copySegment(ctx, cw, xfer, want, last)
	// A segment that stops before the end of the file aborts its
	// transfer: Close says ABOR and keeps the connection.
	if cerr := xfer.Close(); err == nil && cerr != nil && (last || n < want) {
		err = cerr
	}
	if err != nil {
		return err
	}
	if t.segIdx == sf.ask {
		sf.mu.Lock()
		sf.want, sf.wantErr = xfer.Digest()
		sf.mu.Unlock()
	}
	if askTime {
		// As for a whole fetch (exactTime): a server without MDTM is
		// not asked again. A connection that failed after the data
		// came is dropped by the worker; the listing's time stays.
		mt, merr := xfer.ModTime()
		if mt, ok, _ := r.mdtm(t.rel, mt, merr); ok {
			r.clockSample(t.entry, mt)
			sf.mu.Lock()
			sf.mtime, sf.prec = mt, ftpcore.TimeExact
			sf.mu.Unlock()
		}
	}
	r.segmentDone(sf)
	return nil
}

// countWriter counts the bytes written through it, and calls after
// with the count of each write.
type countWriter struct {
	w     io.Writer
	n     *atomic.Int64
	after func(int)
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	c.after(n)
	return n, err
}

// segSaveEvery is how many new bytes of a file in segments make its
// progress recorded again during the run, so that a run killed without
// a chance to save (SIGKILL, a power cut) loses at most that much per
// file, not all of it.
const segSaveEvery = 16 << 20

// segmentProgress counts n new bytes of sf and records the progress
// every segSaveEvery.
func (r *runner) segmentProgress(sf *segFile, n int) {
	if sf.unsaved.Add(int64(n)) < segSaveEvery {
		return
	}
	sf.unsaved.Store(0)
	if err := r.saveSegments(sf); err != nil {
		r.log.Warn("saving the progress of segments failed", "path", "/"+sf.t.rel, "err", err)
	}
}

// restRefused reports whether err is a server's refusal of REST (502 not
// implemented, or another 5xx).
func restRefused(err error) bool {
	var fe *ftpcore.Error
	return errors.As(err, &fe) && fe.Cmd == "REST" && fe.Code/100 == 5
}

// restRefused remembers that the server has no REST: from now on (and in
// later runs, through the state) files are fetched in one stream from the
// start, without segments, and interrupted ones start over.
func (r *runner) restRefused(rel string, err error) {
	if !r.srv.noREST.Swap(true) {
		r.log.Warn("server refuses REST: no segments, no resume", "path", "/"+rel, "err", err)
	}
}

// copySegment copies want bytes from src to dst; at the end of the file
// (last) it also checks that nothing more comes.
func (r *runner) copySegment(ctx context.Context, dst io.Writer, src io.Reader, want int64, last bool) (int64, error) {
	limit := want
	if last {
		limit++
	}
	n, err := r.copy(ctx, dst, io.LimitReader(src, limit), -1)
	switch {
	case err != nil:
		return n, err
	case n > want:
		return n, permanent(fmt.Errorf("%w (%d bytes)", errTooLong, want))
	case n < want:
		return n, fmt.Errorf("%w: segment got %d of %d bytes", ftpcore.ErrShortTransfer, n, want)
	}
	return n, nil
}

// segmentDone counts a finished segment (well or not); the last one
// commits the file, keeps what came for the next run, cleans up after
// one whose data cannot be trusted, or queues the file again in one
// stream when the server refused REST.
func (r *runner) segmentDone(sf *segFile) {
	if sf.left.Add(-1) != 0 {
		return
	}
	r.prog.InFlight.Add(-1)
	t := sf.t
	_, got := sf.progress()
	switch {
	case sf.bad.Load(), sf.noREST.Load():
		sf.f.Close()
		r.w.stage.Load().Remove(sf.tmp)
		r.forgetPartial(t.rel)
		if sf.noREST.Load() && !sf.bad.Load() {
			r.q.push(&task{kind: taskFetch, rel: t.rel, entry: t.entry, verb: VerbFetch, dec: t.dec, links: t.links})
		}
		return
	case sf.keep.Load() || got != t.entry.Size:
		err := r.saveSegments(sf)
		if cerr := sf.f.Close(); err == nil {
			err = cerr
		}
		if err == nil && got != t.entry.Size && !sf.keep.Load() {
			err = fmt.Errorf("%w: segments brought %d of %d bytes", ftpcore.ErrShortTransfer, got, t.entry.Size)
		}
		if err != nil && !sf.failed.Swap(true) {
			r.fail(t.rel, "fetch", err)
		}
		return
	}
	r.commitSegments(sf)
}

// commitSegments checks the digest of a file whose segments all came,
// and commits it.
func (r *runner) commitSegments(sf *segFile) {
	t := sf.t
	dg := r.newDigester(sf.want, sf.wantErr)
	err := dg.prefix(sf.f, t.entry.Size)
	verified, derr := dg.check(t.entry.Size)
	if cerr := closeFetched(sf.f); err == nil {
		err = cerr
	}
	if err == nil && derr != nil {
		r.w.root.Remove(sf.tmp)
		r.forgetPartial(t.rel)
		err = r.digestFailed(t, derr)
		if err == nil {
			return
		}
	}
	if err == nil {
		err = r.commit(fetched{rel: t.rel, tmp: sf.tmp, entry: t.entry,
			size: t.entry.Size, mtime: sf.mtime, prec: sf.prec, partial: true, resumed: sf.resumed, segmented: true,
			digest: dg.sum(), verified: verified})
	}
	if err != nil {
		r.w.stage.Load().Remove(sf.tmp)
		r.fail(t.rel, "fetch", err)
	}
}

// progress returns the segments with how far each got, and the total.
func (sf *segFile) progress() ([]state.Segment, int64) {
	var got int64
	segs := make([]state.Segment, len(sf.segs))
	for i, sg := range sf.segs {
		sg.Done = sf.done[i].Load()
		got += sg.Done
		segs[i] = sg
	}
	return segs, got
}

// saveSegments records how far each segment got, for the next run: the
// bytes counted are made durable first. Other segments may be writing.
func (r *runner) saveSegments(sf *segFile) error {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	segs, _ := sf.progress()
	if err := sf.f.Sync(); err != nil {
		return err
	}
	return r.w.store.PutPartial(sf.t.rel, r.segPartial(sf.t, segs))
}

// segmentFailed records a segment that will not be retried: the file is
// not committed, and counted failed once. What the segments brought is
// kept for the next run, unless the failure says the data is wrong.
func (r *runner) segmentFailed(t *task, err error) {
	if isTransient(err) {
		t.seg.keep.Store(true)
	} else {
		t.seg.bad.Store(true)
	}
	if !t.seg.failed.Swap(true) {
		r.fail(t.rel, "fetch", err)
	}
	r.segmentDone(t.seg)
}
