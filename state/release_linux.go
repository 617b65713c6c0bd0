package state

import (
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// release drops the mapped pages of tx's database from this process's
// memory: they stay in the page cache, and the next read maps them in
// again. bbolt maps the file read-only and shared, so nothing is lost.
// tx, a read transaction, keeps bbolt from remapping the file meanwhile.
func release(tx *bolt.Tx) {
	_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, tx.DB().Info().Data, uintptr(tx.Size()), syscall.MADV_DONTNEED)
}
