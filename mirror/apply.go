package mirror

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ftpmirror/ftpmirror/state"
)

// A run plans and applies. Planning (walk.go, plan.go, link.go) reads
// the remote tree, the state and the target through localView and
// stateReader, which have no method that writes. What planning decides
// goes through the few functions in this file; each reports the action,
// and carries it out only when the run has a writer: the os.Root, the
// directory cache, the job's state and its batcher, which openWriter
// opens. A dry run never calls openWriter, so nothing in it can write to
// the target or the state (its state is even opened read-only by the
// caller), and its report is the real run's plan. Fetches (fetch.go,
// segment.go, commit.go) run only when planFetch queued them, which a
// dry run does not; deletions (delete.go) are reported by both, and
// carried out only with a writer.

// localView is planning's read-only access to the target.
type localView struct {
	dc *dirCache // nil: the target does not exist (yet)
}

// openView opens the target for reading; a missing target is empty.
func openView(target string) (localView, error) {
	root, err := os.OpenRoot(target)
	if errors.Is(err, fs.ErrNotExist) {
		return localView{}, nil
	}
	if err != nil {
		return localView{}, err
	}
	return localView{dc: newDirCache(root, 64)}, nil
}

func (v localView) close() {
	if v.dc != nil {
		v.dc.close()
		v.dc.root.Close()
	}
}

// lstat looks at rel without following a final symlink. A path whose
// directory does not exist does not exist.
func (v localView) lstat(rel string) (local, error) {
	if v.dc == nil {
		return local{}, nil
	}
	dr, name, release, err := v.dc.at(rel)
	if err != nil {
		if !v.dirExists(parentOf(rel)) {
			// Its directory is not there yet, or is a file that the
			// run is to replace with one.
			return local{}, nil
		}
		return local{}, err
	}
	defer release()
	return lstat(dr, name)
}

// dirExists reports whether the target has the directory dir.
func (v localView) dirExists(dir string) bool {
	fi, err := v.dc.root.Lstat(localPath(dir))
	return err == nil && fi.IsDir()
}

// readlink returns the target of the local symlink rel.
func (v localView) readlink(rel string) (string, error) {
	if v.dc == nil {
		return "", fs.ErrNotExist
	}
	dr, name, release, err := v.dc.at(rel)
	if err != nil {
		return "", err
	}
	defer release()
	return dr.Readlink(name)
}

// writer is what a real run writes with: the target's Root and its
// directory cache, the staging directory, the job's state and its
// batcher, and the target's lock. openWriter makes it; a dry run never
// does.
type writer struct {
	root *os.Root
	dc   *dirCache // Roots on the target's directories, shared with the view
	// stage is the staging directory (staging.go), made by the first
	// download (runner.staging); nil until then.
	stage   atomic.Pointer[os.Root]
	stageMu sync.Mutex // making it
	store   *state.Job
	batch   *state.Batcher
	unlock  func() // releases the target lock
}

// openWriter creates the target if need be, locks it against any other
// run (lockTarget), and opens what a real run writes with. The writer
// and the view share one directory cache, so that a directory the writer
// replaces is not seen stale by planning. The view's close closes both.
func (r *runner) openWriter() error {
	if r.view.dc == nil {
		if err := os.MkdirAll(r.opts.Target, 0o755); err != nil {
			return fmt.Errorf("target: %w", err)
		}
		v, err := openView(r.opts.Target)
		if err != nil {
			return fmt.Errorf("target: %w", err)
		}
		r.view = v
	}
	release, err := lockTarget(r.view.dc.root, r.opts.Target)
	if err != nil {
		return err
	}
	// Under the lock: no other run uses the staging directory. It is
	// made only when a download needs it: a run that fetches nothing
	// leaves the target as it was, its directory's time included.
	stage, err := openStaging(r.view.dc.root, false)
	if err != nil {
		release()
		return fmt.Errorf("target: %w", err)
	}
	w := &writer{root: r.view.dc.root, dc: r.view.dc, store: r.opts.State.Job(r.opts.Job), unlock: release}
	w.stage.Store(stage)
	w.batch = w.store.NewBatcher(256, 500*time.Millisecond)
	w.batch.SetBeforeCommit(r.syncTarget)
	r.w = w
	r.adoptOldTemps()
	r.cleanStaging(false)
	return nil
}

// closeWriter removes from the staging directory what nothing will
// resume (and the directory, if that leaves it empty), and releases the
// target's lock.
func (r *runner) closeWriter() {
	if st := r.w.stage.Load(); st != nil {
		r.cleanStaging(true)
		st.Close()
	}
	r.w.unlock()
}

// syncTarget makes the files written so far durable before the state
// records them, so that after a power cut the state never claims a file
// whose data is not on disk. On Linux one syncfs(2) covers a batch, not
// one fsync per file. Elsewhere each file was synced before it was
// closed (syncPerFile) and this syncs the target's top directory; a
// rename in a subdirectory may then be lost, which the next run sees as
// a missing local copy and fetches again.
func (r *runner) syncTarget() error {
	f, err := r.w.root.Open(".")
	if err != nil {
		return err
	}
	defer f.Close()
	return syncfs(f)
}

// dryRun reports whether the run only plans.
func (r *runner) dryRun() bool { return r.w == nil }

// dirSet is the set of local directories that exist or that the run has
// decided to make.
type dirSet struct {
	mu sync.Mutex
	m  map[string]bool
}

// add adds dir and reports whether it was new.
func (s *dirSet) add(dir string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]bool{}
	}
	if s.m[dir] {
		return false
	}
	s.m[dir] = true
	return true
}

// needDir makes sure the local directory dir and its parents exist,
// because something is about to be mirrored into it: directories are
// made only for what they will hold, so filters leave no empty ones
// behind. It reports failures itself and returns whether dir is there.
func (r *runner) needDir(dir string) bool {
	if dir == "" {
		return true
	}
	// One at a time: a worker must not make a/b while another is still
	// making a. Directories are few; this costs nothing measurable.
	r.mkdirMu.Lock()
	defer r.mkdirMu.Unlock()
	for i := 0; i <= len(dir); i++ {
		if i < len(dir) && dir[i] != '/' {
			continue
		}
		rel := dir[:i]
		if !r.made.add(rel) {
			continue
		}
		l, err := r.view.lstat(rel)
		if err != nil {
			r.fail(rel, "mkdir", err)
			return false
		}
		if l.isDir() {
			continue
		}
		if l.exists {
			// planDir checked that what is in the way was ours.
			r.report(Action{Verb: VerbDelete, Path: rel, Reason: "type changed to directory"})
		}
		r.report(Action{Verb: VerbMkdir, Path: rel})
		if r.dryRun() {
			continue
		}
		if l.exists {
			if err := r.w.root.Remove(rel); err != nil {
				r.fail(rel, "mkdir", err)
				return false
			}
		}
		if err := r.w.root.Mkdir(rel, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			r.fail(rel, "mkdir", err)
			return false
		}
		if err := r.w.batch.Add(state.Change{Path: rel, Record: state.Record{Kind: state.KindDir, Fetched: r.now}}); err != nil {
			r.fail(rel, "record", err)
			return false
		}
	}
	return true
}

// remakeDir makes dir and its parents again when they vanished after
// needDir made them.
func (r *runner) remakeDir(dir string) error {
	r.mkdirMu.Lock()
	defer r.mkdirMu.Unlock()
	// By path, not through the directory cache: the cache may hold the
	// directory open after it lost its name, which is what the rename
	// that failed went by.
	if fi, err := r.w.root.Stat(localPath(dir)); err == nil && fi.IsDir() {
		return nil
	}
	r.log.Warn("directory gone during the run; made again", "path", "/"+dir)
	r.w.dc.forget(dir)
	if err := r.w.root.MkdirAll(localPath(dir), 0o755); err != nil {
		return err
	}
	return r.w.batch.Add(state.Change{Path: dir, Record: state.Record{Kind: state.KindDir, Fetched: r.now}})
}

// recordDir records an existing local directory that the remote tree
// has too as the mirror's, so that -delete may remove it once it is gone
// remotely.
func (r *runner) recordDir(rel string) {
	r.made.add(rel)
	if r.dryRun() {
		return
	}
	if err := r.w.batch.Add(state.Change{Path: rel, Record: state.Record{Kind: state.KindDir, Fetched: r.now}}); err != nil {
		r.fail(rel, "record", err)
	}
}

// planFetch decides to download rel: the dry run counts it, the real
// run queues it, or holds it for the last stage (last.go).
func (r *runner) planFetch(t *task) {
	r.report(Action{Verb: t.verb, Path: t.rel, Size: t.entry.Size, Reason: t.dec.reason})
	if !r.needDir(parentOf(t.rel)) {
		return
	}
	if r.dryRun() {
		r.fetched.Add(1)
		if t.verb == VerbResume {
			r.resumed.Add(1)
		}
		return
	}
	r.prog.FilesTotal.Add(1)
	r.prog.BytesTotal.Add(max(t.entry.Size, 0))
	if r.holdLast(t) {
		return
	}
	r.q.push(t)
}

// adopt records a local file that already matches the remote one.
func (r *runner) adopt(rel string, rec state.Record, reason string) {
	r.report(Action{Verb: VerbAdopt, Path: rel, Size: rec.Size, Reason: reason})
	r.adopted.Add(1)
	if r.dryRun() {
		return
	}
	if err := r.w.batch.Add(state.Change{Path: rel, Record: rec}); err != nil {
		r.fail(rel, "record", err)
	}
}

// makeLink makes the local symlink rel -> target, replacing what l says
// is there (the planner checked that it is the mirror's).
func (r *runner) makeLink(rel, target string, l local) {
	r.report(Action{Verb: VerbLink, Path: rel, Reason: target})
	if !r.needDir(parentOf(rel)) {
		return
	}
	r.fetched.Add(1)
	if r.dryRun() {
		return
	}
	var err error
	if l.exists {
		if l.isDir() {
			r.w.dc.forget(rel)
			err = r.w.root.RemoveAll(rel)
		} else {
			err = r.w.root.Remove(rel)
		}
		if err != nil {
			r.fetched.Add(-1)
			r.fail(rel, "link", err)
			return
		}
	}
	if err := r.w.root.Symlink(target, rel); err != nil {
		r.fetched.Add(-1)
		r.fail(rel, "link", err)
		return
	}
	if err := r.w.batch.Add(state.Change{Path: rel, Record: state.Record{Kind: state.KindSymlink, Target: target, Fetched: r.now}}); err != nil {
		r.fail(rel, "record", err)
	}
}

// removeStaleTemps deletes the temporary files that an older version of
// ftpmirror left in dir, beside the files (see staging.go): those an
// interrupted download will resume were moved to the staging directory
// when the run started (adoptOldTemps).
func (r *runner) removeStaleTemps(dir string) {
	if r.dryRun() {
		return
	}
	f, err := r.w.root.Open(localPath(dir))
	if err != nil {
		return
	}
	names, _ := f.Readdirnames(-1)
	f.Close()
	for _, name := range names {
		if !isTempName(name) {
			continue
		}
		if err := r.w.root.Remove(joinRel(dir, name)); err == nil {
			r.log.Debug("old temporary file removed", "path", "/"+joinRel(dir, name))
		}
	}
}

// emptyDirWanted reports whether an empty remote directory is made
// locally: when it is not filtered out, that is, when there are no
// include patterns or one matches the directory itself.
func (r *runner) emptyDirWanted(rel string) bool {
	if rel == "" || r.filter.excluded(rel) {
		return false
	}
	return len(r.opts.Include) == 0 || r.filter.file(rel)
}

// stateReader is what planning reads of the state.
type stateReader interface {
	Get(path string) (state.Record, bool, error)
	Children(dir string) (map[string]state.Record, error)
	Walk(fn func(path string, r state.Record) error) error
	Count() (int, error)
	Partials() (map[string]state.Partial, error)
	Sentinel() (state.Sentinel, bool, error)
}

var _ stateReader = (*state.Job)(nil)

// stateOrEmpty returns the job's state in db, or an empty state for a
// dry run that has no state database yet: it plans a first run.
func stateOrEmpty(db *state.DB, job string) stateReader {
	if db == nil {
		return emptyState{}
	}
	return db.Job(job)
}

type emptyState struct{}

func (emptyState) Get(string) (state.Record, bool, error)           { return state.Record{}, false, nil }
func (emptyState) Children(string) (map[string]state.Record, error) { return nil, nil }
func (emptyState) Walk(func(string, state.Record) error) error      { return nil }
func (emptyState) Count() (int, error)                              { return 0, nil }
func (emptyState) Partials() (map[string]state.Partial, error)      { return nil, nil }
func (emptyState) Sentinel() (state.Sentinel, bool, error)          { return state.Sentinel{}, false, nil }
