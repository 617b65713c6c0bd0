//go:build linux || darwin || freebsd

package mirror

import (
	"os"

	"golang.org/x/sys/unix"
)

// freeSpace returns the bytes that an unprivileged writer may still use
// on the file system that f is on, or -1 if unknown.
func freeSpace(f *os.File) int64 {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return -1
	}
	return int64(st.Bavail) * int64(st.Bsize)
}
