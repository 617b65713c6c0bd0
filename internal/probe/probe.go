package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
)

// DefaultActiveTimeout is how long Run waits for an active data
// connection when Options.ActiveTimeout is zero.
const DefaultActiveTimeout = 5 * time.Second

// MaxConnections bounds Options.MaxConnections.
const MaxConnections = 64

// Options says what server to probe and how far.
type Options struct {
	Addr           string // host:port
	User, Password string // "" user: anonymous
	// Dir is the directory to probe: relative to the login directory
	// unless it starts with '/'; "" is the login directory.
	Dir string
	// FTP is the connection's configuration (TLS, certificates,
	// Timeout). Active and DisablePipelining are ignored: Run tries
	// both modes, and pipelining.
	FTP ftpcore.Config
	// ActiveTimeout bounds the wait for the server to connect back in
	// active mode. Zero means DefaultActiveTimeout.
	ActiveTimeout time.Duration
	// MaxConnections, if positive, makes Run open up to this many
	// connections at once (at most MaxConnections) to find the server's
	// limit. Zero means no extra connection is opened.
	MaxConnections int
	// Samples is how many recent files to compare with MDTM. Zero
	// means 5.
	Samples int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// LoginError is returned by Run when it could not connect or log in:
// nothing was probed.
type LoginError struct{ Err error }

func (e *LoginError) Error() string { return e.Err.Error() }
func (e *LoginError) Unwrap() error { return e.Err }

// prober holds one Run's state.
type prober struct {
	opts  Options
	p     *Profile
	c     *ftpcore.Conn // the main (passive) connection
	now   time.Time
	root  []ftpcore.Entry // the probed directory's LIST entries
	files []file          // files seen in listings, for REST and checksums
}

// file is a file seen in a LIST listing.
type file struct {
	dir   string
	entry ftpcore.Entry
}

func (f file) path() string { return path.Join(f.dir, f.entry.Name) }

// Run probes the server. It returns a *LoginError when it could not
// connect or log in; every later failure is recorded in the Profile.
// When ctx ends, it returns what it learned so far with ctx's error.
func Run(ctx context.Context, opts *Options) (*Profile, error) {
	r := &prober{opts: *opts}
	o := &r.opts
	if o.ActiveTimeout <= 0 {
		o.ActiveTimeout = DefaultActiveTimeout
	}
	if o.Samples <= 0 {
		o.Samples = 5
	}
	o.MaxConnections = min(o.MaxConnections, MaxConnections)
	if o.Now == nil {
		o.Now = time.Now
	}
	o.FTP.Active, o.FTP.DisablePipelining = false, false
	r.now = o.Now()
	user := o.User
	if user == "" {
		user = "anonymous"
	}
	r.p = &Profile{Server: o.Addr, User: user, When: r.now.UTC()}

	c, err := r.dial(ctx, o.FTP)
	if err != nil {
		return nil, &LoginError{Err: err}
	}
	r.c = c
	defer func() { bye(r.c) }()
	r.basics(ctx)
	r.listing(ctx)
	r.clock(ctx)
	r.passive(ctx)
	r.rest(ctx)
	r.checksums(ctx)
	r.active(ctx)
	r.tlsReuse(ctx)
	r.connections(ctx)
	return r.p, ctx.Err()
}

// dial connects and logs in with cfg.
func (r *prober) dial(ctx context.Context, cfg ftpcore.Config) (*ftpcore.Conn, error) {
	c, err := ftpcore.Dial(ctx, r.opts.Addr, &cfg)
	if err != nil {
		return nil, err
	}
	if err := c.Login(ctx, r.opts.User, r.opts.Password); err != nil {
		bye(c)
		return nil, fmt.Errorf("login to %s as %s: %w", r.opts.Addr, r.p.User, err)
	}
	return c, nil
}

// conn returns the main connection, dialled again if a probe broke it.
func (r *prober) conn(ctx context.Context) (*ftpcore.Conn, error) {
	if r.c.Err() == nil {
		return r.c, nil
	}
	c, err := r.dial(ctx, r.opts.FTP)
	if err != nil {
		return nil, err
	}
	bye(r.c)
	r.c = c
	return c, nil
}

// basics: greeting, SYST, FEAT, TLS, and the directory to probe.
func (r *prober) basics(ctx context.Context) {
	c, p := r.c, r.p
	p.Greeting = c.Greeting()
	if sys, err := c.Syst(ctx); err == nil {
		p.System = sys
	}
	for name, params := range c.Features() {
		p.Features = append(p.Features, Feature{Name: name, Params: params})
	}
	sortFeatures(p.Features)
	if st, ok := c.TLSState(); ok {
		p.TLS = &TLS{Mode: r.opts.FTP.TLS.String(), Version: tls.VersionName(st.Version), Cipher: tls.CipherSuiteName(st.CipherSuite),
			SessionReuse: unknown("")}
	}
	p.Dir = r.opts.Dir
	if !strings.HasPrefix(p.Dir, "/") {
		// As ftpmirror ls and sync do: an absolute path is listed by
		// CWD, so a missing directory is an error, not an empty listing.
		if pwd, err := c.Pwd(ctx); err == nil && strings.HasPrefix(pwd, "/") {
			p.Dir = path.Join(pwd, p.Dir)
		}
	}
}

// passive asks EPSV and PASV by hand, to see the replies: whether PASV
// names another address than the control connection's peer.
func (r *prober) passive(ctx context.Context) {
	p := &r.p.Passive
	c, err := r.conn(ctx)
	if err != nil {
		p.EPSV, p.PASV = unknown(err.Error()), unknown(err.Error())
		return
	}
	p.EPSV = replyCheck(c.Quote(ctx, "EPSV"))
	if p.EPSV.Result == Yes && !strings.HasPrefix(p.EPSV.Detail, "229") {
		p.EPSV.Result = No
	}
	code, msg, err := c.Quote(ctx, "PASV")
	p.PASV = replyCheck(code, msg, err)
	if err != nil || code != 227 {
		p.PASV.Result = No
		return
	}
	ip, _, perr := ftpcore.ParsePASV(msg)
	if perr != nil {
		p.PASV = no(perr.Error())
		return
	}
	p.PASVAddress = ip.String()
	if peer := hostIP(c.RemoteAddr()); peer != nil && !ip.Equal(peer) {
		p.NAT = true
	}
	// The server now waits for a data connection that will not come;
	// the next command replaces it. A NOOP proves the conversation is in
	// step.
	if err := c.Noop(ctx); err != nil && !isReply(err) {
		p.PASV.Detail += "; then: " + err.Error()
	}
}

// replyCheck makes a Check of a raw command's reply: Yes for 1xx-3xx.
func replyCheck(code int, msg string, err error) Check {
	if err != nil {
		return no(err.Error())
	}
	text := fmt.Sprintf("%03d %s", code, firstLine(msg))
	if code >= 400 {
		return no(text)
	}
	return yes(text)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return strings.TrimSpace(s)
}

func isReply(err error) bool {
	var fe *ftpcore.Error
	return errors.As(err, &fe)
}

// active lists the directory on a second connection in active mode,
// waiting at most ActiveTimeout for the server to connect back; then
// lists again, pipelined, to see whether PORT's reply comes in order.
func (r *prober) active(ctx context.Context) {
	p := r.p
	cfg := r.opts.FTP
	cfg.Active = true
	c, err := r.dial(ctx, cfg)
	if err != nil {
		p.Active = unknown("could not open a second connection: " + err.Error())
		p.Pipelining.Active = unknown("")
		return
	}
	defer bye(c)
	actx, cancel := context.WithTimeout(ctx, r.opts.ActiveTimeout)
	_, err = c.ListLines(actx, "LIST", p.Dir)
	cancel()
	switch {
	case err == nil:
		p.Active = yes("")
	case (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)) && ctx.Err() == nil:
		// The accept's deadline is actx's: either error may come.
		p.Active = no(fmt.Sprintf("no data connection from the server within %v (a firewall or NAT between us, or the server cannot connect out)", r.opts.ActiveTimeout))
	default:
		p.Active = no(err.Error())
	}
	if p.Active.Result != Yes {
		p.Pipelining.Active = unknown("active mode does not work")
		return
	}
	p.Pipelining.Active = pipelined(ctx, c, "LIST", p.Dir)
}

// pipelined lists dir twice with cmd on c: once a transfer has worked on
// a connection, ftpcore sends the next one's commands in one write.
func pipelined(ctx context.Context, c *ftpcore.Conn, cmd, dir string) Check {
	var err error
	for range 2 {
		if _, err = c.ListLines(ctx, cmd, dir); err != nil {
			break
		}
	}
	switch {
	case err == nil:
		return yes("")
	case errors.Is(err, ftpcore.ErrOutOfOrder):
		return no(err.Error())
	}
	return unknown(err.Error())
}

// tlsReuse lists on a connection whose TLS sessions are never resumed:
// a server that requires resumption refuses its data connection.
func (r *prober) tlsReuse(ctx context.Context) {
	if r.p.TLS == nil {
		return
	}
	if r.p.Passive.Works.Result != Yes {
		r.p.TLS.SessionReuse = unknown("no data connection worked to try it on")
		return
	}
	cfg := r.opts.FTP
	if cfg.TLSConfig != nil {
		cfg.TLSConfig = cfg.TLSConfig.Clone()
	} else {
		cfg.TLSConfig = &tls.Config{}
	}
	cfg.TLSConfig.SessionTicketsDisabled = true
	c, err := r.dial(ctx, cfg)
	if err != nil {
		r.p.TLS.SessionReuse = unknown("could not open a connection without session resumption: " + err.Error())
		return
	}
	defer bye(c)
	if _, err := c.ListLines(ctx, "LIST", r.p.Dir); err != nil {
		r.p.TLS.SessionReuse = yes("without resumption: " + err.Error())
		return
	}
	r.p.TLS.SessionReuse = no("a data connection without resumption worked")
}

// connections opens connections, besides the main one, until the
// server refuses one or MaxConnections are open; then closes them.
func (r *prober) connections(ctx context.Context) {
	n := r.opts.MaxConnections
	if n <= 0 {
		return
	}
	cs := &r.p.Conns
	cs.Asked = n
	if _, err := r.conn(ctx); err != nil {
		cs.Reply = err.Error()
		return
	}
	cs.Opened = 1
	var extra []*ftpcore.Conn
	defer func() {
		for _, c := range extra {
			bye(c)
		}
	}()
	for cs.Opened < n {
		c, err := r.dial(ctx, r.opts.FTP)
		if err != nil {
			// A refusal (421 or 530 "too many") is the limit; a
			// timeout or reset says nothing for sure.
			if isReply(err) {
				cs.Limit = cs.Opened
			}
			cs.Reply = err.Error()
			return
		}
		extra = append(extra, c)
		cs.Opened++
	}
}

// bye ends a probe connection and waits (a little) for the server's
// 221: a server counts a session until it has handled the QUIT, and the
// connection-limit probe must not count ours that are on their way out.
func bye(c *ftpcore.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c.Quit(ctx)
}
