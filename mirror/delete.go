package mirror

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/ftpmirror/ftpmirror/state"
)

// deletion is a known path that the remote tree no longer has.
type deletion struct {
	rel  string
	kind state.Kind
}

// deletePhase removes, after a walk, what is gone remotely: only paths
// the state knows (this mirror made them), never more than
// Options.MaxDelete / MaxDeletePercent allow.
func (r *runner) deletePhase(ctx context.Context) error {
	if len(r.deletes) == 0 {
		return nil
	}
	if !r.opts.Delete {
		r.log.Info("gone remotely, kept (no -delete)", "paths", len(r.deletes))
		return nil
	}
	// A vanished directory takes its known subtree with it.
	dirs := map[string]bool{}
	var paths []deletion
	for _, d := range r.deletes {
		paths = append(paths, d)
		if d.kind == state.KindDir {
			dirs[d.rel] = true
		}
	}
	if len(dirs) > 0 {
		err := r.db.Walk(r.opts.Job, func(p string, rec state.Record) error {
			if r.filter.excluded(p) || (rec.Kind != state.KindDir && !r.filter.file(p)) {
				return nil // filtered out: never deleted
			}
			for dir := parentOf(p); dir != ""; dir = parentOf(dir) {
				if dirs[dir] {
					paths = append(paths, deletion{rel: p, kind: rec.Kind})
					break
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	known, err := r.db.Count(r.opts.Job)
	if err != nil {
		return err
	}
	if err := r.checkGuard(len(paths), known); err != nil {
		return err
	}
	// Deepest first, so directories are empty when their turn comes.
	sort.Slice(paths, func(i, j int) bool {
		di, dj := strings.Count(paths[i].rel, "/"), strings.Count(paths[j].rel, "/")
		if di != dj {
			return di > dj
		}
		return paths[i].rel < paths[j].rel
	})
	for _, d := range paths {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.remove(d)
	}
	return nil
}

// checkGuard refuses a delete phase that would remove too much of the
// mirror: the sign of a server glitch (an empty or truncated listing),
// not of a real change.
func (r *runner) checkGuard(n, known int) error {
	if max := r.opts.MaxDelete; max > 0 && n > max {
		return fmt.Errorf("%w: job %s: would delete %d paths, more than -max-delete %d; nothing deleted (is the listing of %s complete?)",
			ErrSafetyGuard, r.opts.Job, n, max, r.remoteRoot)
	}
	pct := r.opts.MaxDeletePercent
	if pct == 0 {
		pct = 50
	}
	if pct > 0 && known > 0 && float64(n)*100 > pct*float64(known) {
		return fmt.Errorf("%w: job %s: would delete %d of %d known paths (%.0f%%), more than -max-delete %g%%; nothing deleted (is the listing of %s complete?)",
			ErrSafetyGuard, r.opts.Job, n, known, float64(n)*100/float64(known), pct, r.remoteRoot)
	}
	return nil
}

// remove deletes one known path, if it is still what the mirror made.
func (r *runner) remove(d deletion) {
	r.report(Action{Verb: VerbDelete, Path: d.rel, Reason: "gone remotely"})
	if r.dryRun() {
		if d.kind != state.KindDir {
			r.deleted.Add(1)
		}
		return
	}
	l, err := lstat(r.root, d.rel)
	if err != nil {
		r.fail(d.rel, "delete", err)
		return
	}
	switch {
	case !l.exists:
	case d.kind == state.KindDir && l.isDir():
		if err := r.root.Remove(d.rel); err != nil {
			// Files the user put there keep it; it is theirs now.
			r.log.Info("directory gone remotely kept: not empty", "path", "/"+d.rel)
		}
	case d.kind == state.KindDir, l.isDir():
		r.log.Info("gone remotely, kept: type changed locally", "path", "/"+d.rel)
	default:
		if err := r.root.Remove(d.rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
			r.fail(d.rel, "delete", err)
			return
		}
	}
	if err := r.batch.Add(state.Change{Path: d.rel, Delete: true}); err != nil {
		r.fail(d.rel, "delete", err)
		return
	}
	if d.kind != state.KindDir {
		r.deleted.Add(1)
	}
	r.log.Debug("deleted", "path", "/"+d.rel)
}

// removeKnownTree clears the way for a file where this mirror made a
// directory or link: known entries below it go, then it. Anything the
// user put there stops it with an error.
func (r *runner) removeKnownTree(rel string) error {
	r.dc.forget(rel)
	var below []string
	err := r.db.Walk(r.opts.Job, func(p string, _ state.Record) error {
		if strings.HasPrefix(p, rel+"/") {
			below = append(below, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(below, func(i, j int) bool { return len(below[i]) > len(below[j]) })
	for _, p := range below {
		if err := r.root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("type changed to file, but %s is in the way: %w", p, err)
		}
		if err := r.batch.Add(state.Change{Path: p, Delete: true}); err != nil {
			return err
		}
	}
	if err := r.root.Remove(rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("type changed to file, but the directory is not empty: %w", err)
	}
	return nil
}

// parentOf returns the directory of a relative path ("" for the root).
func parentOf(rel string) string {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i]
	}
	return ""
}
