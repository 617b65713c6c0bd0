package mirror

import (
	"io"
	"os"
)

// writebackChunk is how many bytes written to a fetched file make
// writeback start them: the kernel otherwise holds a big download's
// pages dirty until the syncfs before the state commit (syncTarget),
// which then waits for all of them at once, at the end of the run.
// Started as they come, their writing overlaps the transfers, and the
// syncfs (or a file's fsync) finds them on disk already. Files smaller
// than this never ask.
const writebackChunk = 8 << 20

// writeback writes to f at off and onward (through w, which writes to
// f there), and starts the writeback of every writebackChunk bytes.
type writeback struct {
	f         *os.File
	w         io.Writer
	off, from int64 // next offset; first byte not yet started
}

func newWriteback(f *os.File, w io.Writer, off int64) *writeback {
	return &writeback{f: f, w: w, off: off, from: off}
}

func (wb *writeback) Write(p []byte) (int, error) {
	n, err := wb.w.Write(p)
	wb.off += int64(n)
	if wb.off-wb.from >= writebackChunk {
		startWriteback(wb.f, wb.from, wb.off-wb.from)
		wb.from = wb.off
	}
	return n, err
}
