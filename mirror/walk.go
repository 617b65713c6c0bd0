package mirror

import (
	"context"
	"errors"

	"github.com/ftpmirror/ftpmirror/ftpcore"
)

// listDir lists one remote directory and decides about each entry.
func (r *runner) listDir(ctx context.Context, c *ftpcore.Conn, t *task) error {
	var entries []ftpcore.Entry
	var bad *ftpcore.ListError
	if l := t.listed; l != nil {
		t.listed = nil // a retry lists again
		if l.err != nil {
			return l.err
		}
		entries, bad = l.entries, l.bad
	} else {
		var err error
		if entries, bad, err = badLines(c.List(ctx, r.remote(t.rel))); err != nil {
			return err
		}
	}
	if err := r.linkTargets(ctx, c, t.rel, entries); err != nil {
		return err
	}
	r.calibrate(ctx, c, t.rel, entries)
	r.listedDir()
	return r.compareDir(ctx, t, entries, bad)
}

// badLines separates the lines of a listing that gave no entry from a
// listing's error: a *ftpcore.ListError comes with the entries of the
// other lines.
func badLines(entries []ftpcore.Entry, err error) ([]ftpcore.Entry, *ftpcore.ListError, error) {
	var le *ftpcore.ListError
	if errors.As(err, &le) {
		return entries, le, nil
	}
	return entries, nil, err
}

// listBatch lists several directories in one round trip (a connection
// whose STAT listings pipeline) and finishes each task.
func (r *runner) listBatch(ctx context.Context, c *ftpcore.Conn, batch []*task) {
	dirs := make([]string, len(batch))
	for i, t := range batch {
		dirs[i] = r.remote(t.rel)
	}
	lists, errs := c.ListMany(ctx, dirs)
	r.q.hold()
	defer r.q.release()
	for i, t := range batch {
		entries, bad, err := badLines(lists[i], errs[i])
		if t.ahead {
			r.aheadDone(t.rel, &listing{entries: entries, bad: bad, err: err})
			r.markProgress()
			r.q.done()
			continue
		}
		if err == nil {
			r.calibrate(ctx, c, t.rel, entries)
			r.listedDir()
			err = r.compareDir(ctx, t, entries, bad)
		}
		if err != nil {
			r.failTask(ctx, t, err)
			continue
		}
		r.markProgress()
		r.q.done()
		r.widen()
	}
}

// listedDir counts a directory listed, in the Summary and the Progress.
func (r *runner) listedDir() {
	r.dirs.Add(1)
	r.prog.Listed.Add(1)
}
