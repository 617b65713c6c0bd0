package ftpcore

import (
	"context"
	"strings"
)

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

// Syst returns the reply text of SYST.
func (c *Conn) Syst(ctx context.Context) (string, error) {
	_, msg, err := c.cmd(ctx, 215, "SYST")
	return msg, err
}
