package ftpcore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Transfer is the data connection of one RETR, LIST, MLSD or NLST. It is
// an io.ReadCloser; Close reads the server's final reply and reports a
// failed or cut-short transfer as an error, so a deferred Close must be
// checked. Until it is closed, the Conn must not be used for anything
// else.
type Transfer struct {
	c      *Conn
	ctx    context.Context
	verb   string
	data   net.Conn
	stop   func() bool
	n      int64
	eof    bool
	err    error
	done   bool // the final reply was read already (no data connection)
	closed bool
}

var _ io.ReadCloser = (*Transfer)(nil)

// Retr starts downloading path from offset (REST STREAM, RFC 3659 5),
// or from the start when offset is zero.
func (c *Conn) Retr(ctx context.Context, path string, offset int64) (*Transfer, error) {
	if offset < 0 {
		return nil, fmt.Errorf("RETR %s: negative offset %d", path, offset)
	}
	return c.transfer(ctx, offset, "RETR %s", path)
}

// transfer sets up a data connection, sends the command and returns the
// connection once the server has accepted it.
func (c *Conn) transfer(ctx context.Context, offset int64, format string, args ...any) (*Transfer, error) {
	verb, _, _ := strings.Cut(format, " ")
	pd, err := c.prepareData(ctx)
	if err != nil {
		return nil, err
	}
	if offset > 0 {
		if _, _, err := c.cmd(ctx, 350, "REST %d", offset); err != nil {
			pd.close()
			return nil, err
		}
	}
	code, msg, err := c.cmd(ctx, 0, format, args...)
	if err != nil {
		pd.close()
		return nil, err
	}
	switch code / 100 {
	case 1:
	case 2:
		// Some servers answer an empty listing with 226 and no 150.
		pd.close()
		return &Transfer{c: c, ctx: ctx, verb: verb, eof: true, done: true, stop: func() bool { return true }}, nil
	default:
		pd.close()
		return nil, &Error{Cmd: verb, Code: code, Msg: msg}
	}
	nc, err := pd.open(ctx, c)
	if err != nil {
		// The server is waiting to send and will answer 425 at some
		// point; the conversation is no longer in step.
		c.broken = err
		c.conn.Close()
		return nil, fmt.Errorf("%s: %w", verb, err)
	}
	t := &Transfer{c: c, ctx: ctx, verb: verb, data: nc}
	t.stop = context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	return t, nil
}

// Read reads data. Each call may wait Config.Timeout for data.
func (t *Transfer) Read(p []byte) (int, error) {
	if t.eof {
		return 0, io.EOF
	}
	if t.err != nil {
		return 0, t.err
	}
	t.data.SetReadDeadline(time.Now().Add(t.c.cfg.Timeout))
	n, err := t.data.Read(p)
	t.n += int64(n)
	if err == io.EOF {
		t.eof = true
	} else if err != nil {
		if t.ctx.Err() != nil {
			err = t.ctx.Err()
		}
		t.err = fmt.Errorf("%s: data connection: %w", t.verb, err)
		err = t.err
	}
	return n, err
}

// N returns the number of bytes read so far.
func (t *Transfer) N() int64 { return t.n }

// Close closes the data connection and reads the final reply. It returns
// nil only when all data was read and the server confirmed the transfer
// (2xx). A transfer read to the end but answered with 426/451 returns an
// error wrapping ErrShortTransfer. A transfer closed before the end is
// aborted (ABOR), its replies consumed, and the Conn stays usable; Close
// then returns nil unless the Conn broke, because the caller chose to
// stop.
func (t *Transfer) Close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	t.stop()
	c := t.c
	if t.done {
		return nil
	}
	t.data.SetDeadline(time.Now().Add(time.Second))
	t.data.Close()
	// The final reply may come a while after the last byte (a server
	// checking a checksum, a slow disk), so it gets the full timeout.
	ctx := context.WithoutCancel(t.ctx)
	if t.ctx.Err() != nil {
		// Cancelled mid-transfer: the Conn was poisoned; give up on it.
		c.broken = t.ctx.Err()
		c.conn.Close()
		return t.ctx.Err()
	}
	switch {
	case t.eof:
		_, _, err := c.read(ctx, t.verb, 2)
		var fe *Error
		if errors.As(err, &fe) {
			return fmt.Errorf("%w after %d bytes: %w", ErrShortTransfer, t.n, err)
		}
		return err
	case t.err != nil:
		// The data connection failed; the server reports its side.
		c.read(ctx, t.verb, 0)
		return fmt.Errorf("%w after %d bytes: %w", ErrShortTransfer, t.n, t.err)
	default:
		return t.abort(ctx)
	}
}

// abort stops a transfer the caller no longer wants. The data connection
// is closed already, so the server's writes fail; RFC 959 then has it
// answer twice: the transfer's own reply (226 if it had finished, else
// 426) and ABOR's (226 or 225).
func (t *Transfer) abort(ctx context.Context) error {
	c := t.c
	if _, _, err := c.cmd(ctx, 0, "ABOR"); err != nil {
		return err
	}
	_, _, err := c.read(ctx, "ABOR", 0)
	return err
}
