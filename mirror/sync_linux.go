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
