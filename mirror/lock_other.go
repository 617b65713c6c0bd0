//go:build !unix

package mirror

import "os"

// lockTarget is a no-op where flock(2) is missing: there, only the job
// lock of the command layer keeps two runs of one job apart.
func lockTarget(root *os.Root, target string) (func(), error) { return func() {}, nil }
