package ftpcore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
)

// Error is a reply from the server that was not the one expected.
// Cmd is the command verb that drew it (never an argument of PASS).
type Error struct {
	Cmd  string
	Code int
	Msg  string
}

func (e *Error) Error() string {
	if e.Cmd == "" {
		return fmt.Sprintf("server said %03d %s", e.Code, e.Msg)
	}
	return fmt.Sprintf("%s: server said %03d %s", e.Cmd, e.Code, e.Msg)
}

// Temporary reports whether the reply is a 4xx transient negative
// completion (RFC 959 section 4.2).
func (e *Error) Temporary() bool { return e.Code >= 400 && e.Code < 500 }

// ErrProtocol is wrapped by errors that come from a reply the client could
// not make sense of: malformed, out of sequence, too long, or with an
// address or number that fails validation.
var ErrProtocol = errors.New("ftp protocol violation")

// ErrConnBroken is returned by every method of a Conn whose control
// connection can no longer be used (an earlier command was cut off
// mid-reply, timed out or the server closed it).
var ErrConnBroken = errors.New("ftp connection broken")

// ErrOutOfOrder is wrapped (with ErrProtocol) when a reply cannot belong
// to the command it was read for: a preliminary 1xx reply to a command
// that opens no transfer. pyftpdlib 1.5.7 in active mode answers a
// pipelined PORT's 200 only after the following RETR's or LIST's 150. The
// Conn is broken; a new one with Config.DisablePipelining works.
var ErrOutOfOrder = errors.New("reply out of order (the server does not take pipelined commands)")

// ErrShortTransfer is wrapped when a data connection delivered fewer bytes
// than the caller was promised, or the server reported failure after it.
var ErrShortTransfer = errors.New("short transfer")

// ErrTooSlow is wrapped when a data transfer stayed below Config.MinRate
// for a whole Config.Timeout: a trickle that no single read timeout
// catches.
var ErrTooSlow = errors.New("transfer too slow")

// IsTransient reports whether err is worth retrying, possibly on a new
// connection: 4xx replies (421 means the connection is gone too),
// timeouts, too slow transfers, resets, unexpected EOF, broken
// connections, and a listing that a shared ListMemory had no room for
// while other listings were in progress. 5xx replies,
// refused logins, certificate failures and cancelled contexts are
// permanent.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Temporary()
	}
	var cve *tls.CertificateVerificationError
	var uae x509.UnknownAuthorityError
	var hne x509.HostnameError
	if errors.As(err, &cve) || errors.As(err, &uae) || errors.As(err, &hne) {
		return false
	}
	if errors.Is(err, ErrConnBroken) || errors.Is(err, ErrShortTransfer) || errors.Is(err, ErrOutOfOrder) || errors.Is(err, ErrTooSlow) ||
		errors.Is(err, errListsInProgress) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}
