//go:build linux

package powercut

import (
	"context"
	"sort"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// node is the FUSE side of an inode.
type node struct {
	fs.Inode
	fs  *FS
	ino uint64
}

var (
	_ fs.NodeLookuper   = (*node)(nil)
	_ fs.NodeReaddirer  = (*node)(nil)
	_ fs.NodeGetattrer  = (*node)(nil)
	_ fs.NodeSetattrer  = (*node)(nil)
	_ fs.NodeOpener     = (*node)(nil)
	_ fs.NodeReader     = (*node)(nil)
	_ fs.NodeWriter     = (*node)(nil)
	_ fs.NodeFsyncer    = (*node)(nil)
	_ fs.NodeFlusher    = (*node)(nil)
	_ fs.NodeCreater    = (*node)(nil)
	_ fs.NodeMkdirer    = (*node)(nil)
	_ fs.NodeSymlinker  = (*node)(nil)
	_ fs.NodeReadlinker = (*node)(nil)
	_ fs.NodeUnlinker   = (*node)(nil)
	_ fs.NodeRmdirer    = (*node)(nil)
	_ fs.NodeRenamer    = (*node)(nil)
	_ fs.NodeStatfser   = (*node)(nil)
)

func (f *FS) attr(ino uint64, out *fuse.Attr) {
	n := f.live[ino]
	out.Ino = ino
	out.Mode = n.mode
	out.Size = uint64(len(n.data))
	if n.mode&syscall.S_IFMT == syscall.S_IFLNK {
		out.Size = uint64(len(n.target))
	}
	out.Blocks = (out.Size + 511) / 512
	out.Blksize = 4096
	out.Nlink = 1
	if n.isDir() {
		out.Nlink = 2
	}
	out.SetTimes(&n.atime, &n.mtime, &n.mtime)
}

// child makes the FUSE inode of ino, a child of n. f.mu is held.
func (n *node) child(ctx context.Context, ino uint64, out *fuse.EntryOut) *fs.Inode {
	n.fs.attr(ino, &out.Attr)
	mode := n.fs.live[ino].mode & syscall.S_IFMT
	return n.NewInode(ctx, &node{fs: n.fs, ino: ino}, fs.StableAttr{Mode: mode, Ino: ino})
}

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	f := n.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.look(); e != 0 {
		return nil, e
	}
	ino, ok := f.live[n.ino].kids[name]
	if !ok {
		return nil, syscall.ENOENT
	}
	return n.child(ctx, ino, out), 0
}

func (n *node) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	f := n.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.look(); e != 0 {
		return nil, e
	}
	var list []fuse.DirEntry
	for name, ino := range f.live[n.ino].kids {
		list = append(list, fuse.DirEntry{Name: name, Ino: ino, Mode: f.live[ino].mode})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	return fs.NewListDirStream(list), 0
}

func (n *node) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	f := n.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.look(); e != 0 {
		return e
	}
	if _, ok := f.live[n.ino]; !ok {
		return syscall.ENOENT
	}
	f.attr(n.ino, &out.Attr)
	return 0
}

func (n *node) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	f := n.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.change(); e != 0 {
		return e
	}
	in2 := f.live[n.ino]
	if sz, ok := in.GetSize(); ok {
		in2.data = resize(in2.data, int(sz))
		in2.mtime = time.Now()
	}
	if m, ok := in.GetMode(); ok {
		in2.mode = in2.mode&syscall.S_IFMT | m&0o7777
	}
	if t, ok := in.GetMTime(); ok {
		in2.mtime = t
	}
	if t, ok := in.GetATime(); ok {
		in2.atime = t
	}
	f.attr(n.ino, &out.Attr)
	return 0
}

func resize(b []byte, n int) []byte {
	if n <= len(b) {
		return b[:n]
	}
	c := make([]byte, n)
	copy(c, b)
	return c
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	f := n.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if flags&syscall.O_TRUNC != 0 && flags&syscall.O_ACCMODE != syscall.O_RDONLY {
		if e := f.change(); e != 0 {
			return nil, 0, e
		}
		f.live[n.ino].data = nil
		f.live[n.ino].mtime = time.Now()
		return nil, 0, 0
	}
	if e := f.look(); e != 0 {
		return nil, 0, e
	}
	return nil, 0, 0
}

func (n *node) Read(ctx context.Context, fh fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	f := n.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.look(); e != 0 {
		return nil, e
	}
	data := f.live[n.ino].data
	off = min(off, int64(len(data)))
	end := min(off+int64(len(dest)), int64(len(data)))
	return fuse.ReadResultData(append([]byte(nil), data[off:end]...)), 0
}

func (n *node) Write(ctx context.Context, fh fs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	f := n.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.change(); e != 0 {
		return 0, e
	}
	in := f.live[n.ino]
	if end := int(off) + len(data); end > len(in.data) {
		in.data = resize(in.data, end)
	}
	copy(in.data[off:], data)
	in.mtime = time.Now()
	return uint32(len(data)), 0
}

func (n *node) Flush(ctx context.Context, fh fs.FileHandle) syscall.Errno { return 0 }

func (n *node) Fsync(ctx context.Context, fh fs.FileHandle, flags uint32) syscall.Errno {
	f := n.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.change(); e != 0 {
		return e
	}
	switch {
	case f.frozen:
	case f.live[n.ino].isDir():
		f.durableDir(n.ino)
	default:
		f.durableFile(n.ino)
	}
	return 0
}

// add makes a new inode named name in n. f.mu is held.
func (n *node) add(ctx context.Context, name string, in *inode, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	f := n.fs
	if e := f.change(); e != 0 {
		return nil, e
	}
	dir := f.live[n.ino]
	if _, ok := dir.kids[name]; ok {
		return nil, syscall.EEXIST
	}
	now := time.Now()
	in.mtime, in.atime = now, now
	ino := f.next
	f.next++
	f.live[ino] = in
	dir.kids[name] = ino
	dir.mtime = now
	return n.child(ctx, ino, out), 0
}

func (n *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	f := n.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if ino, ok := f.live[n.ino].kids[name]; ok && flags&syscall.O_EXCL == 0 {
		// Raced with another creator: open what is there.
		if e := f.change(); e != 0 {
			return nil, nil, 0, e
		}
		if flags&syscall.O_TRUNC != 0 {
			f.live[ino].data = nil
		}
		return n.child(ctx, ino, out), nil, 0, 0
	}
	ch, e := n.add(ctx, name, &inode{mode: syscall.S_IFREG | mode&0o7777}, out)
	return ch, nil, 0, e
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	f := n.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	return n.add(ctx, name, &inode{mode: syscall.S_IFDIR | mode&0o7777, kids: map[string]uint64{}}, out)
}

func (n *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	f := n.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	return n.add(ctx, name, &inode{mode: syscall.S_IFLNK | 0o777, target: target}, out)
}

func (n *node) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	f := n.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.look(); e != 0 {
		return nil, e
	}
	return []byte(f.live[n.ino].target), 0
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	return n.remove(name, false)
}

func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	return n.remove(name, true)
}

func (n *node) remove(name string, dir bool) syscall.Errno {
	f := n.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.change(); e != 0 {
		return e
	}
	parent := f.live[n.ino]
	ino, ok := parent.kids[name]
	if !ok {
		return syscall.ENOENT
	}
	victim := f.live[ino]
	switch {
	case dir && !victim.isDir():
		return syscall.ENOTDIR
	case !dir && victim.isDir():
		return syscall.EISDIR
	case dir && len(victim.kids) > 0:
		return syscall.ENOTEMPTY
	}
	delete(parent.kids, name)
	parent.mtime = time.Now()
	// The inode stays in the table: open descriptors may still use it.
	return 0
}

func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	f := n.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.change(); e != 0 {
		return e
	}
	const noReplace = 1 // RENAME_NOREPLACE
	if flags&^noReplace != 0 {
		return syscall.ENOTSUP
	}
	from := f.live[n.ino]
	to := f.live[newParent.(*node).ino]
	ino, ok := from.kids[name]
	if !ok {
		return syscall.ENOENT
	}
	if old, ok := to.kids[newName]; ok {
		switch o := f.live[old]; {
		case old == ino:
			return 0
		case flags&noReplace != 0:
			return syscall.EEXIST
		case o.isDir() && !f.live[ino].isDir():
			return syscall.EISDIR
		case !o.isDir() && f.live[ino].isDir():
			return syscall.ENOTDIR
		case o.isDir() && len(o.kids) > 0:
			return syscall.ENOTEMPTY
		}
	}
	delete(from.kids, name)
	to.kids[newName] = ino
	now := time.Now()
	from.mtime, to.mtime = now, now
	return 0
}

func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	f := n.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.look(); e != 0 {
		return e
	}
	out.Bsize = 4096
	out.Frsize = 4096
	out.Blocks = 1 << 24 // 64 GiB
	out.Bfree = 1 << 23
	out.Bavail = 1 << 23
	out.Files = 1 << 20
	out.Ffree = 1 << 19
	out.NameLen = 255
	return 0
}
