package mirror

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/state"
)

// compareDir decides about the entries of directory t.rel: which to
// fetch, which subdirectories to list, what is unchanged, and which
// known paths are gone (deletion candidates, acted on after the walk).
//
// bad, if not nil, holds the lines of the listing that gave no entry:
// each is one failure, and the listing is incomplete, so nothing in the
// directory is a deletion candidate in this run. (A line can stand for
// any name, and a subdirectory left out of a listing would take its
// whole subtree with it.)
func (r *runner) compareDir(ctx context.Context, t *task, entries []ftpcore.Entry, bad *ftpcore.ListError) error {
	known, err := r.db.Children(t.rel)
	if err != nil {
		return err
	}
	r.removeStaleTemps(t.rel)
	if bad != nil {
		r.failLines(t.rel, bad)
	} else if len(entries) == 0 && r.emptyDirWanted(t.rel) {
		r.needDir(t.rel)
	}
	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		rel := joinRel(t.rel, e.Name)
		if err := checkName(e.Name); err != nil {
			r.fail(rel, "refuse", fmt.Errorf("in %s: %w", QuotePath(r.remote(t.rel)), err))
			seen[e.Name] = true // never a reason to delete what is there
			continue
		}
		if reservedName(t.rel, e.Name) {
			// Mirrored, it would write into the staging directory, and
			// its deletion would delete it (staging.go).
			r.log.Warn("not mirrored: the name of ftpmirror's staging directory", "path", "/"+rel)
			r.skip(rel, "name of the staging directory")
			seen[e.Name] = true
			continue
		}
		if seen[e.Name] {
			r.fail(rel, "refuse", fmt.Errorf("in %s: name %q listed twice", QuotePath(r.remote(t.rel)), e.Name))
			continue
		}
		seen[e.Name] = true
		e.Time, e.Precision = saneTime(e.Time, e.Precision, r.now)
		var rec *state.Record
		if k, ok := known[e.Name]; ok {
			rec = &k
		}
		switch e.Type {
		case ftpcore.TypeDir:
			r.planDir(rel, e, rec, t.links)
		case ftpcore.TypeFile:
			r.listed.Add(1)
			r.planFile(rel, e, rec, t.links)
		case ftpcore.TypeSymlink:
			r.listed.Add(1)
			r.planLink(rel, e, rec, t.links)
		default:
			r.skip(rel, "not a file, directory or link")
		}
	}
	kept := 0
	for name, rec := range known {
		rel := joinRel(t.rel, name)
		if seen[name] || reservedName(t.rel, name) || r.filter.excluded(rel) || (rec.Kind != state.KindDir && !r.filter.file(rel)) {
			continue
		}
		if bad != nil {
			kept++
			continue
		}
		r.mu.Lock()
		r.deletes = append(r.deletes, deletion{rel: rel, kind: rec.Kind})
		r.mu.Unlock()
	}
	if kept > 0 {
		r.log.Info("gone remotely, kept: listing incomplete", "path", "/"+t.rel, "paths", kept)
	}
	return nil
}

func (r *runner) skip(rel, reason string) {
	r.skipped.Add(1)
	r.log.Debug("skip", "path", "/"+rel, "reason", reason)
	r.report(Action{Verb: VerbSkip, Path: rel, Reason: reason})
}

// planDir checks that nothing foreign is in the way of the local
// directory and queues its listing. The directory itself is made only
// when something is mirrored into it (needDir), or when it is empty
// remotely too (listDir).
func (r *runner) planDir(rel string, e ftpcore.Entry, rec *state.Record, links int) {
	if r.filter.excluded(rel) {
		r.skip(rel, "excluded")
		return
	}
	if r.checkDir(rel, rec) {
		r.claimAhead(rel, links)
	}
}

// checkDir looks at what the target holds where the remote tree has the
// directory rel. An existing directory is recorded as the mirror's; a
// file or link that the mirror made will be replaced (needDir); one it
// did not make fails the directory.
func (r *runner) checkDir(rel string, rec *state.Record) bool {
	l, err := r.view.lstat(rel)
	switch {
	case err != nil:
		r.fail(rel, "mkdir", err)
		return false
	case l.isDir():
		if rec == nil || rec.Kind != state.KindDir {
			r.recordDir(rel)
		} else {
			r.made.add(rel)
		}
	case l.exists && (rec == nil || rec.Kind == state.KindDir):
		r.fail(rel, "mkdir", errors.New("a local file or link that ftpmirror did not make is in the way of a directory"))
		return false
	}
	return true
}

// planFile decides about one remote file and queues its fetch.
func (r *runner) planFile(rel string, e ftpcore.Entry, rec *state.Record, links int) {
	if !r.filter.file(rel) {
		r.skip(rel, "filtered")
		return
	}
	if r.opts.MaxSize > 0 && e.Size > r.opts.MaxSize {
		r.skip(rel, fmt.Sprintf("larger than %d bytes", r.opts.MaxSize))
		return
	}
	if e.Precision != ftpcore.TimeUnknown {
		// A LIST time is the server's local time: its age is the real
		// one only less the server's offset (clock.go).
		age := r.now.Sub(r.clk.realTime(e))
		if r.opts.MinAge > 0 && age < r.opts.MinAge {
			r.young.Add(1)
			r.skip(rel, "younger than min-age")
			return
		}
		if r.opts.MaxAge > 0 && age > r.opts.MaxAge {
			r.skip(rel, "older than max-age")
			return
		}
	}
	l, err := r.view.lstat(rel)
	if err != nil {
		r.fail(rel, "fetch", err)
		return
	}
	off, known := r.clk.get()
	if !known {
		off = unknownOffset
	}
	d := decideFile(e, rec, l, r.loc, off)
	switch d.verb {
	case VerbSkip:
		r.unchanged.Add(1)
		r.log.Debug("unchanged", "path", "/"+rel)
		return
	case VerbFail:
		r.fail(rel, "fetch", errors.New(d.reason))
		return
	case VerbAdopt:
		if !d.confirm {
			mtime := e.Time
			if d.localTime {
				mtime = l.mtime
			}
			r.adopt(rel, adoptRecord(e, mtime, e.Precision, r.now), d.reason)
			return
		}
		// The listing's time is too coarse to tell: MDTM decides, in
		// a dry run too, so that its plan is the real run's.
		r.q.push(&task{kind: taskConfirm, rel: rel, entry: e, verb: VerbAdopt, dec: d, links: links})
		return
	}
	verb := d.verb
	if verb == VerbFetch {
		if p, ok := r.partials[rel]; ok && r.canResume(p, e) {
			verb = VerbResume
			d.reason = "resume interrupted download"
		}
	}
	r.planFetch(&task{kind: taskFetch, rel: rel, entry: e, verb: verb, dec: d, links: links})
}

// canResume reports whether an interrupted download was of the same
// remote file as now listed.
func (r *runner) canResume(p state.Partial, e ftpcore.Entry) bool {
	if e.Size < 0 || p.Size != e.Size {
		return false
	}
	prec := min(ftpcore.TimePrecision(p.Precision), e.Precision)
	return sameTime(p.ModTime, e.Time, prec, r.loc)
}

// adoptRecord is the state record of an adopted file.
func adoptRecord(e ftpcore.Entry, mtime time.Time, prec ftpcore.TimePrecision, now time.Time) state.Record {
	return state.Record{
		Kind: state.KindFile, Size: e.Size, ModTime: mtime, Precision: uint8(prec),
		ListTime: e.Time, ListPrecision: uint8(e.Precision), Fetched: now,
	}
}

// known returns the state's record of rel, or nil if it has none.
func (r *runner) known(rel string) (*state.Record, error) {
	rec, ok, err := r.db.Get(rel)
	if err != nil || !ok {
		return nil, err
	}
	return &rec, nil
}

// local is what the target holds at a path.
type local struct {
	exists bool
	mode   fs.FileMode // type bits only
	size   int64
	mtime  time.Time
}

func (l local) isFile() bool { return l.exists && l.mode.IsRegular() }
func (l local) isDir() bool  { return l.exists && l.mode.IsDir() }
func (l local) isLink() bool { return l.exists && l.mode&fs.ModeSymlink != 0 }

// lstat looks at rel in the target without following a final symlink.
func lstat(root *os.Root, rel string) (local, error) {
	fi, err := root.Lstat(localPath(rel))
	if errors.Is(err, fs.ErrNotExist) {
		return local{}, nil
	}
	if err != nil {
		return local{}, err
	}
	return local{exists: true, mode: fi.Mode().Type(), size: fi.Size(), mtime: fi.ModTime()}, nil
}

// sameTime reports whether a and b are the same time at precision p:
// the same calendar day or minute in the server's zone loc, or the same
// second. An unknown precision matches anything: the size decides.
func sameTime(a, b time.Time, p ftpcore.TimePrecision, loc *time.Location) bool {
	switch p {
	case ftpcore.TimeDay:
		ay, am, ad := a.In(loc).Date()
		by, bm, bd := b.In(loc).Date()
		return ay == by && am == bm && ad == bd
	case ftpcore.TimeMinute:
		return a.Unix()/60 == b.Unix()/60
	case ftpcore.TimeExact:
		return a.Unix() == b.Unix()
	}
	return true
}

// saneTime returns t and p, or the zero time and TimeUnknown when t is
// absurd: before 1970 or more than a year after now. Such times come
// from broken servers (MDTM's "19100" year bug, an unset clock) and the
// local file system may not even store them (year 9999 reads back as
// 1901 on ext4), which would make the file look changed on every run.
func saneTime(t time.Time, p ftpcore.TimePrecision, now time.Time) (time.Time, ftpcore.TimePrecision) {
	if p == ftpcore.TimeUnknown || t.Year() < 1970 || t.After(now.AddDate(1, 0, 0)) {
		return time.Time{}, ftpcore.TimeUnknown
	}
	return t, p
}

// decision is what to do with one remote file.
type decision struct {
	verb   Verb
	reason string
	// replace: the local path holds something else (a directory or a
	// link this mirror made) that must go before the file can come.
	replace bool
	// confirm: sizes match but the listing's time is not exact enough to
	// adopt the local file: ask MDTM first. listMatch says whether the
	// listing's time agreed at its precision, for servers without MDTM.
	confirm, listMatch bool
	// localTime: adopted on the listing's minute, the server's clock
	// offset known, or on the size alone where the listing gives no
	// time; the record keeps the local file's time, which the next run
	// compares (the listing's time is the server's local one, or none).
	localTime bool
}

// unknownOffset stands for a server clock offset not known (decideFile).
const unknownOffset = time.Duration(math.MinInt64)

// decideFile compares a remote file with the state's record (nil if
// unknown) and the local path. It needs no network: an unchanged file
// costs nothing beyond its listing line.
//
// Remote times are compared with the listing time recorded on the last
// fetch (Record.ListTime), like with like, at the coarser of the two
// precisions: a Unix LIST shows minutes for recent files and only the day
// for older ones, in the server's zone, and a file that crosses the
// six-month line is not a change. The local file's time is compared with
// the exact time the state says it was given.
//
// off is how far the server's listing times run ahead of UTC, or
// unknownOffset (clock.go).
func decideFile(e ftpcore.Entry, rec *state.Record, l local, loc *time.Location, off time.Duration) decision {
	switch {
	case !l.exists && rec == nil:
		return decision{verb: VerbFetch, reason: "new"}
	case !l.exists:
		return decision{verb: VerbFetch, reason: "local copy missing"}
	case !l.isFile():
		if rec != nil && rec.Kind != state.KindFile {
			return decision{verb: VerbFetch, reason: "type changed to file", replace: true}
		}
		return decision{verb: VerbFail, reason: "a local directory or link that ftpmirror did not make is in the way"}
	}
	if rec != nil && rec.Kind == state.KindFile {
		p := min(ftpcore.TimePrecision(rec.ListPrecision), e.Precision)
		switch {
		case rec.Stale:
			return decision{verb: VerbFetch, reason: "verify found the local copy changed"}
		case e.Size >= 0 && e.Size != rec.Size:
			return decision{verb: VerbFetch, reason: "size changed"}
		case !sameTime(rec.ListTime, e.Time, p, loc):
			return decision{verb: VerbFetch, reason: "time changed"}
		case l.size != rec.Size || !sameTime(l.mtime, rec.ModTime, ftpcore.TimeExact, loc):
			return decision{verb: VerbFetch, reason: "local copy differs"}
		}
		return decision{verb: VerbSkip, reason: "unchanged"}
	}
	// Unknown to the state (a first run over a tree lftp or wget made, or
	// a lost state database): adopt a file whose size and time match.
	if e.Size >= 0 && l.size == e.Size {
		switch e.Precision {
		case ftpcore.TimeExact:
			if sameTime(l.mtime, e.Time, ftpcore.TimeExact, loc) {
				return decision{verb: VerbAdopt, reason: "size and time match"}
			}
		case ftpcore.TimeUnknown:
			// The record keeps the local file's time, which the next
			// run compares: there is no other.
			return decision{verb: VerbAdopt, reason: "size matches, server gives no time", localTime: true}
		case ftpcore.TimeMinute:
			if off != unknownOffset {
				// The server's zone is known: the listing's minute tells,
				// without an MDTM per file.
				if sameTime(l.mtime.Add(off), e.Time, ftpcore.TimeMinute, loc) {
					return decision{verb: VerbAdopt, reason: "size and listing minute match", localTime: true}
				}
				return decision{verb: VerbFetch, reason: "local file differs"}
			}
			fallthrough
		default:
			// The listing's time is coarse (only the day), or its zone
			// is not known: MDTM tells.
			listed := l.mtime
			if off != unknownOffset {
				listed = l.mtime.Add(off)
			}
			return decision{verb: VerbAdopt, reason: "size and time match", confirm: true,
				listMatch: sameTime(listed, e.Time, e.Precision, loc)}
		}
	}
	return decision{verb: VerbFetch, reason: "local file differs"}
}
