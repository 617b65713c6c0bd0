//go:build !(linux || darwin || freebsd)

package mirror

import "os"

// freeSpace returns -1: unknown on this platform.
func freeSpace(*os.File) int64 { return -1 }
