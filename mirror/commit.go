package mirror

import (
	"os"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/state"
)

// fetched is a complete download in its temporary file, to commit.
type fetched struct {
	rel       string
	tmp       string        // in the staging directory
	entry     ftpcore.Entry // as listed
	size      int64
	mtime     time.Time // the remote time, at precision prec
	prec      ftpcore.TimePrecision
	partial   bool // the state has a partial record of the download
	resumed   bool
	segmented bool
	digest    []byte // SHA-256 of the bytes
	verified  bool   // the server's digest confirmed them
}

// commit puts a complete download in place and records it, for whole
// (fetch.go) and segmented (segment.go) fetches alike: the remote time on
// the temporary file, the rename from the staging directory into place
// (moveIntoPlace), the state record (batched:
// written after the next syncTarget), the partial record dropped, the
// counters.
func (r *runner) commit(f fetched) error {
	if f.prec != ftpcore.TimeUnknown {
		if err := r.w.stage.Load().Chtimes(f.tmp, f.mtime, f.mtime); err != nil {
			return permanent(err)
		}
	}
	if err := r.moveIntoPlace(f.tmp, f.rel); err != nil {
		return permanent(err)
	}
	if f.prec == ftpcore.TimeUnknown {
		// No remote time: the state keeps the local file's, which
		// the next run compares.
		f.mtime = r.clock()
		if fi, err := r.w.root.Lstat(f.rel); err == nil {
			f.mtime = fi.ModTime()
		}
	}
	rec := state.Record{
		Kind: state.KindFile, Size: f.size, ModTime: f.mtime, Precision: uint8(f.prec),
		ListTime: f.entry.Time, ListPrecision: uint8(f.entry.Precision), Fetched: r.clock(),
		Digest: f.digest,
	}
	if err := r.w.batch.Add(state.Change{Path: f.rel, Record: rec}); err != nil {
		return permanent(err)
	}
	if f.partial {
		if err := r.w.store.DeletePartial(f.rel); err != nil {
			return permanent(err)
		}
	}
	if f.resumed {
		r.resumed.Add(1)
	}
	if f.verified {
		r.verified.Add(1)
	}
	r.fetched.Add(1)
	r.prog.FilesDone.Add(1)
	r.log.Debug("fetched", "path", "/"+f.rel, "bytes", f.size, "segmented", f.segmented)
	return nil
}

// forgetPartial drops the partial record of a download whose temporary
// file is gone. A failure only costs the next run a look at a temporary
// file that is not there: it is logged, not returned.
func (r *runner) forgetPartial(rel string) {
	if err := r.w.store.DeletePartial(rel); err != nil {
		r.log.Warn("forgetting an interrupted download failed", "path", "/"+rel, "err", err)
	}
}

// closeFetched closes a temporary file whose data is complete. Where
// syncTarget cannot make a batch of files durable at once
// (syncPerFile), the file is synced first.
func closeFetched(f *os.File) error {
	if syncPerFile {
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}
