package ftpcore

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"syscall"
	"time"
)

// Conn is an FTP control connection.
//
// A single connection only supports one in-flight data connection. It is
// not safe to be called concurrently. After a command was cut off
// mid-reply (a timeout, a cancelled context, a malformed reply) the
// conversation is out of step and every later call returns an error
// wrapping ErrConnBroken: close it and dial again.
type Conn struct {
	cfg     Config
	host    string // host part of the address, for TLS and errors
	tlsConf *tls.Config

	conn   net.Conn // current control socket, plain or TLS
	budget *budgetReader
	text   *textproto.Conn

	greeting  string            // the text of the 220 greeting
	features  map[string]string // FEAT lines, upper-case name -> parameters
	loginDir  *pwdReply         // Login's PWD reply, until the next command
	broken    error
	protected bool // PROT P in force: data connections use TLS

	raw      syscall.RawConn // the control connection's TCP socket, for quickACK
	skipEPSV bool            // the server refused EPSV once
	epsvOK   bool            // an EPSV reply was used
	pasvNAT  bool            // a 227 reply named another address than the peer's
	pipeline bool            // a data transfer worked: pipeline the next ones
	inOrder  bool            // a pipelined transfer's replies came in order
	mlsd     bool            // the server offers MLSD
	listA    listAState
	stat     listAState // whether "STAT -a dir" lists
	nlst     bool       // LIST is not implemented: NLST (listNLST)
}

// listAState remembers whether the server takes "LIST -a" as an option.
type listAState uint8

const (
	listAUnknown listAState = iota
	listAWorks
	listARefused
	// listAAssumed: an earlier connection found that STAT lists
	// (Config.Listing): this one batches listings from the start, and
	// the first listings decide as for listAUnknown.
	listAAssumed
)

// Dial connects to addr ("host:port"), reads the greeting and, for
// FTPS, negotiates TLS. It does not log in; call Login next.
func Dial(ctx context.Context, addr string, cfg *Config) (*Conn, error) {
	c := &Conn{cfg: withDefaults(cfg)}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	c.host = host
	c.startListing(c.cfg.Listing)
	c.pipeline = c.cfg.PipelineFirst
	if c.cfg.TLS != TLSNone {
		c.tlsConf = tlsConfig(c.cfg.TLSConfig, host)
	}

	dctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	nc, err := c.dialer().DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	c.raw = rawConn(nc)
	if c.cfg.TLS == TLSImplicit {
		tc := tls.Client(nc, c.tlsConf)
		if err := tc.HandshakeContext(dctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("dial %s: TLS handshake: %w", addr, err)
		}
		nc = tc
		c.protected = true
	}
	c.setConn(nc)
	_, greeting, err := c.read(ctx, "", 220)
	if err != nil {
		c.conn.Close()
		return nil, fmt.Errorf("dial %s: greeting: %w", addr, err)
	}
	c.greeting = greeting
	if c.cfg.TLS == TLSExplicit {
		if err := c.authTLS(ctx); err != nil {
			c.conn.Close()
			return nil, fmt.Errorf("dial %s: %w", addr, err)
		}
	}
	return c, nil
}

func (c *Conn) dialer() *net.Dialer {
	if c.cfg.Dialer != nil {
		return c.cfg.Dialer
	}
	return &net.Dialer{}
}

// setConn makes nc the control socket, with a fresh reader and budget.
func (c *Conn) setConn(nc net.Conn) {
	c.conn = nc
	c.budget = &budgetReader{r: nc, maxBytes: c.cfg.MaxReplyBytes, maxLines: c.cfg.MaxReplyLines}
	c.text = &textproto.Conn{
		Reader: *textproto.NewReader(bufio.NewReader(c.budget)),
		Writer: *textproto.NewWriter(bufio.NewWriter(nc)),
	}
}

// Err returns nil while the connection is usable, or why it is not.
func (c *Conn) Err() error { return c.broken }

// Quit sends QUIT and closes the connection.
func (c *Conn) Quit(ctx context.Context) error {
	var err error
	if c.broken == nil {
		_, _, err = c.cmd(ctx, 0, "QUIT")
	}
	if cerr := c.conn.Close(); err == nil && !errors.Is(cerr, net.ErrClosed) {
		err = cerr
	}
	return err
}

// Close says QUIT, if the connection is usable, and closes it without
// waiting for the server's 221: the reply tells nothing, and waiting for
// it cost every connection a round trip at the end of a run. Writing
// QUIT waits at most quitWait. Use [Conn.Quit] to see the reply.
func (c *Conn) Close() error {
	if c.broken == nil {
		ctx, cancel := context.WithTimeout(context.Background(), quitWait)
		defer cancel()
		c.send(ctx, "QUIT")
	}
	c.conn.Close()
	return nil
}

// quitWait bounds how long Close waits for QUIT to go out: a server
// that stopped reading must not hold up the end of a run.
const quitWait = time.Second

// cmd sends one command and reads its reply. expect is the code wanted:
// three digits for an exact code, one digit for a class (2 means 2xx), 0
// for any (the caller looks at the code). A reply with another code is
// returned as *Error after it was read whole, so the conversation stays
// in step.
func (c *Conn) cmd(ctx context.Context, expect int, format string, args ...any) (int, string, error) {
	line := fmt.Sprintf(format, args...)
	verb, _, _ := strings.Cut(line, " ")
	if err := refuseControlBytes(line); err != nil {
		return 0, "", err
	}
	if c.broken != nil {
		return 0, "", fmt.Errorf("%s: %w", verb, c.errBroken())
	}
	c.loginDir = nil
	c.trace("> ", line)
	err := c.io(ctx, func() error {
		if err := c.text.PrintfLine("%s", line); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return 0, "", fmt.Errorf("%s: %w", verb, err)
	}
	return c.read(ctx, verb, expect)
}

// send writes several commands at once (pipelining); the caller reads
// their replies in order. Nothing is sent if one holds CR, LF or NUL.
func (c *Conn) send(ctx context.Context, lines ...string) error {
	if err := refuseControlBytes(lines...); err != nil {
		return err
	}
	if c.broken != nil {
		return c.errBroken()
	}
	c.loginDir = nil
	err := c.io(ctx, func() error {
		for _, line := range lines {
			c.trace("> ", line)
			c.text.W.WriteString(line)
			c.text.W.WriteString("\r\n")
		}
		return c.text.W.Flush()
	})
	if err != nil {
		verb, _, _ := strings.Cut(lines[0], " ")
		return fmt.Errorf("%s: %w", verb, err)
	}
	return nil
}

// errBroken is the error of a command that was not sent because the
// Conn is broken. It quotes why, with %v and not %w: the cause may be a
// reply (the 421 that closed the Conn, a refused REST whose RETR went
// out anyway), and callers must not take a dead Conn's error for a reply
// to the command they sent (a 5xx to CWD would make a directory look
// gone).
func (c *Conn) errBroken() error {
	return fmt.Errorf("%w: %v", ErrConnBroken, c.broken)
}

// refuseControlBytes returns an error if a line holds CR, LF or NUL: its
// argument would end the command early and smuggle in another. The line
// is quoted as the trace shows it, PASS's argument redacted.
func refuseControlBytes(lines ...string) error {
	for _, line := range lines {
		if strings.ContainsAny(line, "\r\n\x00") {
			verb, _, _ := strings.Cut(line, " ")
			return fmt.Errorf("%s: refusing to send an argument holding CR, LF or NUL: %q", verb, redact(line))
		}
	}
	return nil
}

// io runs one blocking step on the control connection under the idle
// timeout and ctx. Any failure leaves the conversation out of step, so it
// marks the connection broken.
func (c *Conn) io(ctx context.Context, f func() error) error {
	deadline := time.Now().Add(c.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() {
		c.conn.SetDeadline(time.Unix(1, 0))
	})
	err := f()
	if !stop() {
		if err == nil {
			// The operation finished; the poisoned deadline must not
			// carry over to the next one.
			c.conn.SetDeadline(time.Time{})
			return nil
		}
		err = ctx.Err()
	} else if err != nil && ctx.Err() != nil {
		// The socket deadline, set from ctx's, fired before the
		// AfterFunc did: report the context's error all the same.
		err = ctx.Err()
	} else if d, ok := ctx.Deadline(); ok && err != nil && !time.Now().Before(d) {
		// ... or even before ctx's own timer marked it done.
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			err = context.DeadlineExceeded
		}
	}
	if err != nil {
		var pe textproto.ProtocolError
		if errors.As(err, &pe) {
			err = fmt.Errorf("%w: %w", ErrProtocol, err)
		} else if errors.Is(err, io.EOF) {
			err = fmt.Errorf("server closed the connection: %w", io.ErrUnexpectedEOF)
		}
		c.broken = err
		c.conn.Close()
	}
	return err
}

func (c *Conn) trace(prefix, line string) {
	if c.cfg.Trace == nil {
		return
	}
	fmt.Fprintf(c.cfg.Trace, "%s%s\n", prefix, redact(line))
}

// redact hides the argument of PASS in a command line that is shown.
func redact(line string) string {
	if strings.HasPrefix(strings.ToUpper(line), "PASS ") {
		return "PASS ****"
	}
	return line
}

// Greeting returns the text of the server's 220 greeting, without the
// code (lines of a multi-line greeting joined by "\n").
func (c *Conn) Greeting() string { return c.greeting }

// TLSState returns the state of the control connection's TLS session
// (version, cipher suite, certificates); false for plain FTP.
func (c *Conn) TLSState() (tls.ConnectionState, bool) {
	if tc, ok := c.conn.(*tls.Conn); ok {
		return tc.ConnectionState(), true
	}
	return tls.ConnectionState{}, false
}

// RemoteAddr returns the server's address on the control connection.
func (c *Conn) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }
