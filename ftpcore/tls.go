package ftpcore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// tlsConfig returns the configuration for the control and data
// connections of one Conn: a clone of base with ServerName set and a
// session cache, so that data connections resume the control
// connection's TLS session. vsftpd refuses data connections that do not
// (require_ssl_reuse=YES, the default since 2.3.0: "522 SSL connection
// failed: session reuse required"), and so do proftpd's
// TLSOptions NoSessionReuseRequired-less configurations.
func tlsConfig(base *tls.Config, host string) *tls.Config {
	var cfg *tls.Config
	if base != nil {
		cfg = base.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		// Also the session cache's key: the data connections, made to
		// other ports, must find the control connection's session.
		cfg.ServerName = host
	}
	if cfg.ClientSessionCache == nil {
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	return cfg
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

// LoadCAFile returns a certificate pool holding the PEM certificates in
// path, for Config.TLSConfig.RootCAs.
func LoadCAFile(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate found", path)
	}
	return pool, nil
}
