package ftpcore

import (
	"bytes"
	"fmt"
	"io"
)

// Defaults for the reply budget. A reply of the control connection is
// normally a line or two; FEAT and STAT are the longest, a few KiB.
const (
	defaultMaxReplyBytes = 256 << 10
	defaultMaxReplyLines = 4096
)

// budgetReader sits under the control connection's bufio.Reader and
// fails once the current reply has used up its bytes or lines, so that an
// endless reply line or an endless multi-line reply costs bounded memory
// and fails with a clear error instead of growing textproto's buffers.
// The budget is reset before each command.
//
// bufio.Reader.ReadLine hands out a partial line without the error that
// cut it short (the error comes with the next call), so a reply read
// whole may still have run out of budget: callers check exceeded after
// each read.
type budgetReader struct {
	r                  io.Reader
	maxBytes, maxLines int
	bytes, lines       int
	exceeded           error
}

func (b *budgetReader) reset() { b.bytes, b.lines = 0, 0 }

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.bytes >= b.maxBytes {
		b.exceeded = fmt.Errorf("%w: reply longer than %d bytes", ErrProtocol, b.maxBytes)
		return 0, b.exceeded
	}
	if b.lines >= b.maxLines {
		b.exceeded = fmt.Errorf("%w: reply longer than %d lines", ErrProtocol, b.maxLines)
		return 0, b.exceeded
	}
	if rest := b.maxBytes - b.bytes; len(p) > rest {
		p = p[:rest]
	}
	n, err := b.r.Read(p)
	b.bytes += n
	b.lines += bytes.Count(p[:n], []byte{'\n'})
	return n, err
}
