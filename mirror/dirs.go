package mirror

import (
	"container/list"
	"os"
	"path"
	"strings"
	"sync"
)

// dirCache keeps os.Roots open on the target's directories, so that the
// per-file lookups of planning (lstat, readlink) resolve one name each
// instead of walking every component of the path from the top: os.Root
// checks each component with its own openat, and on a deep tree that was
// most of the CPU a fetch cost. (Since issue 15 a fetch works in the
// staging directory, and only its final rename walks the path.) Each
// cached Root is still
// confined to the target: it is opened through the target's Root.
type dirCache struct {
	root *os.Root
	max  int

	mu   sync.Mutex
	dirs map[string]*dirEntry
	lru  list.List // of *dirEntry, most recent first
}

type dirEntry struct {
	dir  string
	r    *os.Root
	refs int
	el   *list.Element
}

func newDirCache(root *os.Root, max int) *dirCache {
	return &dirCache{root: root, max: max, dirs: map[string]*dirEntry{}}
}

// at returns a Root on the directory of rel, rel's last element, and a
// function to call when done with the Root.
func (d *dirCache) at(rel string) (*os.Root, string, func(), error) {
	dir, name := path.Split(rel)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		return d.root, name, func() {}, nil
	}
	d.mu.Lock()
	if e, ok := d.dirs[dir]; ok {
		e.refs++
		d.lru.MoveToFront(e.el)
		d.mu.Unlock()
		return e.r, name, d.releaser(e), nil
	}
	d.mu.Unlock()
	sub, err := d.root.OpenRoot(dir)
	if err != nil {
		return nil, "", nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.dirs[dir]; ok { // opened meanwhile by another worker
		sub.Close()
		e.refs++
		d.lru.MoveToFront(e.el)
		return e.r, name, d.releaser(e), nil
	}
	e := &dirEntry{dir: dir, r: sub, refs: 1}
	e.el = d.lru.PushFront(e)
	d.dirs[dir] = e
	for el := d.lru.Back(); el != nil && d.lru.Len() > d.max; {
		prev := el.Prev()
		if old := el.Value.(*dirEntry); old.refs == 0 {
			d.drop(old)
		}
		el = prev
	}
	return sub, name, d.releaser(e), nil
}

func (d *dirCache) releaser(e *dirEntry) func() {
	return func() {
		d.mu.Lock()
		e.refs--
		if e.refs == 0 && e.el == nil {
			e.r.Close() // forgotten while in use
		}
		d.mu.Unlock()
	}
}

// drop removes e from the cache; d.mu is held.
func (d *dirCache) drop(e *dirEntry) {
	d.lru.Remove(e.el)
	e.el = nil
	delete(d.dirs, e.dir)
	if e.refs == 0 {
		e.r.Close()
	}
}

// forget drops dir and everything below it, before they are removed or
// replaced.
func (d *dirCache) forget(dir string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, e := range d.dirs {
		if k == dir || strings.HasPrefix(k, dir+"/") {
			d.drop(e)
		}
	}
}

// close closes every cached Root.
func (d *dirCache) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, e := range d.dirs {
		d.drop(e)
	}
}
