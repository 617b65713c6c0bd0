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
