//go:build linux

// Package powercut is a file system for tests that can lose power. It is
// an in-memory file system mounted with FUSE (github.com/hanwen/go-fuse)
// that keeps what was made durable apart from what was only written, the
// way LazyFS does for Jepsen: a power cut drops everything that no fsync,
// fdatasync, fsync of a directory or [FS.Sync] made durable, and the file
// system comes back, remounted, as it was at the last of those.
//
// The model of durability, deliberately the strictest POSIX allows:
//   - fsync or fdatasync of a file makes its content, size, mode and
//     times durable, not its name: a new file whose directory was never
//     synced is gone after a power cut.
//   - fsync of a directory makes its list of names durable; a name for a
//     file never synced comes back empty.
//   - [FS.Sync] makes everything durable, as syncfs(2) does. The kernel
//     does not pass syncfs(2) to a FUSE server (FUSE_SYNCFS is sent for
//     virtiofs only, Linux 6.x), so a test calls Sync where the code under
//     test calls syncfs: see mirror's power-cut test.
//
// A cut is armed with [FS.CutAfter] (after n more changing operations)
// or made at once with [FS.Cut]; from then on every operation fails with
// EIO, as on a disk that lost power. [FS.Restart] unmounts, throws away
// what was not durable, and mounts again at the same place.
//
// Mounting needs root and /dev/fuse; it uses mount(2) directly, so no
// fusermount is needed.
package powercut

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
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

// FS is a mounted power-cut file system. Its methods are safe for
// concurrent use.
type FS struct {
	dir string

	mu      sync.Mutex
	live    map[uint64]*inode
	durable map[uint64]*inode
	next    uint64 // next inode number
	ops     int    // changing operations so far
	cutAt   int    // power fails at this op; 0: not armed
	silent  bool   // the process does not notice the cut (FreezeAfter)
	off     bool   // the power is cut: nothing more becomes durable
	frozen  bool   // ... and operations still succeed (FreezeAfter)
	syncs   int    // Sync calls so far
	server  *fuse.Server
	conn    uint32 // the FUSE connection's number in fusectl
}

// Mount mounts an empty file system at dir, which must exist.
func Mount(dir string) (*FS, error) {
	now := time.Now()
	root := &inode{mode: syscall.S_IFDIR | 0o755, kids: map[string]uint64{}, mtime: now, atime: now}
	return MountImage(dir, &Image{inodes: map[uint64]*inode{rootIno: root}, next: rootIno + 1})
}

// Image is what an FS held durably at some moment, to mount again: the
// starting point of many tests, made once.
type Image struct {
	inodes map[uint64]*inode
	next   uint64
}

// Image returns what is durable now.
func (f *FS) Image() *Image {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &Image{inodes: cloneTable(f.durable), next: f.next}
}

// MountImage mounts at dir, which must exist, a file system that holds
// img, all of it durable.
func MountImage(dir string, img *Image) (*FS, error) {
	f := &FS{
		dir:     dir,
		live:    cloneTable(img.inodes),
		durable: cloneTable(img.inodes),
		next:    img.next,
	}
	if err := f.mount(); err != nil {
		return nil, err
	}
	return f, nil
}

// Available says why FUSE cannot be used here, or nil if it can.
func Available() error {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return fmt.Errorf("no /dev/fuse: %w", err)
	}
	if os.Geteuid() != 0 {
		return errors.New("mounting needs root")
	}
	return nil
}

// Require skips t with the reason FUSE cannot be used here; with
// CI=true, where the power-cut tests must run, it fails t instead.
func Require(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("power-cut file system unavailable with CI=true: %v", err)
		}
		t.Skipf("power-cut file system unavailable: %v", err)
	}
}

func (f *FS) mount() error {
	one := time.Second
	srv, err := fs.Mount(f.dir, &node{fs: f, ino: rootIno}, &fs.Options{
		EntryTimeout: &one,
		AttrTimeout:  &one,
		MountOptions: fuse.MountOptions{
			DirectMountStrict: true,
			FsName:            "powercut",
			Name:              "powercut",
			DisableXAttrs:     true,
		},
	})
	if err != nil {
		return fmt.Errorf("powercut: mount %s: %w", f.dir, err)
	}
	f.server = srv
	fi, err := os.Stat(f.dir)
	if err != nil {
		f.Unmount()
		return err
	}
	f.conn = unix.Minor(fi.Sys().(*syscall.Stat_t).Dev)
	return nil
}

// Dir returns the mount point.
func (f *FS) Dir() string { return f.dir }

// Unmount unmounts the file system; what it holds is lost. A file still
// open (a process that died with the power) does not stop it: the mount
// is detached and its FUSE connection aborted, and such a descriptor
// gets ENOTCONN from then on.
func (f *FS) Unmount() error {
	if err := syscall.Unmount(f.dir, 0); err != nil {
		if err := syscall.Unmount(f.dir, syscall.MNT_DETACH); err != nil {
			return fmt.Errorf("powercut: unmount %s: %w", f.dir, err)
		}
		if err := f.abort(); err != nil {
			return err
		}
	}
	f.server.Wait()
	return nil
}

// abort aborts the FUSE connection through fusectl, which it mounts if
// needed.
func (f *FS) abort() error {
	const ctl = "/sys/fs/fuse/connections"
	file := fmt.Sprintf("%s/%d/abort", ctl, f.conn)
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		if err := syscall.Mount("fusectl", ctl, "fusectl", 0, ""); err != nil && !errors.Is(err, syscall.EBUSY) {
			return fmt.Errorf("powercut: mount fusectl to abort a busy mount: %w", err)
		}
	}
	if err := os.WriteFile(file, []byte("1"), 0o200); err != nil {
		return fmt.Errorf("powercut: abort the FUSE connection of a busy mount: %w", err)
	}
	return nil
}

// Restart unmounts, drops everything that was not durable, and mounts
// again: the file system as a machine finds it after a power cut.
// Nothing may hold a file of the file system open.
func (f *FS) Restart() error {
	if err := f.Unmount(); err != nil {
		return err
	}
	f.mu.Lock()
	f.live = cloneTable(f.durable)
	f.off, f.frozen, f.cutAt, f.ops = false, false, 0, 0
	f.mu.Unlock()
	return f.mount()
}

// Sync makes everything durable, as syncfs(2) would. After a power cut
// it fails with EIO.
func (f *FS) Sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.change(); err != 0 {
		return err
	}
	if !f.frozen {
		f.syncs++
		f.durable = cloneTable(f.live)
	}
	return nil
}

// CutAfter arms a power cut: the power fails at the nth changing
// operation (create, mkdir, write, truncate, rename, unlink, rmdir,
// chmod, utimes, fsync, Sync) from now, which does not happen.
func (f *FS) CutAfter(n int) {
	f.mu.Lock()
	f.cutAt, f.silent = f.ops+n, false
	f.mu.Unlock()
}

// FreezeAfter arms a power cut that the process does not notice: at the
// nth changing operation from now the durable state freezes, and that
// operation and all later ones succeed as if nothing happened. It stands
// for a process that the power cut stops at that instant, for code
// (bbolt) that must not see its file system fail under it.
func (f *FS) FreezeAfter(n int) {
	f.mu.Lock()
	f.cutAt, f.silent = f.ops+n, true
	f.mu.Unlock()
}

// Cut cuts the power now; after FreezeAfter, operations go on
// succeeding.
func (f *FS) Cut() {
	f.mu.Lock()
	f.off = true
	f.mu.Unlock()
}

// Off reports whether the power is cut.
func (f *FS) Off() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.off
}

// Ops returns the changing operations since the last mount.
func (f *FS) Ops() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ops
}

// Syncs returns how many Sync calls succeeded since Mount.
func (f *FS) Syncs() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.syncs
}

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
