package mirror

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/state"
)

// Many archives (Debian's ftpsync, CPAN, kernel.org) rewrite a trace file
// at the end of each update of the tree. With Options.Sentinel naming it,
// a run first lists the trace file's directory; when the file has the
// size and time that the last complete run saw when it started, nothing
// upstream changed since, and the run ends there: result ok, nothing
// written but the run record (and, for a dry run, nothing at all).
//
// What the state keeps (state.Sentinel) is the sentinel as a run saw it
// before it walked the tree, and only once that run ended ok: if the
// upstream changed during the run, the next run sees a newer sentinel and
// walks again. A real run that walks forgets the record first, so that a
// run killed half-way never leaves one behind; a run that skipped files
// for being younger than MinAge keeps none, since those files will be
// due without any upstream change. The record also holds a digest of the
// settings that decide what the mirror holds (settingsKey): new filters
// mean a full run.

// errSentinelUnchanged ends a run whose sentinel is unchanged.
var errSentinelUnchanged = errors.New("sentinel unchanged")

// ValidateSentinel reports whether p can be Options.Sentinel: a path
// relative to the root, '/'-separated, without empty, "." or ".."
// elements, each a name checkName accepts.
func ValidateSentinel(p string) error {
	if p == "" || strings.HasPrefix(p, "/") {
		return fmt.Errorf("sentinel %q: want a file's path relative to the source's root", p)
	}
	for _, name := range strings.Split(p, "/") {
		if err := checkName(name); err != nil {
			return fmt.Errorf("sentinel %q: %w", p, err)
		}
	}
	return nil
}

// checkSentinel reads the state's sentinel record and, with
// Options.Sentinel, lists the sentinel's directory on c. It reports
// whether the sentinel is unchanged since the last complete run.
func (r *runner) checkSentinel(ctx context.Context, c *ftpcore.Conn) (bool, error) {
	stored, had, err := r.db.Sentinel()
	if err != nil {
		return false, err
	}
	r.sentinelStored = had
	rel := r.opts.Sentinel
	if rel == "" {
		return false, nil
	}
	seen, why := r.listSentinel(ctx, c, rel)
	if seen != nil {
		r.sentinel = seen
		p := ftpcore.TimePrecision(min(stored.Precision, seen.Precision))
		switch {
		case !had:
			why = "no complete run has seen it yet"
		case stored.Path != seen.Path || stored.Settings != seen.Settings:
			why = "settings changed since the last complete run"
		case stored.Size != seen.Size:
			why = "size changed"
		case p == ftpcore.TimeUnknown || !sameTime(stored.ModTime, seen.ModTime, p, r.loc):
			why = "time changed"
		default:
			r.log.Info("sentinel unchanged since the last complete run: nothing to do", "path", "/"+rel,
				"bytes", seen.Size, "time", seen.ModTime, "last_complete", stored.Saved)
			return true, nil
		}
	}
	r.log.Info("sentinel: full run", "path", "/"+rel, "reason", why)
	return false, nil
}

// listSentinel lists the directory of the sentinel rel and returns the
// sentinel as it is now, or nil and why it cannot tell. A time coarser
// than a second (LIST) is made exact with MDTM where the server has it.
func (r *runner) listSentinel(ctx context.Context, c *ftpcore.Conn, rel string) (*state.Sentinel, string) {
	entries, _, err := badLines(c.List(ctx, r.remote(parentOf(rel))))
	if err != nil {
		return nil, "its directory cannot be listed: " + err.Error()
	}
	name := path.Base(rel)
	for _, e := range entries {
		if e.Name != name {
			continue
		}
		if e.Type != ftpcore.TypeFile || e.Size < 0 {
			return nil, "not a file of known size"
		}
		t, p := saneTime(e.Time, e.Precision, r.now)
		if p != ftpcore.TimeExact && !r.noMDTM.Load() {
			mt, err := c.ModTime(ctx, r.remote(rel))
			if mt, ok, err := r.mdtm(rel, mt, err); err == nil && ok {
				t, p = mt, ftpcore.TimeExact
			}
		}
		if p == ftpcore.TimeUnknown {
			return nil, "the server gives no time for it"
		}
		return &state.Sentinel{Path: rel, Size: e.Size, ModTime: t, Precision: uint8(p), Settings: r.settingsKey()}, ""
	}
	return nil, "missing remotely"
}

// settingsKey is a digest of the settings that decide what the mirror
// holds: a sentinel record made under others is not trusted.
func (r *runner) settingsKey() string {
	o := r.opts
	s := fmt.Sprintf("%q %q %q %q %q %q %d %d %d %v %v", o.Addr, o.User, r.remoteRoot, o.Target, o.Include, o.Exclude,
		o.MaxSize, o.MinAge, o.MaxAge, o.Symlinks, o.Delete)
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// forgetSentinel drops the state's sentinel record before a real run
// changes the mirror: until it ends ok, the mirror is not what the
// record says.
func (r *runner) forgetSentinel() error {
	if !r.sentinelStored {
		return nil
	}
	return r.w.store.DeleteSentinel()
}

// saveSentinel records the sentinel as this real run saw it when it
// started, if the run walked the tree and ended ok.
func (r *runner) saveSentinel(res Result) error {
	if r.sentinel == nil || r.sentinelSkip || res != ResultOK || r.young.Load() > 0 {
		return nil
	}
	s := *r.sentinel
	s.Saved = r.clock()
	if err := r.opts.State.Job(r.opts.Job).PutSentinel(s); err != nil {
		return fmt.Errorf("record the sentinel: %w", err)
	}
	return nil
}
