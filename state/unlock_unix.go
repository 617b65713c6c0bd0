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

// keepOwner gives the file to the owner and mode of the file it is to
// replace. Only root can give a file away; anyone else made both.
func keepOwner(old, file string) error {
	fi, err := os.Stat(old)
	if err != nil {
		return err
	}
	if err := os.Chmod(file, fi.Mode().Perm()); err != nil {
		return err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
		return os.Chown(file, int(st.Uid), int(st.Gid))
	}
	return nil
}
