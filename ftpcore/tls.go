package ftpcore

import (
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
