package mirror

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/state"
)

// Listing ahead. A walk learns a directory's subdirectories only from its
// listing, so a tree D levels deep takes at least D round trips however
// many connections there are: the time of a re-sync where nothing
// changed. But the state knows the directories of the last run. The walk
// queues their listings at once (the root's subdirectories first), and
// the workers list them in parallel, without waiting for their parents.
//
// A listing made ahead only prefetches: it decides nothing until the
// parent's listing, compared as always (compareDir), shows the directory
// again and claims it (planDir). One that nobody claims (the directory
// is gone, excluded now, or a link) is dropped, and one that failed is
// listed again as any listing, with its retries, when claimed: a failed
// listing ahead never counts as a failure, and never as a directory
// found missing. So the walk decides exactly what it did before, from
// listings that each proved their directory with CWD, only sooner.

// maxAhead bounds the listings queued ahead: past it, the rest of a big
// tree is found level by level, as without a state.
const maxAhead = 10000

// aheadSet is the run's listings ahead, by path, until claimed.
type aheadSet struct {
	mu   sync.Mutex
	dirs map[string]*ahead
}

// ahead is one directory's listing ahead.
type ahead struct {
	result  *listing // once listed
	claimed bool     // the parent's listing showed it, before result came
	links   int      // the claiming task's links
}

// aheadDirs is what collectAhead finds: ready once done is closed.
type aheadDirs struct {
	done chan struct{}
	dirs []string
	err  error
}

// wait returns the directories, once found.
func (a *aheadDirs) wait() ([]string, error) {
	<-a.done
	return a.dirs, a.err
}

// collectAhead finds, in the background while the run connects, the
// directories the state knows, shallowest first, up to maxAhead.
func (r *runner) collectAhead() *aheadDirs {
	a := &aheadDirs{done: make(chan struct{})}
	go func() {
		defer close(a.done)
		a.err = r.db.Walk(func(p string, rec state.Record) error {
			if rec.Kind == state.KindDir && p != "" && !r.filter.excluded(p) {
				a.dirs = append(a.dirs, p)
			}
			return nil
		})
		sort.SliceStable(a.dirs, func(i, j int) bool {
			return strings.Count(a.dirs[i], "/") < strings.Count(a.dirs[j], "/")
		})
		a.dirs = a.dirs[:min(len(a.dirs), maxAhead)]
	}()
	return a
}

// queueAhead queues the listings of dirs (collectAhead's).
func (r *runner) queueAhead(dirs []string) {
	if len(dirs) == 0 {
		return
	}
	r.ahead = &aheadSet{dirs: make(map[string]*ahead, len(dirs))}
	for _, d := range dirs {
		r.ahead.dirs[d] = &ahead{}
	}
	for _, d := range dirs {
		r.q.push(&task{kind: taskList, rel: d, ahead: true})
	}
}

// claimAhead is planDir's: the parent's listing shows directory rel. It
// queues rel's listing, unless one made ahead serves: then that one is
// compared now if it is done, or when it is (aheadDone).
func (r *runner) claimAhead(rel string, links int) {
	if r.ahead != nil {
		a := r.ahead
		a.mu.Lock()
		d, ok := a.dirs[rel]
		var l *listing
		switch {
		case ok && d.claimed:
			ok = false // a second claim lists anew
		case ok && d.result == nil:
			d.claimed, d.links = true, links
			a.mu.Unlock()
			return
		case ok:
			delete(a.dirs, rel)
			l = d.result
		}
		a.mu.Unlock()
		if ok { // a failed listing ahead is never kept (aheadDone)
			r.q.push(&task{kind: taskList, rel: rel, links: links, listed: l})
			return
		}
	}
	r.q.push(&task{kind: taskList, rel: rel, links: links})
}

// aheadDone takes the result l of the listing ahead of rel: it queues
// its comparison if the claim came first (or, if it failed, a listing of
// its own, with its retries); else it keeps it for the claim, or drops
// it if it failed (the claim lists anew).
func (r *runner) aheadDone(rel string, l *listing) {
	a := r.ahead
	a.mu.Lock()
	d, ok := a.dirs[rel]
	switch {
	case !ok:
	case d.claimed:
		delete(a.dirs, rel)
	case l.err != nil:
		delete(a.dirs, rel)
		ok = false
	default:
		d.result = l
		ok = false
	}
	a.mu.Unlock()
	switch {
	case !ok:
	case l.err != nil:
		r.q.push(&task{kind: taskList, rel: rel, links: d.links})
	default:
		r.q.push(&task{kind: taskList, rel: rel, links: d.links, listed: l})
	}
}

// listAhead lists one directory ahead on c, a connection that does not
// batch listings. Never a failure: a claim lists again what failed here.
func (r *runner) listAhead(ctx context.Context, c *ftpcore.Conn, t *task) {
	entries, bad, err := badLines(c.List(ctx, r.remote(t.rel)))
	r.aheadDone(t.rel, &listing{entries: entries, bad: bad, err: err})
	r.markProgress()
	r.q.done()
}

// errStop ends a walk early.
var errStop = errors.New("stop")

// hasRecords reports whether the job's state has any record: it ran
// before.
func hasRecords(db stateReader) (bool, error) {
	err := db.Walk(func(string, state.Record) error { return errStop })
	if errors.Is(err, errStop) {
		return true, nil
	}
	return false, err
}
