package mirror

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncfs flushes the whole file system that f is on: one call for a
// batch of files instead of an fsync each.
func syncfs(f *os.File) error {
	return unix.Syncfs(int(f.Fd()))
}
