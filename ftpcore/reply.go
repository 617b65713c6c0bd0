package ftpcore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
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

// read reads one reply. See cmd.
func (c *Conn) read(ctx context.Context, verb string, expect int) (int, string, error) {
	var code int
	var msg string
	err := c.io(ctx, func() error {
		var err error
		c.budget.reset()
		quickACK(c.raw)
		code, msg, err = c.text.ReadResponse(0)
		if c.budget.exceeded != nil {
			return c.budget.exceeded
		}
		return err
	})
	if err != nil {
		if verb != "" {
			err = fmt.Errorf("%s: %w", verb, err)
		}
		return 0, "", err
	}
	c.trace("< ", fmt.Sprintf("%03d %s", code, msg))
	if code/100 == 1 && verb != "" && !mayBePreliminary(verb) {
		// The reply of a later command: the replies are out of step.
		c.broken = fmt.Errorf("%w: %w: %s answered %03d %s", ErrProtocol, ErrOutOfOrder, verb, code, msg)
		c.conn.Close()
		return code, msg, c.broken
	}
	if code == 421 {
		// "Service not available, closing control connection."
		c.broken = &Error{Cmd: verb, Code: code, Msg: msg}
		c.conn.Close()
	}
	if !codeMatches(code, expect) {
		return code, msg, &Error{Cmd: verb, Code: code, Msg: msg}
	}
	return code, msg, nil
}

// mayBePreliminary reports whether a reply read for verb may be a
// preliminary 1xx one: the commands that open a transfer, and ABOR, whose
// replies are read together with the aborted transfer's.
func mayBePreliminary(verb string) bool {
	switch strings.ToUpper(verb) {
	case "RETR", "LIST", "MLSD", "NLST", "STOR", "STOU", "APPE", "ABOR":
		return true
	}
	return false
}

func codeMatches(code, expect int) bool {
	switch {
	case expect == 0:
		return true
	case expect < 10:
		return code/100 == expect
	default:
		return code == expect
	}
}
