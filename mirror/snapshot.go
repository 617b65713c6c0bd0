package mirror

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Atomic snapshots (Options.Publish = PublishSnapshot). Readers use
// Target/current, a relative symlink to one complete version; a run
// builds the next version beside it and switches the link in one
// rename(2), so a reader that resolves current once (opens it, or reads
// the link) sees the old tree or the new one, never a mix:
//
//	Target/current -> snapshots/20261130T011500Z   what readers use
//	Target/snapshots/20261130T011500Z/             a published version
//	Target/snapshots/next/                         the version being built
//
// next starts as hard links to the newest published version (made in
// next.tmp, then renamed), so unchanged files cost one link each and no
// bytes. The run is an ordinary one with next as its target: fetches
// write temporary files and rename them over the links, never into a
// linked file, so an older version keeps its bytes; deletions remove
// links in next only. The state describes next: its paths are relative
// to the mirror root, which is next's. Only a run that ends ok renames
// next to its timestamp and switches current; any other run leaves next
// as it is, and the next run goes on in it (its partial downloads
// resume, and the state still describes it). Of the published versions
// the newest KeepSnapshots stay; older ones are removed, never the one
// current names. The run locks Target itself (one writer), and the
// inner run locks next too.
const (
	snapshotsDir   = "snapshots"
	nextSnapshot   = "snapshots/next"
	nextBuilding   = "snapshots/next.tmp"
	currentLink    = "current"
	currentNew     = "current.tmp"
	snapshotLayout = "20060102T150405Z"
)

// PublishMode says how a run makes its changes visible.
type PublishMode uint8

const (
	PublishInPlace  PublishMode = iota // write into Target, file by file
	PublishSnapshot                    // build a new version, then switch Target/current
)

// ParsePublishMode parses "inplace" or "snapshot".
func ParsePublishMode(s string) (PublishMode, error) {
	switch s {
	case "", "inplace":
		return PublishInPlace, nil
	case "snapshot":
		return PublishSnapshot, nil
	}
	return 0, errors.New("publish: want inplace or snapshot, not " + s)
}

func (m PublishMode) String() string {
	if m == PublishSnapshot {
		return "snapshot"
	}
	return "inplace"
}

// keepSnapshots returns how many published versions stay.
func (o *Options) keepSnapshots() int {
	if o.KeepSnapshots > 0 {
		return o.KeepSnapshots
	}
	return 2
}

// runSnapshot is Run for PublishSnapshot.
func runSnapshot(ctx context.Context, opts *Options) (*Summary, error) {
	inner := *opts
	inner.Publish = PublishInPlace
	if opts.DryRun {
		// Plan against the version a real run would build on; write
		// nothing, not even snapshots/.
		inner.Target = filepath.Join(opts.Target, filepath.FromSlash(dryRunBase(opts.Target)))
		return Run(ctx, &inner)
	}
	start := time.Now()
	// The target, its lock and snapshots/next are made only once the
	// server has answered and the remote root is proven (beforeWrite),
	// as an in-place run makes its target: a run that cannot connect
	// leaves nothing behind.
	var s snapshots
	defer func() {
		if s.root != nil {
			s.root.Close()
		}
	}()
	inner.beforeWrite = func() error {
		if err := os.MkdirAll(opts.Target, 0o755); err != nil {
			return fmt.Errorf("target: %w", err)
		}
		root, err := os.OpenRoot(opts.Target)
		if err != nil {
			return fmt.Errorf("target: %w", err)
		}
		s.root = root
		release, err := lockTarget(root, opts.Target)
		if err != nil {
			return err
		}
		s.release = release
		if err := s.prepare(); err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		return nil
	}
	defer func() {
		if s.release != nil {
			s.release()
		}
	}()
	inner.Target = filepath.Join(opts.Target, filepath.FromSlash(nextSnapshot))
	sum, err := Run(ctx, &inner)
	if err != nil || sum.Result != ResultOK {
		return sum, err // current stays; next is where the next run goes on
	}
	if sum.SentinelUnchanged {
		return sum, nil // nothing new upstream: current stays the newest version
	}
	if sum.Snapshot, err = s.publish(start); err != nil {
		sum.Result = ResultFailed
		return sum, fmt.Errorf("snapshot: %w", err)
	}
	if err := s.prune(opts.keepSnapshots()); err != nil {
		sum.Errors = append(sum.Errors, escapeText("snapshot: "+err.Error()))
	}
	return sum, nil
}

// dryRunBase is the directory, relative to target, that a real run
// would build on: next if there is one, else the newest published
// version, else next (missing: an empty tree).
func dryRunBase(target string) string {
	if fi, err := os.Stat(filepath.Join(target, filepath.FromSlash(nextSnapshot))); err == nil && fi.IsDir() {
		return nextSnapshot
	}
	root, err := os.OpenRoot(target)
	if err != nil {
		return nextSnapshot
	}
	defer root.Close()
	if names, _ := (snapshots{root: root}).published(); len(names) > 0 {
		return path.Join(snapshotsDir, names[len(names)-1])
	}
	return nextSnapshot
}

// snapshots is a target's snapshots/ and current, through its Root.
type snapshots struct {
	root    *os.Root
	release func() // the target's lock (lockTarget), once taken
}

// published returns the names of the published versions, oldest first.
func (s snapshots) published() ([]string, error) {
	entries, err := fs.ReadDir(s.root.FS(), snapshotsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && isSnapshotName(e.Name()) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, err
}

// isSnapshotName: a timestamp, with "-N" if two runs had the same second.
func isSnapshotName(name string) bool {
	ts, _, _ := strings.Cut(name, "-")
	_, err := time.Parse(snapshotLayout, ts)
	return err == nil
}

// current returns the name of the version current points to, or "".
func (s snapshots) current() string {
	l, err := s.root.Readlink(currentLink)
	if err != nil {
		return ""
	}
	dir, name := path.Split(l)
	if dir != snapshotsDir+"/" {
		return ""
	}
	return name
}

// prepare makes sure current names the newest published version (a run
// cut between publishing and switching left it behind), and that next
// exists, made from that version.
func (s snapshots) prepare() error {
	if err := s.root.MkdirAll(snapshotsDir, 0o755); err != nil {
		return err
	}
	names, err := s.published()
	if err != nil {
		return err
	}
	newest := ""
	if len(names) > 0 {
		newest = names[len(names)-1]
	}
	if newest != "" && s.current() != newest {
		if err := s.switchTo(newest); err != nil {
			return err
		}
	}
	if _, err := s.root.Lstat(nextSnapshot); err == nil {
		return nil // a run that did not end ok: go on in it
	}
	if err := s.root.RemoveAll(nextBuilding); err != nil {
		return err
	}
	if err := s.root.Mkdir(nextBuilding, 0o755); err != nil {
		return err
	}
	if newest != "" {
		if err := s.linkTree(path.Join(snapshotsDir, newest), nextBuilding); err != nil {
			return fmt.Errorf("link %s into a new version: %w", newest, err)
		}
	}
	return s.root.Rename(nextBuilding, nextSnapshot)
}

// linkTree makes dst a copy of src of hard links: directories are made,
// files linked, symlinks made anew. Temporary files and the staging
// directory are left out.
func (s snapshots) linkTree(src, dst string) error {
	return fs.WalkDir(s.root.FS(), src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == src {
			return err
		}
		rel := strings.TrimPrefix(p, src+"/")
		to := path.Join(dst, rel)
		switch {
		case rel == stagingDir || isTempName(d.Name()):
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		case d.IsDir():
			return s.root.Mkdir(to, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			l, err := s.root.Readlink(p)
			if err != nil {
				return err
			}
			return s.root.Symlink(l, to)
		case d.Type().IsRegular():
			return s.root.Link(p, to)
		}
		return nil // devices, sockets: never the mirror's
	})
}

// publish renames next to its name, a timestamp of the run's start,
// and switches current to it. Each step is durable before the next: the
// links and files of next (a run that fetched nothing committed no
// batch, so nothing synced them yet), then the rename, then the switch;
// after a power cut current never names a version that is not whole.
func (s snapshots) publish(start time.Time) (string, error) {
	s.root.Remove(path.Join(nextSnapshot, stagingDir)) // if empty; a successful run stages nothing
	if err := s.sync(".", syncfs); err != nil {
		return "", err
	}
	name := start.UTC().Format(snapshotLayout)
	for i := 2; ; i++ {
		if _, err := s.root.Lstat(path.Join(snapshotsDir, name)); errors.Is(err, fs.ErrNotExist) {
			break
		}
		name = fmt.Sprintf("%s-%d", start.UTC().Format(snapshotLayout), i)
	}
	if err := s.root.Rename(nextSnapshot, path.Join(snapshotsDir, name)); err != nil {
		return "", err
	}
	if err := s.sync(snapshotsDir, (*os.File).Sync); err != nil {
		return "", err
	}
	return name, s.switchTo(name)
}

// sync opens dir and syncs it with how.
func (s snapshots) sync(dir string, how func(*os.File) error) error {
	f, err := s.root.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return how(f)
}

// switchTo points current at the version name in one rename, and makes
// the switch durable.
func (s snapshots) switchTo(name string) error {
	if err := s.root.Remove(currentNew); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := s.root.Symlink(path.Join(snapshotsDir, name), currentNew); err != nil {
		return err
	}
	if err := s.root.Rename(currentNew, currentLink); err != nil {
		return fmt.Errorf("switch %s: %w (is %s a directory? move it away)", currentLink, err, currentLink)
	}
	return s.sync(".", (*os.File).Sync)
}

// prune removes the oldest published versions beyond keep, never the
// one current names.
func (s snapshots) prune(keep int) error {
	names, err := s.published()
	if err != nil {
		return err
	}
	cur := s.current()
	for i := 0; i < len(names)-keep; i++ {
		if names[i] == cur {
			continue
		}
		if err := s.root.RemoveAll(path.Join(snapshotsDir, names[i])); err != nil {
			return err
		}
	}
	return nil
}
