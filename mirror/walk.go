package mirror

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/state"
)

// maxLinkDepth bounds how many symlinks -symlinks=follow follows on one
// path, so that a link to "." or a parent cannot make the walk endless.
const maxLinkDepth = 8

// listDir lists one remote directory and decides about each entry.
func (r *runner) listDir(ctx context.Context, c *ftpcore.Conn, t *task) error {
	entries, bad, err := badLines(c.List(ctx, r.remote(t.rel)))
	if err != nil {
		return err
	}
	if err := r.linkTargets(ctx, c, t.rel, entries); err != nil {
		return err
	}
	r.dirs.Add(1)
	if p := r.opts.Progress; p != nil {
		p.Listed.Add(1)
	}
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

// linkTargets fills in the targets of symlinks that the listing showed
// without one, for -symlinks=keep: proftpd's MLSD says
// "type=OS.unix=symlink" and no more, its LIST shows "name -> target".
func (r *runner) linkTargets(ctx context.Context, c *ftpcore.Conn, rel string, entries []ftpcore.Entry) error {
	if r.opts.Symlinks != SymlinksKeep {
		return nil
	}
	missing := false
	for _, e := range entries {
		if e.Type == ftpcore.TypeSymlink && e.Target == "" {
			missing = true
			break
		}
	}
	if !missing {
		return nil
	}
	long, _, err := badLines(c.ListLIST(ctx, r.remote(rel)))
	if err != nil {
		return err
	}
	targets := make(map[string]string, len(long))
	for _, e := range long {
		if e.Type == ftpcore.TypeSymlink {
			targets[e.Name] = e.Target
		}
	}
	for i, e := range entries {
		if e.Type == ftpcore.TypeSymlink && e.Target == "" {
			entries[i].Target = targets[e.Name]
		}
	}
	return nil
}

// listBatch lists several directories in one round trip (a connection
// whose STAT listings pipeline) and finishes each task.
func (r *runner) listBatch(ctx context.Context, c *ftpcore.Conn, batch []*task) {
	dirs := make([]string, len(batch))
	for i, t := range batch {
		dirs[i] = r.remote(t.rel)
	}
	lists, errs := c.ListMany(ctx, dirs)
	for i, t := range batch {
		entries, bad, err := badLines(lists[i], errs[i])
		if err == nil {
			r.dirs.Add(1)
			if p := r.opts.Progress; p != nil {
				p.Listed.Add(1)
			}
			err = r.compareDir(ctx, t, entries, bad)
		}
		if err != nil {
			r.failTask(ctx, t, err)
			continue
		}
		r.markProgress()
		r.q.done()
	}
}

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
		if seen[name] || r.filter.excluded(rel) || (rec.Kind != state.KindDir && !r.filter.file(rel)) {
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

// failLines records the lines of dir's listing that gave no entry, each
// as one failure, quoting the line.
func (r *runner) failLines(dir string, bad *ftpcore.ListError) {
	for _, l := range bad.Lines {
		r.fail(dir, "list", fmt.Errorf("%s %s: %w", bad.Cmd, bad.Dir, l))
	}
	if more := bad.Count - len(bad.Lines); more > 0 {
		r.failed.Add(int64(more - 1))
		r.fail(dir, "list", fmt.Errorf("%s %s: %d more lines without an entry", bad.Cmd, bad.Dir, more))
	}
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
		r.q.push(&task{kind: taskList, rel: rel, links: links})
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
		age := r.now.Sub(e.Time)
		if r.opts.MinAge > 0 && age < r.opts.MinAge {
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
	d := decideFile(e, rec, l, r.loc)
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
			r.adopt(rel, adoptRecord(e, e.Time, e.Precision, r.now), d.reason)
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

// planLink handles a remote symbolic link per Options.Symlinks.
func (r *runner) planLink(rel string, e ftpcore.Entry, rec *state.Record, links int) {
	switch r.opts.Symlinks {
	case SymlinksFollow:
		if links >= maxLinkDepth {
			r.skip(rel, fmt.Sprintf("more than %d symlinks deep", maxLinkDepth))
			return
		}
		if r.filter.excluded(rel) {
			r.skip(rel, "excluded")
			return
		}
		r.q.push(&task{kind: taskFollow, rel: rel, entry: e, links: links + 1})
	case SymlinksKeep:
		r.keepLink(rel, e, rec)
	default:
		r.skip(rel, "symlink (see -symlinks)")
	}
}

// keepLink makes a local symlink for a remote one whose target stays
// inside the mirror; absolute targets under the remote root are made
// relative.
func (r *runner) keepLink(rel string, e ftpcore.Entry, rec *state.Record) {
	if !r.filter.file(rel) {
		r.skip(rel, "filtered")
		return
	}
	target, ok := r.linkTarget(rel, e.Target)
	if !ok {
		r.skip(rel, fmt.Sprintf("symlink target %q is outside the mirror", e.Target))
		return
	}
	l, err := r.view.lstat(rel)
	if err != nil {
		r.fail(rel, "link", err)
		return
	}
	if l.isLink() {
		if cur, err := r.view.readlink(rel); err == nil && cur == target && rec != nil && rec.Kind == state.KindSymlink {
			r.unchanged.Add(1)
			return
		}
	}
	if l.exists && (rec == nil || (l.isDir() && rec.Kind != state.KindDir)) {
		r.fail(rel, "link", errors.New("a local file that ftpmirror did not make is in the way of a link"))
		return
	}
	r.makeLink(rel, target, l)
}

// linkTarget returns the local form of a remote link target, relative
// to the link's directory, if it points inside the mirror.
func (r *runner) linkTarget(rel, target string) (string, bool) {
	if target == "" || strings.ContainsAny(target, "\x00\\") {
		return "", false
	}
	dir := path.Dir("/" + rel) // "/"-rooted relative to the mirror root
	var abs string
	if strings.HasPrefix(target, "/") {
		rr := r.remoteRoot
		if rr == "/" {
			rr = ""
		}
		if rr == "" {
			return "", false
		}
		rest, ok := strings.CutPrefix(path.Clean(target), rr)
		if !ok || (rest != "" && !strings.HasPrefix(rest, "/")) {
			return "", false
		}
		abs = path.Clean("/" + rest)
	} else {
		// path.Join cleans "..": check that it never climbs above the
		// root on the way.
		depth := strings.Count(strings.Trim(dir, "/"), "/") + 1
		if dir == "/" {
			depth = 0
		}
		for _, part := range strings.Split(target, "/") {
			switch part {
			case "..":
				depth--
			case "", ".":
			default:
				depth++
			}
			if depth < 0 {
				return "", false
			}
		}
		abs = path.Join(dir, target)
	}
	if abs == "/"+rel {
		return "", false
	}
	relTarget, ok := relPath(dir, abs)
	return relTarget, ok
}

// relPath returns target relative to dir, both "/"-rooted and clean.
func relPath(dir, target string) (string, bool) {
	d := strings.Split(strings.Trim(dir, "/"), "/")
	t := strings.Split(strings.Trim(target, "/"), "/")
	if d[0] == "" {
		d = nil
	}
	if t[0] == "" {
		t = nil
	}
	i := 0
	for i < len(d) && i < len(t) && d[i] == t[i] {
		i++
	}
	var parts []string
	for range d[i:] {
		parts = append(parts, "..")
	}
	parts = append(parts, t[i:]...)
	if len(parts) == 0 {
		return ".", true
	}
	return strings.Join(parts, "/"), true
}

// follow finds out whether a symlink points to a file (SIZE answers) or
// a directory (it can be listed), and handles it as that.
func (r *runner) follow(ctx context.Context, c *ftpcore.Conn, t *task) error {
	p := r.remote(t.rel)
	size, err := c.Size(ctx, p)
	if err == nil {
		e := t.entry
		e.Type, e.Size, e.Target = ftpcore.TypeFile, size, ""
		if mt, err := c.ModTime(ctx, p); err == nil {
			e.Time, e.Precision = saneTime(mt, ftpcore.TimeExact, r.now)
		}
		r.planFile(t.rel, e, r.known(t.rel), t.links)
		return nil
	}
	var fe *ftpcore.Error
	if !errors.As(err, &fe) || fe.Code/100 != 5 {
		return err
	}
	// Not a file: a directory, if List's CWD goes there (vsftpd lists
	// a missing directory as empty, so a listing alone does not tell).
	// A link to nothing, or to something outside what the server lets
	// us see, is skipped.
	entries, bad, err := badLines(c.List(ctx, p))
	switch {
	case errors.Is(err, ftpcore.ErrNotListed), errors.As(err, &fe) && fe.Code/100 == 5:
		r.skip(t.rel, fmt.Sprintf("symlink to %q: target not found (%v)", t.entry.Target, err))
		return nil
	case err != nil:
		return err
	}
	if !r.checkDir(t.rel, r.known(t.rel)) {
		return nil
	}
	r.dirs.Add(1)
	return r.compareDir(ctx, t, entries, bad)
}

// known returns the state's record of rel, or nil.
func (r *runner) known(rel string) *state.Record {
	rec, ok, err := r.db.Get(rel)
	if err != nil || !ok {
		return nil
	}
	return &rec
}
