//go:build !unix

package state

import "os"

// unlock does nothing here: closing the file is all that can be done.
func unlock(*os.File) {}
