package mirror

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/state"
)

// Remote symbolic links, per Options.Symlinks: skipped; followed (SIZE
// tells a file, a listing a directory); or kept as local links where
// their target stays inside the mirror.

// maxLinkDepth bounds how many symlinks -symlinks=follow follows on one
// path, so that a link to "." or a parent cannot make the walk endless.
const maxLinkDepth = 8

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
		rec, err := r.known(t.rel)
		if err != nil {
			return err
		}
		r.planFile(t.rel, e, rec, t.links)
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
	rec, err := r.known(t.rel)
	if err != nil {
		return err
	}
	if !r.checkDir(t.rel, rec) {
		return nil
	}
	r.listedDir()
	return r.compareDir(ctx, t, entries, bad)
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
