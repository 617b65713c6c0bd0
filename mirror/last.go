package mirror

import (
	"context"
	"fmt"
	"slices"
)

// Ordered publish (Options.Last). An archive's index files (Debian's
// Release and Packages, an RPM tree's repodata/) name the files a reader
// may ask for next. Fetched before those files, or while a deletion has
// not yet removed what the old index named, they send a reader to a file
// that is not there. So a run fetches in stages, as Debian's ftpsync
// does: first everything that matches no Last pattern; then, only if
// all of that succeeded, the files that match one; then deletions. A
// run where anything of the first stage failed fetches no Last file and
// deletes nothing: the old indexes stay, and still name only files that
// are there. It ends partial; the next run does the rest.

// LastPresets are the names that Options.Last may hold in place of
// patterns, and the patterns each stands for.
var LastPresets = map[string][]string{
	// Debian and RPM archives: the indexes apt and dnf read first, and
	// the checksum lists that vouch for what they name.
	"@archive": {"Release*", "InRelease", "Packages*", "Sources*", "**/repodata/**", "*.sha256", "SHA256SUMS*"},
}

// ExpandLast returns patterns with each preset name replaced by its
// patterns, and checks every pattern.
func ExpandLast(patterns []string) ([]string, error) {
	var out []string
	for _, p := range patterns {
		if len(p) > 0 && p[0] == '@' {
			pre, ok := LastPresets[p]
			if !ok {
				return nil, fmt.Errorf("no preset %s (there is %s)", p, presetNames())
			}
			out = append(out, pre...)
			continue
		}
		if err := ValidateGlob(p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func presetNames() string {
	var names []string
	for n := range LastPresets {
		names = append(names, n)
	}
	slices.Sort(names)
	return fmt.Sprint(names)
}

// compileLast compiles Options.Last, presets expanded.
func compileLast(patterns []string) ([]*glob, error) {
	expanded, err := ExpandLast(patterns)
	if err != nil {
		return nil, err
	}
	return compileGlobs(expanded)
}

// isLast reports whether the file at rel waits for the last stage.
func (r *runner) isLast(rel string) bool { return matchAny(r.last, rel) }

// holdLast keeps back a fetch of a Last file for the last stage, and
// reports whether it did.
func (r *runner) holdLast(t *task) bool {
	if !r.isLast(t.rel) {
		return false
	}
	r.mu.Lock()
	r.held = append(r.held, t)
	r.mu.Unlock()
	return true
}

// lastStage fetches the held Last files once the first stage is done,
// if nothing in it failed; otherwise it fetches none of them (they are
// counted as skipped) and tells run to delete nothing.
func (r *runner) lastStage(ctx context.Context) (deleteOK bool, err error) {
	if len(r.last) == 0 {
		return true, nil
	}
	r.mu.Lock()
	held, listFail := r.held, r.listFail
	r.held = nil
	r.mu.Unlock()
	if failed := r.failed.Load(); failed > 0 || listFail {
		for _, t := range held {
			r.skipped.Add(1)
			r.prog.FilesDone.Add(1)
			r.report(Action{Verb: VerbSkip, Path: t.rel, Size: t.entry.Size, Reason: "held back: other files failed"})
		}
		r.log.Warn("last stage held back: other files failed; no index fetched, nothing deleted",
			"held", len(held), "failed", failed)
		return false, nil
	}
	if len(held) == 0 {
		return true, nil
	}
	r.log.Info("last stage", "files", len(held))
	r.q = newQueue()
	for _, t := range held {
		r.q.push(t)
	}
	if err := r.work(ctx, nil); err != nil {
		return false, err
	}
	// A Last file that failed leaves the old one, which still names
	// files that a deletion would take away.
	return r.failed.Load() == 0, nil
}
