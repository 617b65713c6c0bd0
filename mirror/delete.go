package mirror

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
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
		err := r.db.Walk(func(p string, rec state.Record) error {
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
	known, err := r.db.Count()
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
	if r.opts.MaxDelete.allows(n, known) {
		return nil
	}
	what := fmt.Sprintf("%d paths", n)
	if known > 0 {
		what = fmt.Sprintf("%d of %d known paths (%.0f%%)", n, known, float64(n)*100/float64(known))
	}
	return fmt.Errorf("%w: job %s: would delete %s, more than -max-delete %s allows; nothing deleted (is the listing of %s complete? if the deletions are meant, run once with -max-delete none)",
		ErrSafetyGuard, r.opts.Job, what, r.opts.MaxDelete, r.remoteRoot)
}

// DeleteLimit bounds the deletions of one run: a number of paths, or a
// percentage of the paths the state knows. The zero value allows none.
type DeleteLimit struct {
	N       float64 // paths, or percent with Percent
	Percent bool
	None    bool // no limit at all
}

// ParseDeleteLimit parses "N" (paths), "P%" (percent of the known
// paths, P from 0 to 100) or "none" (no limit). 0 and 0% allow none.
func ParseDeleteLimit(s string) (DeleteLimit, error) {
	s = strings.TrimSpace(s)
	if s == "none" {
		return DeleteLimit{None: true}, nil
	}
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || !(v >= 0 && v <= 100) {
			return DeleteLimit{}, fmt.Errorf("max-delete %q: want N, P%% with P from 0 to 100, or none", s)
		}
		return DeleteLimit{N: v, Percent: true}, nil
	}
	v, err := strconv.ParseUint(s, 10, 31)
	if err != nil {
		return DeleteLimit{}, fmt.Errorf("max-delete %q: want N, P%% or none", s)
	}
	return DeleteLimit{N: float64(v)}, nil
}

func (l DeleteLimit) String() string {
	switch {
	case l.None:
		return "none"
	case l.Percent:
		return strconv.FormatFloat(l.N, 'f', -1, 64) + "%"
	}
	return strconv.FormatFloat(l.N, 'f', -1, 64)
}

// allows reports whether n deletions out of known paths are within l.
func (l DeleteLimit) allows(n, known int) bool {
	switch {
	case l.None || n == 0:
		return true
	case l.Percent:
		return known > 0 && float64(n)*100 <= l.N*float64(known)
	}
	return float64(n) <= l.N
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
	l, err := lstat(r.w.root, d.rel)
	if err != nil {
		r.fail(d.rel, "delete", err)
		return
	}
	switch {
	case !l.exists:
	case d.kind == state.KindDir && l.isDir():
		if err := r.w.root.Remove(d.rel); err != nil {
			// Files the user put there keep it; it is theirs now.
			r.log.Info("directory gone remotely kept: not empty", "path", "/"+d.rel)
		}
	case d.kind == state.KindDir, l.isDir():
		r.log.Info("gone remotely, kept: type changed locally", "path", "/"+d.rel)
	default:
		if err := r.w.root.Remove(d.rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
			r.fail(d.rel, "delete", err)
			return
		}
	}
	if err := r.w.batch.Add(state.Change{Path: d.rel, Delete: true}); err != nil {
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
	r.w.dc.forget(rel)
	var below []string
	err := r.db.Walk(func(p string, _ state.Record) error {
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
		if err := r.w.root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("type changed to file, but %s is in the way: %w", p, err)
		}
		if err := r.w.batch.Add(state.Change{Path: p, Delete: true}); err != nil {
			return err
		}
	}
	if err := r.w.root.Remove(rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
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
