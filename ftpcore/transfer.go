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
	c    *Conn
	ctx  context.Context
	verb string
	data net.Conn
	stop func() bool
	n    int64
	// The minimum rate is checked per window: winStart is when the
	// current one began, winN the byte count then.
	winStart time.Time
	winN     int64
	eof      bool
	err      error
	done     bool // the final reply was read already (no data connection)

	mtime     time.Time // RetrModTime's MDTM
	mtimeErr  error
	digest    Digest // RetrOptions.Checksum's answer
	digestErr error
	closed    bool
}

var _ io.ReadCloser = (*Transfer)(nil)

// Retr starts downloading path from offset (REST STREAM, RFC 3659 5),
// or from the start when offset is zero.
func (c *Conn) Retr(ctx context.Context, path string, offset int64) (*Transfer, error) {
	return c.RetrWith(ctx, path, offset, RetrOptions{})
}

// RetrModTime is Retr that also asks for the file's modification time
// (MDTM), in the same round trip where the connection pipelines: see
// Transfer.ModTime.
func (c *Conn) RetrModTime(ctx context.Context, path string, offset int64) (*Transfer, error) {
	return c.RetrWith(ctx, path, offset, RetrOptions{ModTime: true})
}

// RetrOptions asks for more about the file with its download, in the
// same round trip where the connection pipelines.
type RetrOptions struct {
	ModTime bool // MDTM: see Transfer.ModTime
	// Checksum, if not nil, asks the file's digest of the server before
	// the download (see Conn.PickChecksum, Transfer.Digest). It covers
	// the whole file, whatever the offset.
	Checksum *Checksum
}

// RetrWith is Retr with opts.
func (c *Conn) RetrWith(ctx context.Context, path string, offset int64, opts RetrOptions) (*Transfer, error) {
	p, err := c.prepareRetr(ctx, path, offset, opts, c.pipelines())
	if err != nil {
		return nil, err
	}
	return p.Start(ctx)
}

// prepareRetr prepares the commands of a download: see prepareTransfer.
func (c *Conn) prepareRetr(ctx context.Context, path string, offset int64, opts RetrOptions, ahead bool) (*Pending, error) {
	if offset < 0 {
		return nil, fmt.Errorf("RETR %s: negative offset %d", path, offset)
	}
	pre := extraCmds{path: path}
	if opts.ModTime {
		pre.mdtm = "MDTM " + path
	}
	if cs := opts.Checksum; cs != nil {
		pre.sum = *cs
		pre.hash = cs.Command + " " + path
	}
	return c.prepareTransfer(ctx, offset, pre, "", "RETR "+path, ahead)
}

// extraCmds are the commands asked before a download's own: MDTM and a
// checksum, each unless empty.
type extraCmds struct {
	path       string
	mdtm, hash string // the command lines
	sum        Checksum
}

// Digest returns the server's digest of the file of a transfer started
// with RetrOptions.Checksum: an *Error if the server refused, an error
// wrapping ErrProtocol if its answer made no sense.
func (t *Transfer) Digest() (Digest, error) { return t.digest, t.digestErr }

// ModTime returns the time MDTM gave for a transfer started with
// RetrModTime: an *Error if the server refused MDTM, an error wrapping
// ErrProtocol if its answer made no sense.
func (t *Transfer) ModTime() (time.Time, error) { return t.mtime, t.mtimeErr }

// transfer runs one transfer's commands (see prepareTransfer) and
// returns its data connection once the server has accepted line. Once a
// data connection has worked on this Conn, the commands go out in one
// write (pipelined) and the replies are read in order afterwards: one
// round trip instead of three or four. A refused CWD is returned as its
// *Error, whatever came after it.
func (c *Conn) transfer(ctx context.Context, offset int64, cwd, line string) (*Transfer, error) {
	p, err := c.prepareTransfer(ctx, offset, extraCmds{}, cwd, line, c.pipelines())
	if err != nil {
		return nil, err
	}
	return p.Start(ctx)
}

// pipelines reports whether a transfer's commands go out in one write:
// a data transfer worked on this Conn, and pipelining is not off.
func (c *Conn) pipelines() bool { return c.pipeline && !c.cfg.DisablePipelining }

// Pending is a transfer whose commands were sent ahead (Transfer.Next):
// Start reads their replies and opens the data connection. Until then
// the Conn must not be used for anything else; Cancel gives it up.
// Inside ftpcore every transfer is a Pending, whose commands Start sends
// one at a time where the Conn does not pipeline.
type Pending struct {
	c      *Conn
	offset int64 // REST, unless zero
	pre    extraCmds
	cwd    string // CWD's argument, unless empty
	data   string // the data connection's command (data.go)
	ln     net.Listener
	line   string // the transfer's command
	verb   string // line's verb
	// ahead: every command went out in one write; else Start sends
	// each once the reply before it is in, and stops at a refusal.
	ahead bool
	done  bool
}

// prepareTransfer prepares the commands of one transfer: CWD cwd
// (unless empty), pre's, the data connection's command, REST offset
// (unless zero) and line. With ahead, they go out now, in one write, the
// way Login sends its set-up; without, Start sends them one at a time.
// Nothing goes out if one holds CR, LF or NUL.
func (c *Conn) prepareTransfer(ctx context.Context, offset int64, pre extraCmds, cwd, line string, ahead bool) (*Pending, error) {
	p := &Pending{c: c, offset: offset, pre: pre, cwd: cwd, line: line, ahead: ahead}
	p.verb, _, _ = strings.Cut(line, " ")
	var err error
	if p.data, p.ln, err = c.dataCommand(ctx); err != nil {
		return nil, err
	}
	var lines []string
	if cwd != "" {
		lines = append(lines, "CWD "+cwd)
	}
	for _, l := range []string{pre.mdtm, pre.hash} {
		if l != "" {
			lines = append(lines, l)
		}
	}
	lines = append(lines, p.data)
	if offset > 0 {
		lines = append(lines, fmt.Sprintf("REST %d", offset))
	}
	lines = append(lines, line)
	if err = refuseControlBytes(lines...); err == nil && ahead {
		err = c.send(ctx, lines...)
	}
	if err != nil {
		if p.ln != nil {
			p.ln.Close()
		}
		return nil, err
	}
	return p, nil
}

// Next sends the commands of the download that will follow t on this
// connection (RETR path from offset, with MDTM if modTime) before t's
// final reply is read: the server finds them waiting when it has
// finished t, and their replies come without a round trip of ours in
// between. t must have been read to its end. Start the returned Pending
// after t.Close; if t.Close fails, the Pending still starts normally,
// the conversation stays in step.
func (t *Transfer) Next(ctx context.Context, path string, offset int64, modTime bool) (*Pending, error) {
	return t.NextWith(ctx, path, offset, RetrOptions{ModTime: modTime})
}

// NextWith is Next with opts.
func (t *Transfer) NextWith(ctx context.Context, path string, offset int64, opts RetrOptions) (*Pending, error) {
	if !t.eof || t.closed || !t.c.pipelines() {
		return nil, errors.New("Transfer.Next: not at the end of a transfer on a pipelining connection")
	}
	return t.c.prepareRetr(ctx, path, offset, opts, true)
}

// nextListing sends the commands of a listing of dir (absolute: CWD dir,
// then cmd) behind t, like NextWith for a download.
func (t *Transfer) nextListing(ctx context.Context, cmd, dir string) (*Pending, error) {
	if !t.eof || t.closed || !t.c.pipelines() {
		return nil, errors.New("Transfer.nextListing: not at the end of a transfer on a pipelining connection")
	}
	return t.c.prepareTransfer(ctx, 0, extraCmds{}, dir, cmd, true)
}

// Cancel gives up a Pending that will not be started. Its replies are
// still on their way, so the connection is closed.
func (p *Pending) Cancel() {
	if p.done {
		return
	}
	p.done = true
	if p.ln != nil {
		p.ln.Close()
	}
	p.c.broken = errors.New("a pipelined transfer was cancelled")
	p.c.conn.Close()
}

// step sends line, unless it went out ahead, and reads its reply (see
// cmd for expect).
func (p *Pending) step(ctx context.Context, expect int, line string) (int, string, error) {
	if !p.ahead {
		return p.c.cmd(ctx, expect, "%s", line)
	}
	verb, _, _ := strings.Cut(line, " ")
	return p.c.read(ctx, verb, expect)
}

// Start reads the replies of the transfer's commands, in order (sending
// each first unless they went out ahead), and opens the data
// connection.
func (p *Pending) Start(ctx context.Context) (*Transfer, error) {
	if p.done {
		return nil, errors.New("Pending.Start called twice or after Cancel")
	}
	p.done = true
	pd := &pendingData{ln: p.ln}
	if p.cwd != "" {
		_, _, err := p.step(ctx, 250, "CWD "+p.cwd)
		switch {
		case isReply(err) && p.ahead:
			// The commands after it went out all the same and act on
			// the directory we were in: see them through (every reply
			// must be read to stay in step), then say no.
			t, terr := p.start(ctx, pd)
			if terr == nil {
				terr = t.discard()
			}
			if terr != nil && !isReply(terr) && !errors.Is(terr, ErrShortTransfer) {
				return nil, terr
			}
			return nil, err
		case err != nil:
			pd.close()
			return nil, err
		}
	}
	return p.start(ctx, pd)
}

// start is Start after the CWD. A refusal while setting up the data
// connection (its command, REST) ends the transfer there when the
// commands go one at a time; when they went out ahead, the transfer's
// own reply is read first.
func (p *Pending) start(ctx context.Context, pd *pendingData) (*Transfer, error) {
	c := p.c
	ex, err := p.extras(ctx)
	if err != nil {
		pd.close()
		return nil, err
	}
	setupErr, err := p.openData(ctx, pd)
	if err == nil && p.offset > 0 && (setupErr == nil || p.ahead) {
		_, _, restErr := p.step(ctx, 350, fmt.Sprintf("REST %d", p.offset))
		switch {
		case !isReply(restErr):
			err = restErr
		case setupErr == nil:
			setupErr = restErr
		}
	}
	if err == nil && setupErr != nil && !p.ahead {
		err = setupErr
	}
	if err != nil {
		pd.close()
		return nil, err
	}
	code, msg, err := p.step(ctx, 0, p.line)
	if err != nil {
		pd.close()
		return nil, err
	}
	if setupErr != nil {
		pd.close()
		switch code / 100 {
		case 1:
			// The server accepted the command and waits for a data
			// connection that will not come.
			c.broken = setupErr
			c.conn.Close()
		case 4, 5:
			// The command's own refusal says more than the data
			// connection that failed because of it (a server closes
			// its passive port when it refuses RETR).
			return nil, &Error{Cmd: p.verb, Code: code, Msg: msg}
		}
		return nil, setupErr
	}
	t, err := c.startTransfer(ctx, pd, p.verb, code, msg, ex)
	if err == nil && p.ahead {
		c.inOrder = true // every reply came in order (ErrOutOfOrder otherwise)
	}
	return t, err
}

// extras reads the replies of the MDTM and checksum commands asked
// before the transfer, into a Transfer to be. A refusal or a reply that
// makes no sense is kept for Transfer.ModTime or Digest; only a failed
// connection is an error.
func (p *Pending) extras(ctx context.Context) (*Transfer, error) {
	ex := &Transfer{}
	if p.pre.mdtm != "" {
		_, msg, err := p.step(ctx, 213, p.pre.mdtm)
		switch {
		case isReply(err):
			ex.mtimeErr = err
		case err != nil:
			return nil, err
		default:
			ex.mtime, ex.mtimeErr = mdtmTime(p.pre.path, msg)
		}
	}
	if p.pre.hash != "" {
		_, msg, err := p.step(ctx, 2, p.pre.hash)
		switch {
		case isReply(err):
			ex.digestErr = err
		case err != nil:
			return nil, err
		default:
			ex.digest, ex.digestErr = checksumDigest(p.pre.sum, p.pre.path, msg)
		}
	}
	return ex, nil
}

// isReply reports whether err is a reply from the server (the
// conversation is in step) rather than a failure of the connection.
func isReply(err error) bool {
	var fe *Error
	return errors.As(err, &fe)
}

// startTransfer finishes a transfer once the command's first reply is
// in: code and msg.
func (c *Conn) startTransfer(ctx context.Context, pd *pendingData, verb string, code int, msg string, ex *Transfer) (*Transfer, error) {
	switch code / 100 {
	case 1:
	case 2:
		// Some servers answer an empty listing with 226 and no 150.
		pd.close()
		t := withExtras(&Transfer{c: c, ctx: ctx, verb: verb, eof: true, done: true, stop: func() bool { return true }}, ex)
		return t, nil
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
	t := withExtras(&Transfer{c: c, ctx: ctx, verb: verb, data: nc, winStart: time.Now()}, ex)
	c.pipeline = true
	t.stop = context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	return t, nil
}

// Read reads data. Each call may wait Config.Timeout for data, and the
// transfer fails with ErrTooSlow once a Timeout-long window brought
// fewer than Config.MinRate bytes per second.
func (t *Transfer) Read(p []byte) (int, error) {
	if t.eof {
		return 0, io.EOF
	}
	if t.err != nil {
		return 0, t.err
	}
	window := t.c.cfg.Timeout
	idleEnd := time.Now().Add(window)
	for {
		now := time.Now()
		if elapsed := now.Sub(t.winStart); elapsed >= window {
			if min := t.c.cfg.MinRate; min > 0 && float64(t.n-t.winN) < float64(min)*elapsed.Seconds() {
				t.err = fmt.Errorf("%s: data connection: %w: %d bytes in %v, less than %d bytes/s",
					t.verb, ErrTooSlow, t.n-t.winN, elapsed.Round(time.Millisecond), min)
				return 0, t.err
			}
			t.winStart, t.winN = now, t.n
		}
		// Wake up at the end of the window too, so that a trickle is
		// caught on time and not only at the idle timeout.
		deadline := idleEnd
		if end := t.winStart.Add(window); end.Before(deadline) {
			deadline = end
		}
		t.data.SetReadDeadline(deadline)
		if t.ctx.Err() != nil {
			// ctx's AfterFunc may have run before the line above
			// undid its deadline.
			t.data.SetDeadline(time.Unix(1, 0))
		}
		n, err := t.data.Read(p)
		t.n += int64(n)
		var ne net.Error
		if n == 0 && errors.As(err, &ne) && ne.Timeout() && t.ctx.Err() == nil && time.Now().Before(idleEnd) {
			continue // the window ended, not the idle timeout
		}
		if err == io.EOF {
			t.eof = true
			// Close now: vsftpd sends its final reply only once it
			// sees our end of the data connection close.
			t.data.Close()
		} else if err != nil {
			if t.ctx.Err() != nil {
				err = t.ctx.Err()
			}
			t.err = fmt.Errorf("%s: data connection: %w", t.verb, err)
			err = t.err
		}
		return n, err
	}
}

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
	case t.err != nil && stalled(t.err):
		// A server that stopped sending, or trickles, may as well never
		// send its final reply: waiting another Timeout for it would
		// double what a stalled server costs. Drop the Conn instead.
		c.broken = t.err
		c.conn.Close()
		return fmt.Errorf("%w after %d bytes: %w", ErrShortTransfer, t.n, t.err)
	case t.err != nil:
		// The data connection failed; the server reports its side.
		c.read(ctx, t.verb, 0)
		return fmt.Errorf("%w after %d bytes: %w", ErrShortTransfer, t.n, t.err)
	default:
		return t.abort(ctx)
	}
}

// abort stops a transfer the caller no longer wants. The data connection
// is closed already, so the server's writes fail. RFC 959 then has it
// answer twice, the transfer's own reply (226 if it had finished, else
// 426) and ABOR's (226 or 225), but servers differ: pure-ftpd 1.0.50
// answers an ABOR that stops a TLS transfer only once, and discards
// commands that come with the ABOR. So once the first reply is in, a
// NOOP follows, and replies are read up to NOOP's 200: whatever the
// server does, the conversation is in step afterwards.
func (t *Transfer) abort(ctx context.Context) error {
	c := t.c
	if _, _, err := c.cmd(ctx, 0, "ABOR"); err != nil {
		return err
	}
	if err := c.send(ctx, "NOOP"); err != nil {
		return err
	}
	for range 4 {
		code, _, err := c.read(ctx, "ABOR", 0)
		if err != nil {
			return err
		}
		if code == 200 {
			return nil
		}
	}
	c.broken = fmt.Errorf("%w: no reply to NOOP after ABOR", ErrProtocol)
	c.conn.Close()
	return c.broken
}

// discard reads what is left of a transfer that nobody wants, within
// Config.MaxListBytes, and closes it.
func (t *Transfer) discard() error {
	_, err := io.Copy(io.Discard, io.LimitReader(t, t.c.cfg.MaxListBytes))
	if cerr := t.Close(); err == nil {
		err = cerr
	}
	return err
}

// stalled reports whether a data connection failed for want of data: an
// idle timeout or ErrTooSlow.
func stalled(err error) bool {
	var ne net.Error
	return errors.Is(err, ErrTooSlow) || (errors.As(err, &ne) && ne.Timeout())
}

// withExtras copies the answers that came before the transfer (see
// Pending.extras) into t, and returns t. ex may be nil.
func withExtras(t, ex *Transfer) *Transfer {
	if ex != nil {
		t.mtime, t.mtimeErr, t.digest, t.digestErr = ex.mtime, ex.mtimeErr, ex.digest, ex.digestErr
	}
	return t
}
