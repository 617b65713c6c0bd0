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
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

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
