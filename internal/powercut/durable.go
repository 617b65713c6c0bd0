//go:build linux

package powercut

import (
	"syscall"
	"time"
)

// inode is one file, directory or symbolic link, in the live or the
// durable table.
type inode struct {
	mode   uint32 // type and permission bits, as in stat(2)
	data   []byte
	target string            // symlink
	kids   map[string]uint64 // directory: name -> inode number
	mtime  time.Time
	atime  time.Time
}

func (n *inode) clone() *inode {
	c := *n
	c.data = append([]byte(nil), n.data...)
	if n.kids != nil {
		c.kids = make(map[string]uint64, len(n.kids))
		for k, v := range n.kids {
			c.kids[k] = v
		}
	}
	return &c
}

func (n *inode) isDir() bool { return n.mode&syscall.S_IFMT == syscall.S_IFDIR }

const rootIno = 1

func cloneTable(t map[uint64]*inode) map[uint64]*inode {
	c := make(map[uint64]*inode, len(t))
	for ino, n := range t {
		c[ino] = n.clone()
	}
	return c
}

// change counts one changing operation and fails it if the power is, or
// goes, off (unless the cut is silent). f.mu is held.
func (f *FS) change() syscall.Errno {
	if f.off && !f.frozen {
		return syscall.EIO
	}
	f.ops++
	if f.cutAt > 0 && f.ops >= f.cutAt && !f.off {
		f.off, f.frozen = true, f.silent
	}
	if f.off && !f.frozen {
		return syscall.EIO
	}
	return 0
}

// look fails every operation once the power is off, unless the cut is
// silent. f.mu is held.
func (f *FS) look() syscall.Errno {
	if f.off && !f.frozen {
		return syscall.EIO
	}
	return 0
}

// durableFile makes the content and attributes of ino durable (fsync).
// f.mu is held.
func (f *FS) durableFile(ino uint64) {
	n := f.live[ino]
	d := n.clone()
	if old, ok := f.durable[ino]; ok && n.isDir() {
		// A directory's fsync is about its names: see durableDir.
		d.kids = old.kids
	}
	if n.isDir() {
		if _, ok := f.durable[ino]; !ok {
			d.kids = map[string]uint64{}
		}
	}
	f.durable[ino] = d
}

// durableDir makes the names in directory ino durable (fsync of a
// directory). Entries new to the durable table come back empty.
func (f *FS) durableDir(ino uint64) {
	n := f.live[ino]
	d, ok := f.durable[ino]
	if !ok {
		d = n.clone()
		f.durable[ino] = d
	}
	d.kids = make(map[string]uint64, len(n.kids))
	for name, k := range n.kids {
		d.kids[name] = k
		if _, ok := f.durable[k]; !ok {
			c := f.live[k].clone()
			c.data = nil
			if c.isDir() {
				c.kids = map[string]uint64{}
			}
			f.durable[k] = c
		}
	}
}
