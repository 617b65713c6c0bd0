package ftpcore

import (
	"context"
	"fmt"
	"strings"
)

// Login sends USER and, when asked, PASS; then learns the server's
// features (FEAT), turns on UTF-8 where offered, sets up data protection
// for FTPS (PBSZ 0, PROT P), switches to binary mode (TYPE I) and, with
// pipelining on, asks for the login directory (see [Conn.Pwd]).
// An empty user logs in as anonymous.
//
// With pipelining on, this takes two round trips: USER and PASS go out
// in one write where the password is no secret or the connection is
// protected by TLS (see [Conn.user]), and the set-up commands in one
// more.
func (c *Conn) Login(ctx context.Context, user, password string) error {
	if user == "" {
		user = "anonymous"
		if password == "" {
			password = "ftpmirror@"
		}
	}
	if err := c.user(ctx, user, password); err != nil {
		return err
	}
	if err := c.setup(ctx); err != nil {
		return err
	}
	if c.cfg.TLS != TLSNone {
		c.protected = true
	}
	return nil
}

// user logs in with USER and PASS. It sends both in one write when
// pipelining is on and sending PASS before USER's reply gives nothing
// away: the connection is TLS (Dial finished AUTH TLS before this), or
// the login is anonymous, whose password is no secret. Otherwise a
// server that refuses USER on a plain connection ("530 TLS required")
// would get a password that it never asked for.
//
// RFC 959 allows a 230 to USER; a PASS that went out behind it gets
// "503 Already logged in" (proftpd), "230" (vsftpd) or some other reply,
// which is read and ignored.
func (c *Conn) user(ctx context.Context, user, password string) error {
	pipelined := !c.cfg.DisablePipelining && (c.cfg.TLS != TLSNone || isAnonymous(user))
	if !pipelined {
		code, msg, err := c.cmd(ctx, 0, "USER %s", user)
		if err != nil {
			return err
		}
		switch {
		case code == 230:
			return nil
		case code == 331 || code == 332:
			return c.pass(ctx, password, false)
		}
		return &Error{Cmd: "USER", Code: code, Msg: msg}
	}
	if err := c.send(ctx, "USER "+user, "PASS "+password); err != nil {
		return err
	}
	code, msg, err := c.read(ctx, "USER", 0)
	if err != nil {
		return err
	}
	switch {
	case code == 331 || code == 332:
		return c.pass(ctx, password, true)
	case code == 230:
		// PASS was not wanted: its reply, whatever it is, changes
		// nothing. Only a broken connection counts.
		_, _, err := c.read(ctx, "PASS", 0)
		if err != nil && !isReply(err) {
			return err
		}
		return nil
	}
	// USER refused: read PASS's reply too, unless the refusal closed
	// the connection (421), so that a caller who tries again is in step.
	if c.broken == nil {
		c.read(ctx, "PASS", 0)
	}
	return &Error{Cmd: "USER", Code: code, Msg: msg}
}

// pass sends PASS (unless it went out already) and checks its reply.
func (c *Conn) pass(ctx context.Context, password string, sent bool) error {
	var code int
	var msg string
	var err error
	if sent {
		code, msg, err = c.read(ctx, "PASS", 0)
	} else {
		code, msg, err = c.cmd(ctx, 0, "PASS %s", password)
	}
	if err != nil {
		return err
	}
	if code != 230 && code != 202 {
		return &Error{Cmd: "PASS", Code: code, Msg: msg}
	}
	return nil
}

// isAnonymous reports whether user is one of RFC 1635's anonymous
// logins, whose password is an e-mail address at most.
func isAnonymous(user string) bool {
	return strings.EqualFold(user, "anonymous") || strings.EqualFold(user, "ftp")
}

// setup sends the commands that follow the login, all in one write
// unless pipelining is off: one round trip instead of four to six. With
// pipelining, OPTS UTF8 ON goes out before FEAT's reply says whether the
// server has UTF8 (a server without it refuses it, which is harmless:
// names are handled as bytes either way), and PWD's reply is kept for
// the first [Conn.Pwd].
func (c *Conn) setup(ctx context.Context) error {
	var lines []string
	if c.cfg.TLS != TLSNone {
		lines = append(lines, "PBSZ 0", "PROT P")
	}
	lines = append(lines, "TYPE I", "FEAT")
	pipelined := !c.cfg.DisablePipelining
	if pipelined {
		if !c.cfg.DisableUTF8 {
			lines = append(lines, "OPTS UTF8 ON")
		}
		lines = append(lines, "PWD")
	}
	var firstErr error
	for i := 0; i < len(lines); {
		n := 1
		if pipelined {
			n = len(lines) - i
		}
		if err := c.send(ctx, lines[i:i+n]...); err != nil {
			return err
		}
		for _, line := range lines[i : i+n] {
			if err := c.setupReply(ctx, line); err != nil && !isReply(err) {
				return err
			} else if err != nil && firstErr == nil {
				firstErr = err
			}
		}
		i += n
	}
	if firstErr != nil {
		return firstErr
	}
	if _, ok := c.features["UTF8"]; ok && !c.cfg.DisableUTF8 && !pipelined {
		// A refusal is harmless, as above.
		if _, _, err := c.cmd(ctx, 0, "OPTS UTF8 ON"); err != nil {
			return err
		}
	}
	return nil
}

// setupReply reads the reply to one of setup's commands. Only the
// replies to PBSZ, PROT and TYPE must be 200.
func (c *Conn) setupReply(ctx context.Context, line string) error {
	verb, _, _ := strings.Cut(line, " ")
	expect := 0
	switch verb {
	case "PBSZ", "PROT", "TYPE":
		expect = 200
	}
	code, msg, err := c.read(ctx, verb, expect)
	switch {
	case err != nil:
		return err
	case verb == "FEAT":
		c.parseFeatures(code, msg)
	case verb == "PWD":
		c.loginDir = &pwdReply{code: code, msg: msg}
	}
	return nil
}

// pwdReply is the reply to the PWD that Login sent, kept for the first
// [Conn.Pwd] if no other command came between.
type pwdReply struct {
	code int
	msg  string
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

// Syst returns the reply text of SYST.
func (c *Conn) Syst(ctx context.Context) (string, error) {
	_, msg, err := c.cmd(ctx, 215, "SYST")
	return msg, err
}

// Pwd returns the current directory. Right after Login it answers from
// the reply to the PWD that Login sent, without a round trip.
func (c *Conn) Pwd(ctx context.Context) (string, error) {
	var msg string
	if p := c.loginDir; p != nil {
		c.loginDir = nil
		if p.code != 257 {
			return "", &Error{Cmd: "PWD", Code: p.code, Msg: p.msg}
		}
		msg = p.msg
	} else {
		var err error
		if _, msg, err = c.cmd(ctx, 257, "PWD"); err != nil {
			return "", err
		}
	}
	dir, err := parsePWD(msg)
	if err != nil {
		return "", fmt.Errorf("PWD: %w", err)
	}
	return dir, nil
}
