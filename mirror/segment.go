package mirror

import (
	"context"
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
type segFile struct {
	t    *task
	tmp  string
	f    *os.File
	left atomic.Int32 // segments not finished
	bad  atomic.Bool  // a segment failed for good: the file is not committed

	mu    sync.Mutex
	mtime time.Time
	prec  ftpcore.TimePrecision
	got   int64
}

// splitFetch turns a large fetch that is the last thing left into
// Options.Segments segment tasks, so that a single big file does not
// keep all but one connection idle at the end of a run. It returns the
// first segment for the calling worker, or t itself when t is not worth
// splitting.
func (r *runner) splitFetch(t *task) *task {
	n := min(r.opts.Segments, r.parallel())
	e := t.entry
	_, partial := r.partials[t.rel]
	if n < 2 || t.kind != taskFetch || t.verb != VerbFetch || t.attempt > 0 || t.queued != nil ||
		t.dec.replace || partial || e.Size < segmentMin || !r.q.idle() {
		return t
	}
	tmp := tempPath(t.rel)
	f, err := r.root.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return t
	}
	if free := freeSpace(f); free >= 0 && e.Size > free {
		f.Close()
		r.root.Remove(tmp)
		return t // download reports the lack of space
	}
	if p := r.opts.Progress; p != nil {
		p.InFlight.Add(1)
	}
	sf := &segFile{t: t, tmp: tmp, f: f, prec: e.Precision, mtime: e.Time}
	sf.left.Store(int32(n))
	r.log.Debug("fetching in segments", "path", "/"+t.rel, "segments", n, "bytes", e.Size)
	var first *task
	for i := range n {
		st := &task{kind: taskSegment, rel: t.rel, entry: e, verb: VerbFetch, dec: t.dec, seg: sf,
			segStart: e.Size * int64(i) / int64(n), segEnd: e.Size * int64(i+1) / int64(n)}
		if i == 0 {
			first = st
		} else {
			r.q.push(st)
		}
	}
	return first
}

// fetchSegment fetches one segment, and finishes the file if it is the
// last.
func (r *runner) fetchSegment(ctx context.Context, c *ftpcore.Conn, t *task) error {
	sf := t.seg
	want := t.segEnd - t.segStart
	askTime := t.segStart == 0 && t.entry.Precision != ftpcore.TimeExact && !r.noMDTM.Load()
	var xfer *ftpcore.Transfer
	var err error
	if askTime {
		xfer, err = c.RetrModTime(ctx, r.remote(t.rel), t.segStart)
	} else {
		xfer, err = c.Retr(ctx, r.remote(t.rel), t.segStart)
	}
	if err != nil {
		return err
	}
	n, err := r.copySegment(ctx, io.NewOffsetWriter(sf.f, t.segStart), xfer, want, t.segEnd == t.entry.Size)
	// A segment that stops before the end of the file aborts its
	// transfer: Close says ABOR and keeps the connection.
	if cerr := xfer.Close(); err == nil && cerr != nil && (t.segEnd == t.entry.Size || n < want) {
		err = cerr
	}
	if err != nil {
		return err
	}
	if askTime {
		mt, merr := xfer.ModTime()
		sf.mu.Lock()
		if merr == nil {
			if _, p := saneTime(mt, ftpcore.TimeExact, r.now); p == ftpcore.TimeExact {
				sf.mtime, sf.prec = mt, ftpcore.TimeExact
			}
		}
		sf.mu.Unlock()
	}
	sf.mu.Lock()
	sf.got += n
	sf.mu.Unlock()
	r.segmentDone(sf)
	return nil
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
// commits the file, or cleans up after a failed one.
func (r *runner) segmentDone(sf *segFile) {
	if sf.left.Add(-1) != 0 {
		return
	}
	if p := r.opts.Progress; p != nil {
		p.InFlight.Add(-1)
	}
	t := sf.t
	err := sf.f.Close()
	if sf.bad.Load() {
		r.root.Remove(sf.tmp)
		return
	}
	if err == nil && sf.got != t.entry.Size {
		err = fmt.Errorf("%w: segments brought %d of %d bytes", ftpcore.ErrShortTransfer, sf.got, t.entry.Size)
	}
	if err == nil && sf.prec != ftpcore.TimeUnknown {
		err = r.root.Chtimes(sf.tmp, sf.mtime, sf.mtime)
	}
	if err == nil {
		err = r.root.Rename(sf.tmp, t.rel)
	}
	if err == nil {
		rec := state.Record{
			Kind: state.KindFile, Size: t.entry.Size, ModTime: sf.mtime, Precision: uint8(sf.prec),
			ListTime: t.entry.Time, ListPrecision: uint8(t.entry.Precision), Fetched: r.clock(),
		}
		err = r.batch.Add(state.Change{Path: t.rel, Record: rec})
	}
	if err != nil {
		r.root.Remove(sf.tmp)
		r.fail(t.rel, "fetch", err)
		return
	}
	r.fetched.Add(1)
	if p := r.opts.Progress; p != nil {
		p.FilesDone.Add(1)
	}
	r.log.Debug("fetched", "path", "/"+t.rel, "bytes", t.entry.Size, "segmented", true)
}

// segmentFailed records a segment that will not be retried: the file is
// not committed, and counted failed once.
func (r *runner) segmentFailed(t *task, err error) {
	if !t.seg.bad.Swap(true) {
		r.fail(t.rel, "fetch", err)
	}
	r.segmentDone(t.seg)
}
