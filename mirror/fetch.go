package mirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/state"
)

// partialMin is the size from which a download is recorded as partial
// before it starts (one synchronous state write), so that a crash or a
// kill -9 can resume it. Smaller files are fetched again from the start.
const partialMin = 1 << 20

// errTooLong: the server sent more bytes than its listing announced.
var errTooLong = errors.New("server sent more bytes than the listing announced")

// errNoSpace: the target's file system has no room for a file.
var errNoSpace = errors.New("not enough free space")

// fetch downloads one file into a temporary file in the staging
// directory, checks it, and commits it (commit.go).
func (r *runner) fetch(ctx context.Context, c *ftpcore.Conn, t *task, w *workerState) error {
	r.prog.InFlight.Add(1)
	defer r.prog.InFlight.Add(-1)
	if t.dec.replace {
		if err := r.removeKnownTree(t.rel); err != nil {
			return permanent(err)
		}
		t.dec.replace = false
	}
	return r.download(ctx, c, t, w)
}

// tempFile is a download in progress: its temporary file in the
// staging directory (staging.go).
type tempFile struct {
	dir      *os.Root // the staging directory
	tmp      string   // in dir
	f        *os.File // nil once closed
	offset   int64    // where the data goes on: the bytes already there
	partial  bool     // the state has a partial record of the download
	wantTime bool     // MDTM went with the RETR
}

// remove closes and removes the temporary file.
func (d *tempFile) remove() {
	if d.f != nil {
		d.f.Close()
		d.f = nil
	}
	d.dir.Remove(d.tmp)
}

// close closes the file if still open.
func (d *tempFile) close() {
	if d.f != nil {
		d.f.Close()
		d.f = nil
	}
}

// download runs RETR into the temporary file and commits it. It resumes
// from the temporary file when the state says it was started against the
// same remote file, or when an earlier attempt of this run left it, and
// the bytes before the offset, fetched again, are the temporary file's
// (sameOverlap); else it starts over.
func (r *runner) download(ctx context.Context, c *ftpcore.Conn, t *task, w *workerState) error {
	// Commands sent ahead for this fetch but not started (a local error
	// came first) leave the connection out of step: it goes.
	defer t.unqueue()
	d, err := r.openTemp(t)
	if err != nil {
		return err
	}
	defer d.close()
	xfer, err := r.retr(ctx, c, t, d)
	if err != nil {
		if d.offset == 0 && !d.partial {
			// Nothing to resume from: leave no empty temporary file.
			d.remove()
		}
		return err
	}
	if d.offset > 0 {
		r.log.Debug("resuming", "path", "/"+t.rel, "offset", d.offset)
	}
	dg := r.newDigester(xfer.Digest())
	if err := dg.prefix(d.f, d.offset); err != nil {
		xfer.Close()
		return permanent(err)
	}
	n, err := r.receive(ctx, c, t, d, xfer, w, dg.w)
	if err != nil {
		return err
	}
	verified, err := dg.check(n)
	if err != nil {
		d.remove()
		if d.partial {
			r.forgetPartial(t.rel)
		}
		return r.digestFailed(t, err)
	}
	mtime, prec, err := r.exactTime(t, xfer, d.wantTime)
	if err != nil {
		return err
	}
	return r.commit(fetched{rel: t.rel, tmp: d.tmp, entry: t.entry,
		size: n, mtime: mtime, prec: prec, partial: d.partial, resumed: t.verb == VerbResume,
		digest: dg.sum(), verified: verified})
}

// openTemp opens the temporary file of t's download in the staging
// directory: at its end to resume, or emptied to start over.
func (r *runner) openTemp(t *task) (*tempFile, error) {
	e, rel := t.entry, t.rel
	dr, err := r.staging()
	if err != nil {
		return nil, permanent(err)
	}
	d := &tempFile{dir: dr, tmp: tempName(rel)}
	p, hadPartial := r.partials[rel]
	d.partial = hadPartial
	// A temporary file of segments has holes: its size says nothing. A
	// server without REST cannot resume.
	resumable := len(p.Segments) == 0 && !r.srv.noREST.Load()
	if (t.verb == VerbResume || t.attempt > 0) && e.Size > 0 && resumable {
		if fi, err := dr.Lstat(d.tmp); err == nil && fi.Mode().IsRegular() && fi.Size() < e.Size {
			d.offset = fi.Size()
		}
	}
	flag := os.O_RDWR | os.O_CREATE // read back for sameOverlap
	if d.offset == 0 {
		flag |= os.O_TRUNC
	}
	if d.f, err = dr.OpenFile(d.tmp, flag, 0o644); err != nil {
		return nil, permanent(err)
	}
	if err := r.prepareTemp(t, d); err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

// prepareTemp checks that what is left of the file fits, moves to the
// offset, and records a large download as partial before its first
// byte.
func (r *runner) prepareTemp(t *task, d *tempFile) error {
	e := t.entry
	// A file that cannot fit is not started: filling the disk would
	// break more than this mirror. The size is only compared, never
	// allocated, so a server that lies about it costs nothing.
	if need := e.Size - d.offset; need > 0 {
		if free := freeSpace(d.f); free >= 0 && need > free {
			if d.offset == 0 {
				d.remove()
			}
			return permanent(fmt.Errorf("%w: %d bytes to fetch, %d free in the target", errNoSpace, need, free))
		}
	}
	if d.offset > 0 {
		if _, err := d.f.Seek(d.offset, io.SeekStart); err != nil {
			return permanent(err)
		}
	}
	if d.offset == 0 && e.Size >= partialMin && !d.partial {
		p := state.Partial{Size: e.Size, ModTime: e.Time, Precision: uint8(e.Precision), Temp: tempPath(t.rel), Started: r.clock()}
		if err := r.w.store.PutPartial(t.rel, p); err != nil {
			return permanent(err)
		}
		d.partial = true
	}
	return nil
}

// retr starts the transfer into d: the one sent ahead behind the last
// fetch, or a RETR from d's offset less resumeOverlap bytes, which are
// compared with what d holds (sameOverlap). It starts over from byte 0
// when the server refuses REST or the overlap differs.
func (r *runner) retr(ctx context.Context, c *ftpcore.Conn, t *task, d *tempFile) (*ftpcore.Transfer, error) {
	rp := r.remote(t.rel)
	// Where the listing's time is not exact, MDTM goes with RETR, in the
	// same round trip on a pipelining connection.
	d.wantTime = t.entry.Precision != ftpcore.TimeExact && !r.noMDTM.Load()
	retr := func(ctx context.Context, path string, offset int64) (*ftpcore.Transfer, error) {
		return c.RetrWith(ctx, path, offset, r.retrOptions(d.wantTime))
	}
	var xfer *ftpcore.Transfer
	var err error
	overlap := min(d.offset, resumeOverlap)
	if p := t.queued; p != nil {
		t.queued = nil
		d.wantTime = t.queuedTime
		xfer, err = p.Start(ctx)
	} else {
		xfer, err = retr(ctx, rp, d.offset-overlap)
	}
	restart := err != nil && d.offset > 0 && restRefused(err)
	if restart {
		// REST refused: start over, and do not ask again.
		r.restRefused(t.rel, err)
	}
	if err == nil && overlap > 0 {
		same, oerr := sameOverlap(d.f, xfer, d.offset-overlap, overlap)
		if oerr != nil {
			xfer.Close()
			return nil, oerr
		}
		if !same {
			r.log.Debug("remote file changed since the interrupted download; fetching from the start", "path", "/"+t.rel)
			if err := xfer.Close(); err != nil && c.Err() != nil {
				return nil, err
			}
			restart = true
		}
	}
	if !restart {
		return xfer, err
	}
	d.offset = 0
	if err := d.f.Truncate(0); err != nil {
		return nil, permanent(err)
	}
	if _, err := d.f.Seek(0, io.SeekStart); err != nil {
		return nil, permanent(err)
	}
	return retr(ctx, rp, 0)
}

// receive copies the transfer into d (no more than the listed size) and
// hw (the digests),
// sends the worker's next fetch behind it, closes both, and checks that
// the server sent the whole file and confirmed it. It returns the file's
// size.
func (r *runner) receive(ctx context.Context, c *ftpcore.Conn, t *task, d *tempFile, xfer *ftpcore.Transfer, w *workerState, hw io.Writer) (int64, error) {
	e := t.entry
	n, copyErr := r.copy(ctx, io.MultiWriter(newWriteback(d.f, d.f, d.offset), hw), xfer, e.Size-d.offset)
	if copyErr == nil {
		r.queueNext(ctx, c, xfer, w)
	}
	xferErr := xfer.Close()
	closeErr := closeFetched(d.f)
	d.f = nil
	total := d.offset + n
	switch {
	case errors.Is(copyErr, errTooLong):
		// Whatever the server is sending, it is not the file it listed:
		// keep none of it.
		d.dir.Remove(d.tmp)
		if d.partial {
			r.forgetPartial(t.rel)
		}
		return 0, permanent(fmt.Errorf("%w (%d bytes): it changed while fetched, or the server lies", copyErr, e.Size))
	case copyErr != nil:
		var pe *permanentError
		if errors.As(copyErr, &pe) && !d.partial {
			// A local write failed (a full disk): no later attempt
			// resumes this, and the space is better given back.
			d.dir.Remove(d.tmp)
		}
		return 0, copyErr
	case xferErr != nil:
		return 0, xferErr
	case closeErr != nil:
		return 0, permanent(closeErr)
	case e.Size >= 0 && total != e.Size:
		return 0, fmt.Errorf("%w: got %d of %d bytes, yet the server confirmed the transfer", ftpcore.ErrShortTransfer, total, e.Size)
	}
	return total, nil
}

// queueNext sends the commands of the worker's next fetch behind the
// transfer that just ended, before its final reply is read: the server
// answers them right after it, and a round trip per file is saved. Only
// plain fetches go ahead like that (from the start, no adoption to
// confirm, nothing in the way). It goes in the run's mode: a worker that
// always has its next fetch queued would otherwise never follow mode
// auto's switch (followMode).
func (r *runner) queueNext(ctx context.Context, c *ftpcore.Conn, xfer *ftpcore.Transfer, w *workerState) {
	if w == nil || w.next != nil || r.ftpConfig().DisablePipelining {
		return
	}
	nt := r.q.popFetchIf(func(t *task) bool {
		_, partial := r.partials[t.rel]
		return t.kind == taskFetch && t.verb == VerbFetch && t.attempt == 0 && !t.dec.replace &&
			t.queued == nil && !partial && t.entry.Size >= 0
	})
	if nt == nil {
		return
	}
	want := nt.entry.Precision != ftpcore.TimeExact && !r.noMDTM.Load()
	r.followMode(c)
	p, err := xfer.NextWith(ctx, r.remote(nt.rel), 0, r.retrOptions(want))
	if err != nil {
		r.q.requeue(nt)
		return
	}
	nt.queued, nt.queuedTime = p, want
	w.next = nt
}

// exactTime returns the time the local file gets: the listing's when it
// is exact (MLSD), else MDTM's; the listing's coarse time when the server
// has no MDTM.
func (r *runner) exactTime(t *task, xfer *ftpcore.Transfer, asked bool) (time.Time, ftpcore.TimePrecision, error) {
	e := t.entry
	if e.Precision == ftpcore.TimeExact {
		return e.Time, ftpcore.TimeExact, nil
	}
	if asked {
		mt, err := xfer.ModTime()
		mt, ok, err := r.mdtm(t.rel, mt, err)
		if err != nil {
			return time.Time{}, 0, err
		}
		if ok {
			r.clockSample(e, mt)
			return mt, ftpcore.TimeExact, nil
		}
	}
	return e.Time, e.Precision, nil
}

// mdtm judges an MDTM answer: ok with a sane time; not ok, without an
// error, when the server has no MDTM (remembered: not asked again) or
// has no usable time for this file (550, an absurd time); an error when
// the connection failed.
func (r *runner) mdtm(rel string, mt time.Time, err error) (time.Time, bool, error) {
	if _, prec := saneTime(mt, ftpcore.TimeExact, r.now); err == nil && prec == ftpcore.TimeUnknown {
		err = fmt.Errorf("MDTM: %w: absurd time %v", ftpcore.ErrProtocol, mt)
	}
	var fe *ftpcore.Error
	switch {
	case err == nil:
		return mt, true, nil
	case errors.As(err, &fe) && (fe.Code == 500 || fe.Code == 502):
		r.noMDTM.Store(true)
	case errors.As(err, &fe), errors.Is(err, ftpcore.ErrProtocol):
		r.log.Debug("no usable MDTM", "path", "/"+rel, "err", err)
	default:
		return time.Time{}, false, err
	}
	return time.Time{}, false, nil
}

// confirm settles an adoption that the listing's coarse time cannot:
// the file is adopted if MDTM gives the local file's time, else fetched.
func (r *runner) confirm(ctx context.Context, c *ftpcore.Conn, t *task) error {
	adopted, err := r.confirmAdopt(ctx, c, t)
	if err != nil || adopted {
		return err
	}
	d := t.dec
	d.verb, d.reason, d.confirm = VerbFetch, "local file differs", false
	r.planFetch(&task{kind: taskFetch, rel: t.rel, entry: t.entry, verb: VerbFetch, dec: d, links: t.links})
	return nil
}

// confirmAdopt checks with MDTM that a local file whose size matches has
// the remote time too, and adopts it if so.
func (r *runner) confirmAdopt(ctx context.Context, c *ftpcore.Conn, t *task) (bool, error) {
	e := t.entry
	l, err := r.view.lstat(t.rel)
	if err != nil {
		return false, permanent(err)
	}
	if !l.isFile() || l.size != e.Size {
		return false, nil
	}
	if !r.noMDTM.Load() {
		mt, err := c.ModTime(ctx, r.remote(t.rel))
		mt, ok, err := r.mdtm(t.rel, mt, err)
		if ok {
			r.clockSample(e, mt)
		}
		switch {
		case err != nil:
			return false, err
		case ok && sameTime(l.mtime, mt, ftpcore.TimeExact, r.loc):
			r.adopt(t.rel, adoptRecord(e, mt, ftpcore.TimeExact, r.now), "size and MDTM time match")
			return true, nil
		case ok, !r.noMDTM.Load():
			// A different time, or none for this file: fetch it.
			return false, nil
		}
	}
	if t.dec.listMatch {
		r.adopt(t.rel, adoptRecord(e, l.mtime, e.Precision, r.now), "size and listing time match")
		return true, nil
	}
	return false, nil
}

// copy copies at most want+1 bytes (all, if want is negative) from src
// to dst, within the rate limit, counting progress. More than want bytes
// is errTooLong.
func (r *runner) copy(ctx context.Context, dst io.Writer, src io.Reader, want int64) (int64, error) {
	if want >= 0 {
		src = io.LimitReader(src, want+1)
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var n, mark int64
	for {
		chunk := buf
		if r.limiter != nil && len(chunk) > r.limiter.Burst() {
			chunk = chunk[:r.limiter.Burst()]
		}
		m, rerr := src.Read(chunk)
		if m > 0 {
			if want >= 0 && n+int64(m) > want {
				return n, errTooLong
			}
			if r.limiter != nil {
				if err := r.limiter.WaitN(ctx, m); err != nil {
					return n, err
				}
			}
			if _, err := dst.Write(chunk[:m]); err != nil {
				return n, permanent(fmt.Errorf("write: %w", err))
			}
			n += int64(m)
			if n-mark >= progressBytes {
				r.markProgress()
				mark = n
			}
			r.bytes.Add(int64(m))
			r.prog.BytesDone.Add(int64(m))
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// copyBufs holds the buffers of copy: one per transfer in flight rather
// than a new 256 KiB per file (1.25 GiB of garbage for 5,000 small files).
var copyBufs = sync.Pool{New: func() any {
	b := make([]byte, 256<<10)
	return &b
}}
