//go:build !linux

package mirror

import "os"

// syncfs flushes f's directory; elsewhere than Linux there is no syncfs.
var syncfs = func(f *os.File) error {
	return f.Sync()
}
