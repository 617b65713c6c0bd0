package ftpcore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// pendingData is a data connection being set up before the command that
// uses it: dialed already in passive mode, listening in active mode.
type pendingData struct {
	conn net.Conn     // passive
	ln   net.Listener // active
}

func (p *pendingData) close() {
	if p.conn != nil {
		p.conn.Close()
	}
	if p.ln != nil {
		p.ln.Close()
	}
}

// peerIP is the server's address on the control connection: the only
// address data connections are made to or accepted from.
func (c *Conn) peerIP() net.IP {
	if a, ok := c.conn.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP
	}
	return nil
}

// dataCommand returns the command that sets up the next data
// connection: in active mode EPRT or PORT, with the listener it names;
// else EPSV, or PASV where EPSV is off or was refused.
func (c *Conn) dataCommand(ctx context.Context) (string, net.Listener, error) {
	switch {
	case c.cfg.Active:
		ln, portCmd, err := c.activeListen(ctx)
		return portCmd, ln, err
	case c.skipEPSV || c.cfg.DisableEPSV:
		return "PASV", nil, nil
	}
	return "EPSV", nil, nil
}

// openData reads the reply to the data connection's command (sending
// it first unless it went out ahead) and, in passive mode, connects to
// the port the reply names. A refusal or an unusable reply is setupErr,
// with the conversation in step; err is a failure of the control
// connection.
func (p *Pending) openData(ctx context.Context, pd *pendingData) (setupErr, err error) {
	if pd.ln != nil {
		_, _, err := p.step(ctx, 200, p.data)
		if isReply(err) {
			return err, nil
		}
		return nil, err
	}
	verb := p.data
	code, msg, err := p.step(ctx, 0, verb)
	if err != nil {
		return nil, err
	}
	if verb == "EPSV" && code/100 == 5 {
		// vsftpd with listen_ipv6=NO and many embedded servers refuse
		// EPSV; do not ask again on this connection. (Where the
		// commands went out ahead, this transfer fails; the next one
		// asks PASV.)
		p.c.skipEPSV = true
		if !p.ahead {
			verb = "PASV"
			if code, msg, err = p.step(ctx, 0, verb); err != nil {
				return nil, err
			}
		}
	}
	pd.conn, setupErr = p.c.dialPassive(ctx, verb, code, msg)
	return setupErr, nil
}

// dialPassive connects to the port of an EPSV (229) or PASV (227) reply.
// The address in a 227 reply is not trusted: the port is used with the
// control connection's peer address, unless Config.TrustPASVAddress.
func (c *Conn) dialPassive(ctx context.Context, verb string, code int, msg string) (net.Conn, error) {
	peer := c.peerIP()
	if peer == nil {
		return nil, errors.New("passive: control connection has no TCP peer")
	}
	ip, port := peer, 0
	switch {
	case verb == "EPSV" && code == 229:
		p, err := parseEPSV(msg)
		if err != nil {
			return nil, fmt.Errorf("EPSV: %w", err)
		}
		port = p
		c.epsvOK = true
	case verb == "PASV" && code == 227:
		if peer.To4() == nil {
			return nil, errors.New("passive: server refused EPSV and PASV cannot reach an IPv6 address")
		}
		pasvIP, p, err := parsePASV(msg)
		if err != nil {
			return nil, fmt.Errorf("PASV: %w", err)
		}
		port = p
		c.pasvNAT = c.pasvNAT || !pasvIP.Equal(peer)
		if c.cfg.TrustPASVAddress {
			ip = pasvIP
		}
	default:
		return nil, &Error{Cmd: verb, Code: code, Msg: msg}
	}
	if port < 1024 && !c.cfg.TrustPASVAddress {
		// No server listens for passive data on a privileged port; a
		// reply naming one (22, 25) would have us talk to another
		// service of the server's host.
		return nil, fmt.Errorf("%s: %w: privileged port %d in reply %q", verb, ErrProtocol, port, msg)
	}
	addr := net.JoinHostPort(ip.String(), strconv.Itoa(port))
	dctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	nc, err := c.dialer().DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("data connection to %s: %w", addr, err)
	}
	return nc, nil
}

// activeListen listens for the server's data connection and returns the
// command that tells the server where: PORT for IPv4, EPRT for IPv6.
func (c *Conn) activeListen(ctx context.Context) (net.Listener, string, error) {
	ip := c.conn.LocalAddr().(*net.TCPAddr).IP
	if c.cfg.ActiveIP != "" {
		ip = net.ParseIP(c.cfg.ActiveIP)
		if ip == nil {
			return nil, "", fmt.Errorf("active: bad address %q", c.cfg.ActiveIP)
		}
	}
	ln, err := c.listen(ctx, ip)
	if err != nil {
		return nil, "", err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if ip4 := ip.To4(); ip4 != nil {
		return ln, fmt.Sprintf("PORT %d,%d,%d,%d,%d,%d", ip4[0], ip4[1], ip4[2], ip4[3], port>>8, port&0xff), nil
	}
	return ln, fmt.Sprintf("EPRT |2|%s|%d|", ip.String(), port), nil
}

func (c *Conn) listen(ctx context.Context, ip net.IP) (net.Listener, error) {
	var lc net.ListenConfig
	lo, hi := c.cfg.ActivePortMin, c.cfg.ActivePortMax
	if lo <= 0 || hi < lo {
		return lc.Listen(ctx, "tcp", net.JoinHostPort(ip.String(), "0"))
	}
	var err error
	for p := lo; p <= hi; p++ {
		var ln net.Listener
		ln, err = lc.Listen(ctx, "tcp", net.JoinHostPort(ip.String(), strconv.Itoa(p)))
		if err == nil {
			return ln, nil
		}
	}
	return nil, fmt.Errorf("active: no free port in %d-%d: %w", lo, hi, err)
}

// open finishes the data connection once the server has accepted the
// command (preliminary 1xx reply): in active mode it accepts the
// server's connection, and with PROT P it runs the TLS handshake,
// resuming the control connection's session.
func (p *pendingData) open(ctx context.Context, c *Conn) (net.Conn, error) {
	nc := p.conn
	if p.ln != nil {
		var err error
		nc, err = acceptFrom(ctx, p.ln, c.peerIP(), c.cfg.Timeout)
		p.ln.Close()
		p.ln = nil
		if err != nil {
			return nil, err
		}
	}
	p.conn = nil
	if !c.protected {
		return nc, nil
	}
	tc := tls.Client(nc, c.tlsConf)
	hctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("data connection: TLS handshake: %w", err)
	}
	return tc, nil
}

// acceptFrom accepts one connection from ip within timeout. Connections
// from any other address are closed: in active mode a third party could
// otherwise race the server to the port and feed us its data.
func acceptFrom(ctx context.Context, ln net.Listener, ip net.IP, timeout time.Duration) (net.Conn, error) {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if tl, ok := ln.(*net.TCPListener); ok {
		tl.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var refused []string
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if len(refused) > 0 {
				return nil, fmt.Errorf("active: %w from %s (refused %v): %w", ErrNoConnectBack, ip, refused, err)
			}
			return nil, fmt.Errorf("active: %w from %s: %w", ErrNoConnectBack, ip, err)
		}
		if a, ok := nc.RemoteAddr().(*net.TCPAddr); ok && a.IP.Equal(ip) {
			return nc, nil
		}
		if len(refused) < 4 {
			refused = append(refused, nc.RemoteAddr().String())
		}
		nc.Close()
	}
}
