package jobs

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/mirror"
	"github.com/ftpmirror/ftpmirror/state"
)

// hintError is an error with the next step the operator can take.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() + "; next: " + e.hint }
func (e *hintError) Unwrap() error { return e.err }

// WithNextStep returns err with the next step the operator can take
// appended ("; next: ..."), or err itself when it says that already. o
// describes what was tried (server address, FTP settings), cred who.
func WithNextStep(err error, o *mirror.Options, cred Login) error {
	if step := nextStep(err, o, cred); step != "" {
		return &hintError{err: err, hint: step}
	}
	return err
}

// nextStep says what to do about a run's error, or "" when the error
// says it already.
func nextStep(err error, o *mirror.Options, cred Login) string {
	var fe *ftpcore.Error
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var invalid x509.CertificateInvalidError
	var dnsErr *net.DNSError
	var netErr net.Error
	var locked *mirror.TargetLockedError
	switch {
	case errors.As(err, &locked):
		return "wait for that run to end; two runs must not write one target at once"
	case errors.Is(err, state.ErrLocked):
		return "another run uses this state database; wait for it, or give this job its own -state"
	case errors.As(err, &fe) && fe.Code == 530 && mentionsTLS(fe.Msg),
		errors.As(err, &fe) && fe.Code == 421 && mentionsTLS(fe.Msg):
		return `the server wants TLS: add -tls explicit (job key tls = "explicit"), or use an ftps:// URL for implicit TLS`
	case errors.As(err, &fe) && fe.Cmd == "USER" && fe.Code/100 == 5:
		return fmt.Sprintf("the server refused the user %s before any password: check the user name (-user, or user@ in the URL); the server may take anonymous logins only", cred.Who())
	case errors.As(err, &fe) && fe.Cmd == "PASS" && fe.Code/100 == 5:
		user := cred.Who()
		if cred.From == "" && user != "anonymous" && user != "ftp" {
			host, _, _ := net.SplitHostPort(o.Addr)
			return fmt.Sprintf("no password was found for %s@%s: ftpmirror looked in %s; set $FTPMIRROR_PASSWORD, add it to ~/.netrc, or use the job keys password_env or password_file",
				user, host, strings.Join(cred.Looked, ", "))
		}
		if cred.From == "" {
			return "the server refused an anonymous login: give -user (or user@ in the URL) and a password"
		}
		return fmt.Sprintf("the server refused the login as %s (password from %s): check the user and the password", user, cred.From)
	case errors.As(err, &unknownCA), errors.As(err, &badHost), errors.As(err, &invalid):
		return "the server's certificate is not trusted here: give the CA that signed it with -tls-ca-file FILE (job key tls_ca_file), or, knowing the risk, skip the check with -tls-insecure (tls_insecure = true)"
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("nothing answers on %s: check the URL's host and port, and that the server runs", o.Addr)
	case errors.As(err, &dnsErr):
		return "the host name does not resolve: check the URL's host"
	case errors.As(err, &netErr) && netErr.Timeout() && errors.Is(err, mirror.ErrNotStarted):
		return fmt.Sprintf("%s did not answer within -timeout %v: check the host, the port and any firewall between", o.Addr, o.FTP.Timeout)
	case errors.Is(err, mirror.ErrNotStarted) && errors.As(err, &fe) && fe.Code/100 == 5:
		return `check the URL's path with "ftpmirror ls URL": paths are relative to the login directory, and %2F makes one absolute (ftp://host/%2Fpub)`
	case errors.Is(err, ftpcore.ErrNotListed):
		return `check the URL's path with "ftpmirror ls URL": paths are relative to the login directory, and %2F makes one absolute (ftp://host/%2Fpub)`
	}
	return ""
}

// mentionsTLS reports whether a server's reply asks for encryption:
// vsftpd "530 Non-anonymous sessions must use encryption.", pure-ftpd
// "421 Sorry, cleartext sessions and weak ciphers are not accepted on
// this server", proftpd "550 SSL/TLS required on the control channel".
func mentionsTLS(msg string) bool {
	m := strings.ToLower(msg)
	for _, w := range []string{"encryption", "tls", "ssl", "cleartext"} {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}
