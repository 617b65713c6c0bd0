//go:build !unix

package state

import "os"

// unlock does nothing here: closing the file is all that can be done.
func unlock(*os.File) {}

// keepOwner gives the file the mode of the file it is to replace.
func keepOwner(old, file string) error {
	fi, err := os.Stat(old)
	if err != nil {
		return err
	}
	return os.Chmod(file, fi.Mode().Perm())
}
