//go:build !linux

package mirror

import "os"

// syncPerFile: without syncfs, each fetched file is synced before it is
// closed (closeFetched), and syncfs syncs the directory given.
const syncPerFile = true

// syncfs flushes f's directory; elsewhere than Linux there is no syncfs.
var syncfs = func(f *os.File) error {
	return f.Sync()
}

// startWriteback does nothing where there is no sync_file_range: each
// file is synced as a whole (syncPerFile).
var startWriteback = func(*os.File, int64, int64) {}
