package mirror

import (
	"errors"
	"io/fs"
	"os"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/state"
)

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
}

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
func decideFile(e ftpcore.Entry, rec *state.Record, l local, loc *time.Location) decision {
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
			return decision{verb: VerbAdopt, reason: "size matches, server gives no time"}
		default:
			// The listing's time is coarse and its zone may not be the
			// one configured: MDTM tells.
			return decision{verb: VerbAdopt, reason: "size and time match", confirm: true,
				listMatch: sameTime(l.mtime, e.Time, e.Precision, loc)}
		}
	}
	return decision{verb: VerbFetch, reason: "local file differs"}
}
