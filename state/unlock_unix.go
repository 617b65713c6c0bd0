//go:build unix

package state

import (
	"os"
	"syscall"
)

// unlock drops bbolt's flock on f. Closing f alone is not enough when
// bbolt panicked with f mapped: the mapping holds the open file, and
// with it the lock, until it is unmapped, which only bbolt can do.
func unlock(f *os.File) {
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
