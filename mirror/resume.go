package mirror

import (
	"bytes"
	"errors"
	"io"
	"os"
)

// resumeOverlap is how much of an interrupted download is fetched again
// when it is resumed, and compared with what the temporary file holds.
// A remote file rewritten with the same size and time (which a listing
// cannot tell from the old one) shows there, and is fetched from the
// start instead of spliced, old bytes then new. A change only before the
// overlap goes unseen: FTP has no checksum command that every server
// offers.
const resumeOverlap = 64 << 10

// sameOverlap reads n bytes from the transfer, which starts at offset
// at, and reports whether the temporary file f holds the same bytes
// there. A transfer that ends early means a file that changed; other
// read errors are returned.
func sameOverlap(f *os.File, xfer io.Reader, at, n int64) (bool, error) {
	remote := make([]byte, n)
	if _, err := io.ReadFull(xfer, remote); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return false, nil
		}
		return false, err
	}
	local := make([]byte, n)
	if _, err := f.ReadAt(local, at); err != nil {
		return false, permanent(err)
	}
	return bytes.Equal(local, remote), nil
}
