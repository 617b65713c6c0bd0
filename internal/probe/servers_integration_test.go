package probe_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/internal/ftpservers"
	"github.com/ftpmirror/ftpmirror/internal/probe"
)

// realTree writes a few files, one of them old, and a subdirectory.
func realTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for name, data := range map[string]string{
		"a.txt":       "alpha alpha alpha\n",
		"b.bin":       string(bytes.Repeat([]byte{7}, 5000)),
		"sub/c.txt":   "see\n",
		"sub/old.txt": "old\n",
	} {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().AddDate(-2, 0, 0)
	if err := os.Chtimes(filepath.Join(root, "sub/old.txt"), old, old); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestProbeRealServers probes each real server: what every one of them
// does (LIST in Unix style, passive and active data connections, REST)
// comes out so, and the profile is printed (go test -v shows it).
func TestProbeRealServers(t *testing.T) {
	for _, name := range ftpservers.Names() {
		t.Run(name, func(t *testing.T) {
			srv := ftpservers.Start(t, name, realTree(t), nil)
			p, err := probe.Run(t.Context(), &probe.Options{Addr: srv.Addr, FTP: ftpcore.Config{Timeout: 10 * time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			probe.WriteText(&out, p)
			t.Logf("%s:\n%s", name, out.String())
			if p.Greeting == "" || p.Listing.LIST.Result != probe.Yes || p.Listing.Dialects["unix"] == 0 || p.Listing.Bad != 0 {
				t.Errorf("listing: greeting %q, %+v", p.Greeting, p.Listing)
			}
			if p.Passive.Works.Result != probe.Yes || p.Active.Result != probe.Yes {
				t.Errorf("passive %+v, active %+v: both work on loopback", p.Passive.Works, p.Active)
			}
			if p.Passive.NAT {
				t.Errorf("PASV names %s on loopback", p.Passive.PASVAddress)
			}
			if p.Rest.Result != probe.Yes {
				t.Errorf("REST: %+v", p.Rest)
			}
			if p.Clock.Samples == 0 || !p.Clock.Consistent || p.Clock.ListDay == 0 {
				t.Errorf("clock: %+v", p.Clock)
			}
			for _, f := range p.Features {
				if strings.HasPrefix(f.Name, "END") {
					t.Errorf("FEAT's closing line taken for a feature: %+v", f)
				}
			}
			// pyftpdlib 1.5.7 answers a pipelined PORT after the
			// listing's 150 (see ftpcore.ErrOutOfOrder).
			wantActive := probe.Yes
			if name == "pyftpdlib" {
				wantActive = probe.No
			}
			if p.Pipelining.Passive.Result != probe.Yes || p.Pipelining.Active.Result != wantActive {
				t.Errorf("pipelining %+v, want passive yes, active %s", p.Pipelining, wantActive)
			}
			if p.Conns.Asked != 0 || p.Conns.Opened != 0 {
				t.Errorf("connections probed without being asked: %+v", p.Conns)
			}
		})
	}
}

// TestProbeRealServersTLS: with explicit TLS, the version is known, and
// vsftpd and proftpd (as ftpservers configures them) refuse a data
// connection that does not resume the TLS session.
func TestProbeRealServersTLS(t *testing.T) {
	for _, name := range []string{"vsftpd", "proftpd", "pure-ftpd"} {
		t.Run(name, func(t *testing.T) {
			srv := ftpservers.Start(t, name, realTree(t), &ftpservers.Options{TLS: true})
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(srv.CACert)
			cfg := ftpcore.Config{TLS: ftpcore.TLSExplicit, TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}, Timeout: 10 * time.Second}
			p, err := probe.Run(t.Context(), &probe.Options{Addr: srv.Addr, FTP: cfg})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			probe.WriteText(&out, p)
			t.Logf("%s with TLS:\n%s", name, out.String())
			if p.TLS == nil || p.TLS.Version == "" {
				t.Fatalf("TLS: %+v", p.TLS)
			}
			want := probe.Yes
			if name == "pure-ftpd" {
				want = probe.No
			}
			if p.TLS.SessionReuse.Result != want {
				t.Errorf("session reuse required: %+v, want %s", p.TLS.SessionReuse, want)
			}
		})
	}
}

// TestProbeDigest: proftpd with mod_digest offers HASH and the X
// commands, and each answers (the profile the verify README names).
func TestProbeDigest(t *testing.T) {
	srv := ftpservers.Start(t, "proftpd", realTree(t), &ftpservers.Options{Digest: true})
	p, err := probe.Run(t.Context(), &probe.Options{Addr: srv.Addr, FTP: ftpcore.Config{Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	for _, cs := range p.Checksums {
		t.Logf("%s: offered %v, %+v", cs.Command, cs.Offered, cs.Check)
		if !cs.Offered || cs.Check.Result != probe.Yes {
			t.Errorf("%s: offered %v, %+v; want offered and answering", cs.Command, cs.Offered, cs.Check)
		}
	}
}
