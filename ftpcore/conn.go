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
	"strconv"
	"strings"
	"syscall"
	"time"
)

// TLSMode selects FTP over TLS.
type TLSMode uint8

const (
	TLSNone     TLSMode = iota // plain FTP
	TLSExplicit                // AUTH TLS on the plain port, then PBSZ 0 and PROT P (RFC 4217)
	TLSImplicit                // TLS from the first byte (ftps://, usually port 990)
)

func (m TLSMode) String() string {
	switch m {
	case TLSExplicit:
		return "explicit"
	case TLSImplicit:
		return "implicit"
	default:
		return "none"
	}
}

// DefaultTimeout is used when Config.Timeout is zero.
const DefaultTimeout = 60 * time.Second

// DefaultMinRate is used when Config.MinRate is zero: 1 KiB/s, which a
// dial-up line beats sevenfold and a 1-byte-per-second trickle does not.
const DefaultMinRate = 1 << 10

// Config configures a Conn. The zero value (or a nil *Config) is plain FTP
// in passive mode with the default timeouts and limits.
type Config struct {
	// TLS selects plain FTP, explicit or implicit FTPS.
	TLS TLSMode
	// TLSConfig is used for the control and data connections when TLS is
	// not TLSNone. It is cloned; ServerName defaults to the host of the
	// address, and a session cache is added when it has none, so that data
	// connections resume the control connection's session. Nil means
	// verify against the system roots.
	TLSConfig *tls.Config

	// Active selects active mode (EPRT/PORT: the server connects to us)
	// instead of passive mode (EPSV/PASV: we connect to the server).
	Active bool
	// ActiveIP is the address advertised in EPRT/PORT and listened on.
	// Empty means the control connection's local address.
	ActiveIP string
	// ActivePortMin and ActivePortMax bound the ports listened on in active
	// mode. Zero means an ephemeral port chosen by the kernel.
	ActivePortMin, ActivePortMax int

	// TrustPASVAddress makes passive mode connect to the address that the
	// 227 reply names. By default the client connects to the control
	// connection's peer and uses only the port, so that a server (or a man
	// in the middle) cannot make it connect elsewhere.
	TrustPASVAddress bool
	// DisableEPSV skips EPSV and uses PASV straight away.
	DisableEPSV bool
	// DisableMLSD makes List use LIST even where MLSD is offered.
	DisableMLSD bool
	// DisableUTF8 skips OPTS UTF8 ON.
	DisableUTF8 bool
	// DisablePipelining sends one command at a time. By default, once a
	// data transfer has worked on a connection, the commands of the next
	// ones (EPSV or PORT, REST, MDTM, RETR or LIST) go out in one write
	// and their replies are read afterwards, in order. vsftpd, pure-ftpd
	// and proftpd take that.
	DisablePipelining bool
	// DisableSTAT makes List use a data connection even where the server
	// lists a directory over the control connection ("STAT -a dir").
	DisableSTAT bool

	// Timeout bounds every network operation that makes no progress: a
	// reply that does not come, a data connection that does not open or
	// stalls. Zero means DefaultTimeout.
	Timeout time.Duration
	// MinRate is the slowest a data transfer may be, in bytes per second
	// averaged over each Timeout-long window: a server that trickles a
	// byte now and then, so that no single read times out, fails the
	// transfer with ErrTooSlow after one window. Zero means
	// DefaultMinRate; negative means no minimum.
	MinRate int64
	// Location is the server's time zone for LIST times. Nil means UTC.
	Location *time.Location
	// MaxReplyBytes and MaxReplyLines bound one reply on the control
	// connection. Zero means 256 KiB and 4096 lines.
	MaxReplyBytes, MaxReplyLines int
	// MaxListBytes bounds the bytes of one directory listing, and
	// without a ListMemory also what its entries take in memory. Zero
	// means 64 MiB.
	MaxListBytes int64
	// ListMemory, if set, bounds the memory that the entries of listings
	// in progress take, together, on every Conn that shares it. Nil
	// means each listing on its own may take MaxListBytes.
	ListMemory *ListMemory

	// Dialer is used for the control and data connections. Nil means a
	// zero net.Dialer.
	Dialer *net.Dialer
	// Trace, if set, receives the control connection's conversation, one
	// line per command and reply, with the argument of PASS redacted.
	Trace io.Writer
	// Now is the clock used to place LIST dates without a year. Nil means
	// time.Now.
	Now func() time.Time
}

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
	broken    error
	protected bool // PROT P in force: data connections use TLS

	raw      syscall.RawConn // the control connection's TCP socket, for quickACK
	skipEPSV bool            // the server refused EPSV once
	pipeline bool            // a data transfer worked: pipeline the next ones
	mlsd     bool            // the server offers MLSD
	listA    listAState
	stat     listAState // whether "STAT -a dir" lists
}

// listAState remembers whether the server takes "LIST -a" as an option.
type listAState uint8

const (
	listAUnknown listAState = iota
	listAWorks
	listARefused
)

// Dial connects to addr ("host:port"), reads the greeting and, for
// FTPS, negotiates TLS. It does not log in; call Login next.
func Dial(ctx context.Context, addr string, cfg *Config) (*Conn, error) {
	c := &Conn{}
	if cfg != nil {
		c.cfg = *cfg
	}
	if c.cfg.Timeout <= 0 {
		c.cfg.Timeout = DefaultTimeout
	}
	if c.cfg.MinRate == 0 {
		c.cfg.MinRate = DefaultMinRate
	}
	if c.cfg.MaxReplyBytes <= 0 {
		c.cfg.MaxReplyBytes = defaultMaxReplyBytes
	}
	if c.cfg.MaxReplyLines <= 0 {
		c.cfg.MaxReplyLines = defaultMaxReplyLines
	}
	if c.cfg.MaxListBytes <= 0 {
		c.cfg.MaxListBytes = 64 << 20
	}
	if c.cfg.Location == nil {
		c.cfg.Location = time.UTC
	}
	if c.cfg.Now == nil {
		c.cfg.Now = time.Now
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	c.host = host
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

// authTLS upgrades the control connection with AUTH TLS (RFC 4217 4).
// Anything other than 234 is an error: with TLS required we never fall
// back to plain text, and nothing has been sent that needs protecting.
func (c *Conn) authTLS(ctx context.Context) error {
	if _, _, err := c.cmd(ctx, 234, "AUTH TLS"); err != nil {
		return fmt.Errorf("server refused TLS, not sending credentials: %w", err)
	}
	// Bytes that arrived after the 234 but before the handshake were
	// not protected: a man in the middle may have injected them.
	if n := c.text.R.Buffered(); n > 0 {
		c.broken = fmt.Errorf("%w: %d bytes after 234 before the TLS handshake", ErrProtocol, n)
		return c.broken
	}
	tc := tls.Client(c.conn, c.tlsConf)
	hctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	c.setConn(tc)
	return nil
}

// Login sends USER and, when asked, PASS; then learns the server's
// features (FEAT), turns on UTF-8 where offered, sets up data protection
// for FTPS (PBSZ 0, PROT P) and switches to binary mode (TYPE I).
// An empty user logs in as anonymous.
func (c *Conn) Login(ctx context.Context, user, password string) error {
	if user == "" {
		user = "anonymous"
		if password == "" {
			password = "ftpmirror@"
		}
	}
	code, msg, err := c.cmd(ctx, 0, "USER %s", user)
	if err != nil {
		return err
	}
	switch {
	case code == 230:
	case code == 331 || code == 332:
		code, msg, err := c.cmd(ctx, 0, "PASS %s", password)
		if err != nil {
			return err
		}
		if code != 230 && code != 202 {
			return &Error{Cmd: "PASS", Code: code, Msg: msg}
		}
	default:
		return &Error{Cmd: "USER", Code: code, Msg: msg}
	}
	// The rest of the set-up goes out in one write (unless pipelining is
	// off): one round trip instead of three or five.
	type step struct {
		line   string
		expect int
	}
	var steps []step
	if c.cfg.TLS != TLSNone {
		steps = append(steps, step{"PBSZ 0", 200}, step{"PROT P", 200})
	}
	steps = append(steps, step{"TYPE I", 200}, step{"FEAT", 0})
	var firstErr error
	for i := 0; i < len(steps); {
		n := 1
		if !c.cfg.DisablePipelining {
			n = len(steps) - i
		}
		lines := make([]string, n)
		for j := range n {
			lines[j] = steps[i+j].line
		}
		if err := c.send(ctx, lines...); err != nil {
			return err
		}
		for _, st := range steps[i : i+n] {
			verb, _, _ := strings.Cut(st.line, " ")
			code, msg, err := c.read(ctx, verb, st.expect)
			switch {
			case err != nil && !isReply(err):
				return err
			case err != nil:
				if firstErr == nil {
					firstErr = err
				}
			case verb == "FEAT":
				c.parseFeatures(code, msg)
			}
		}
		i += n
	}
	if firstErr != nil {
		return firstErr
	}
	if c.cfg.TLS != TLSNone {
		c.protected = true
	}
	if _, ok := c.features["UTF8"]; ok && !c.cfg.DisableUTF8 {
		// A refusal is harmless: names are handled as bytes either way.
		if _, _, err := c.cmd(ctx, 0, "OPTS UTF8 ON"); err != nil {
			return err
		}
	}
	return nil
}

// parseFeatures takes the server's extensions from a FEAT reply (RFC
// 2389). A server without FEAT has none.
func (c *Conn) parseFeatures(code int, msg string) {
	c.features = map[string]string{}
	if code != 211 {
		return
	}
	// The first line is the "211-Features:" text and the last the
	// "211 End" text (whose code textproto has cut off): neither is a
	// feature.
	lines := strings.Split(msg, "\n")
	if len(lines) < 3 {
		return
	}
	for _, l := range lines[1 : len(lines)-1] {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "211") {
			continue
		}
		name, params, _ := strings.Cut(l, " ")
		c.features[strings.ToUpper(name)] = params
	}
	_, c.mlsd = c.features["MLST"]
}

// Features returns the extensions the server listed in its FEAT reply,
// upper-case name to parameters. It is empty before Login.
func (c *Conn) Features() map[string]string { return c.features }

// HasFeature reports whether FEAT listed name (case-insensitive).
func (c *Conn) HasFeature(name string) bool {
	_, ok := c.features[strings.ToUpper(name)]
	return ok
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

// Err returns nil while the connection is usable, or why it is not.
func (c *Conn) Err() error { return c.broken }

// Syst returns the reply text of SYST.
func (c *Conn) Syst(ctx context.Context) (string, error) {
	_, msg, err := c.cmd(ctx, 215, "SYST")
	return msg, err
}

// Type sets the representation type: "I" for binary, "A" for ASCII.
func (c *Conn) Type(ctx context.Context, t string) error {
	_, _, err := c.cmd(ctx, 200, "TYPE %s", t)
	return err
}

// Pwd returns the current directory.
func (c *Conn) Pwd(ctx context.Context) (string, error) {
	_, msg, err := c.cmd(ctx, 257, "PWD")
	if err != nil {
		return "", err
	}
	dir, err := parsePWD(msg)
	if err != nil {
		return "", fmt.Errorf("PWD: %w", err)
	}
	return dir, nil
}

// Cwd changes the current directory.
func (c *Conn) Cwd(ctx context.Context, dir string) error {
	_, _, err := c.cmd(ctx, 250, "CWD %s", dir)
	return err
}

// Cdup changes to the parent directory.
func (c *Conn) Cdup(ctx context.Context) error {
	code, msg, err := c.cmd(ctx, 0, "CDUP")
	if err != nil {
		return err
	}
	if code != 200 && code != 250 {
		return &Error{Cmd: "CDUP", Code: code, Msg: msg}
	}
	return nil
}

// Size returns the size of a file in bytes (RFC 3659 4).
func (c *Conn) Size(ctx context.Context, path string) (int64, error) {
	_, msg, err := c.cmd(ctx, 213, "SIZE %s", path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(msg), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("SIZE %s: %w: bad size %q", path, ErrProtocol, msg)
	}
	return n, nil
}

// ModTime returns the modification time of a file, in UTC, from MDTM
// (RFC 3659 3).
func (c *Conn) ModTime(ctx context.Context, path string) (time.Time, error) {
	_, msg, err := c.cmd(ctx, 213, "MDTM %s", path)
	if err != nil {
		return time.Time{}, err
	}
	t, err := parseMDTM(msg)
	if err != nil {
		return time.Time{}, fmt.Errorf("MDTM %s: %w", path, err)
	}
	return t, nil
}

// Noop sends NOOP, to keep the connection alive or check that it is.
func (c *Conn) Noop(ctx context.Context) error {
	_, _, err := c.cmd(ctx, 200, "NOOP")
	return err
}

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

// Close closes the connection, saying QUIT first if it is usable; it
// waits at most a second for the reply.
func (c *Conn) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c.Quit(ctx)
	return nil
}

// Quote sends a raw command and returns the reply, whatever its code.
// The command must not hold CR, LF or NUL.
func (c *Conn) Quote(ctx context.Context, command string) (int, string, error) {
	return c.cmd(ctx, 0, "%s", command)
}

// cmd sends one command and reads its reply. expect is the code wanted:
// three digits for an exact code, one digit for a class (2 means 2xx), 0
// for any (the caller looks at the code). A reply with another code is
// returned as *Error after it was read whole, so the conversation stays
// in step.
func (c *Conn) cmd(ctx context.Context, expect int, format string, args ...any) (int, string, error) {
	line := fmt.Sprintf(format, args...)
	verb, _, _ := strings.Cut(line, " ")
	if strings.ContainsAny(line, "\r\n\x00") {
		return 0, "", fmt.Errorf("%s: refusing to send an argument holding CR, LF or NUL: %q", verb, line)
	}
	if c.broken != nil {
		return 0, "", fmt.Errorf("%s: %w: %v", verb, ErrConnBroken, c.broken)
	}
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
	for _, line := range lines {
		if strings.ContainsAny(line, "\r\n\x00") {
			verb, _, _ := strings.Cut(line, " ")
			return fmt.Errorf("%s: refusing to send an argument holding CR, LF or NUL: %q", verb, line)
		}
	}
	if c.broken != nil {
		return fmt.Errorf("%w: %v", ErrConnBroken, c.broken)
	}
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
			err = fmt.Errorf("%w: %v", ErrProtocol, err)
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
	if strings.HasPrefix(strings.ToUpper(line), "PASS ") {
		line = "PASS ****"
	}
	fmt.Fprintf(c.cfg.Trace, "%s%s\n", prefix, line)
}
