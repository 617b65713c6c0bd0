package mirror

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncPerFile: syncfs makes the files of a batch durable at once.
const syncPerFile = false

// syncfs flushes the whole file system that f is on: one call for a
// batch of files instead of an fsync each. A variable for the power-cut
// test, which must see it: FUSE is not told of syncfs(2).
var syncfs = func(f *os.File) error {
	return unix.Syncfs(int(f.Fd()))
}

// startWriteback starts writing f's bytes [off, off+n) to disk, without
// waiting for it (sync_file_range with SYNC_FILE_RANGE_WRITE): only to
// have it done sooner (writeback). Durability still comes from syncfs.
var startWriteback = func(f *os.File, off, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
	})
}
