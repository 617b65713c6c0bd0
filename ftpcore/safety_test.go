package ftpcore

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The tests in this file hold ftpcore's own guards (issue 11), each
// with a typed error or an observable effect: what the server received,
// whether a connection was made.

// The pipelined send path (STAT listings, queued RETRs) refuses CR, LF
// and NUL like cmd does: nothing is sent, so the server never sees an
// injected command and the connection stays usable.
func TestSendRefusesControlBytes(t *testing.T) {
	f := newFakeServer(t, loginHandlers())
	c := dialFake(t, f, nil)
	if err := c.Login(t.Context(), "", ""); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"a\r\nDELE x", "a\nDELE x", "a\x00DELE"} {
		if _, err := c.ListSTAT(t.Context(), dir); err == nil {
			t.Errorf("ListSTAT(%q) succeeded", dir)
		}
	}
	for _, cmd := range f.got() {
		if strings.Contains(cmd, "DELE") || strings.HasPrefix(cmd, "STAT -a a") {
			t.Errorf("server saw %q", cmd)
		}
	}
	if err := c.Type(t.Context(), "I"); err != nil {
		t.Fatalf("connection out of step: %v", err)
	}
}

// statListing is a vsftpd-style STAT -a reply of n files.
func statListing(n int) string {
	var b strings.Builder
	b.WriteString("213-Status follows:\r\n")
	b.WriteString("drwxr-xr-x    2 0        0            4096 Jan 01  2024 .\r\n")
	for i := range n {
		// Padded: many bytes on the wire for little held in memory, so
		// that the byte budget, not the listing memory, is what trips.
		fmt.Fprintf(&b, "-rw-r--r--    1 0        0%s3 Jan 01  2024 file-%06d\r\n", strings.Repeat(" ", 200), i)
	}
	b.WriteString("213 End of status\r\n")
	return b.String()
}

// A STAT listing is read within Config.MaxListBytes: a longer one fails
// with ErrProtocol, a shorter one is listed.
func TestSTATListingLimit(t *testing.T) {
	h := loginHandlers()
	h["STAT"] = func(s *fakeSession, _ string) { s.reply(statListing(200)) } // about 54 KB, 200 entries
	h["NOOP"] = func(s *fakeSession, _ string) { s.reply("200 ok\r\n") }
	f := newFakeServer(t, h)
	for _, tc := range []struct {
		max     int64
		wantErr bool
	}{{64 << 10, false}, {32 << 10, true}} {
		c := dialFake(t, f, &Config{MaxListBytes: tc.max})
		if err := c.Login(t.Context(), "", ""); err != nil {
			t.Fatal(err)
		}
		entries, err := c.ListSTAT(t.Context(), "/d")
		switch {
		case tc.wantErr && !errors.Is(err, ErrProtocol):
			t.Errorf("MaxListBytes %d: %d entries, err %v; want ErrProtocol", tc.max, len(entries), err)
		case !tc.wantErr && (err != nil || len(entries) != 200):
			t.Errorf("MaxListBytes %d: %d entries, err %v; want 200", tc.max, len(entries), err)
		}
	}
}

// dataServer serves payload, at one byte per gap if gap > 0, to every
// data connection on 127.0.0.1, and counts them.
func dataServer(t *testing.T, payload string, gap time.Duration) (port int, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close() })
	accepted = new(atomic.Int32)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				defer c.Close()
				if gap == 0 {
					io.WriteString(c, payload)
					return
				}
				for i := range len(payload) {
					if _, err := c.Write([]byte{payload[i]}); err != nil {
						return
					}
					select {
					case <-done:
						return
					case <-time.After(gap):
					}
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, accepted
}

// epsvHandlers answers EPSV with port and a transfer command with 150,
// then 226 once the client closed the data connection or it ended.
func epsvHandlers(port int, verbs ...string) map[string]func(s *fakeSession, arg string) {
	h := loginHandlers()
	h["EPSV"] = func(s *fakeSession, _ string) {
		s.reply("229 Entering Extended Passive Mode (|||" + strconv.Itoa(port) + "|)\r\n")
	}
	for _, v := range verbs {
		h[v] = func(s *fakeSession, _ string) {
			s.reply("150 here\r\n")
			s.reply("226 done\r\n")
		}
	}
	h["ABOR"] = func(s *fakeSession, _ string) { s.reply("226 aborted\r\n") }
	h["NOOP"] = func(s *fakeSession, _ string) { s.reply("200 ok\r\n") }
	return h
}

// A listing over a data connection is read within Config.MaxListBytes.
func TestDataListingLimit(t *testing.T) {
	var b strings.Builder
	for i := range 200 {
		// Padded: many bytes on the wire for little held in memory, so
		// that the byte budget, not the listing memory, is what trips.
		fmt.Fprintf(&b, "-rw-r--r--    1 0        0%s3 Jan 01  2024 file-%06d\r\n", strings.Repeat(" ", 200), i)
	}
	port, _ := dataServer(t, b.String(), 0)
	f := newFakeServer(t, epsvHandlers(port, "LIST"))
	for _, tc := range []struct {
		max     int64
		wantErr bool
	}{{64 << 10, false}, {32 << 10, true}} {
		c := dialFake(t, f, &Config{MaxListBytes: tc.max, DisableSTAT: true})
		if err := c.Login(t.Context(), "", ""); err != nil {
			t.Fatal(err)
		}
		entries, err := c.ListLIST(t.Context(), "/d")
		switch {
		case tc.wantErr && !errors.Is(err, ErrProtocol):
			t.Errorf("MaxListBytes %d: %d entries, err %v; want ErrProtocol", tc.max, len(entries), err)
		case !tc.wantErr && (err != nil || len(entries) != 200):
			t.Errorf("MaxListBytes %d: %d entries, err %v; want 200", tc.max, len(entries), err)
		}
	}
}

// A passive reply naming a privileged port is refused before any
// connection: on the control connection's host, port 22 or 25 is
// another service.
func TestPassivePrivilegedPort(t *testing.T) {
	// As root, listen where the reply points, to see that nobody comes.
	var came atomic.Int32
	if os.Geteuid() == 0 {
		dataListener(t, "127.0.0.1:1021", "EVIL", &came)
	}
	for _, reply := range []string{
		"229 Entering Extended Passive Mode (|||1021|)\r\n",
		"227 Entering Passive Mode (127,0,0,1,3,253)\r\n",
	} {
		h := epsvHandlers(0, "RETR")
		h["EPSV"] = func(s *fakeSession, _ string) { s.reply(reply) }
		h["PASV"] = h["EPSV"]
		f := newFakeServer(t, h)
		c := dialFake(t, f, &Config{DisableEPSV: strings.HasPrefix(reply, "227")})
		if err := c.Login(t.Context(), "", ""); err != nil {
			t.Fatal(err)
		}
		x, err := c.Retr(t.Context(), "/f", 0)
		if err == nil {
			x.Close()
		}
		if !errors.Is(err, ErrProtocol) {
			t.Errorf("%q: err = %v, want ErrProtocol", reply, err)
		}
	}
	if came.Load() != 0 {
		t.Errorf("%d connections to the privileged port", came.Load())
	}
}

// A transfer slower than Config.MinRate fails with ErrTooSlow, though
// bytes keep coming (no idle timeout would end it).
func TestMinRate(t *testing.T) {
	port, _ := dataServer(t, strings.Repeat("x", 200), 20*time.Millisecond) // 50 bytes/s for 4 s
	f := newFakeServer(t, epsvHandlers(port, "RETR"))
	c := dialFake(t, f, &Config{Timeout: 300 * time.Millisecond, MinRate: 1000})
	if err := c.Login(t.Context(), "", ""); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	x, err := c.Retr(ctx, "/f", 0)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, x)
	x.Close()
	if !errors.Is(err, ErrTooSlow) {
		t.Fatalf("read %d bytes, err = %v; want ErrTooSlow", n, err)
	}
}

// selfSigned returns a server certificate for 127.0.0.1 and a pool that
// trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "fake"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// Bytes that come after 234 and before the TLS handshake were not
// protected: Dial fails with ErrProtocol, though the handshake that
// follows would succeed (as it does when nothing is injected).
func TestBytesAfter234(t *testing.T) {
	cert, pool := selfSigned(t)
	for _, tc := range []struct {
		name, reply string
		wantErr     bool
	}{
		{"clean", "234 go ahead\r\n", false},
		{"injected", "234 go ahead\r\n230 injected\r\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := loginHandlers()
			h["PBSZ"] = func(s *fakeSession, _ string) { s.reply("200 PBSZ=0\r\n") }
			h["PROT"] = func(s *fakeSession, _ string) { s.reply("200 PROT P\r\n") }
			h["AUTH"] = func(s *fakeSession, _ string) {
				s.reply(tc.reply)
				tc := tls.Server(s.conn, &tls.Config{Certificates: []tls.Certificate{cert}})
				if err := tc.Handshake(); err != nil {
					return // the client gave up: the session ends with its next read
				}
				s.conn, s.r = tc, bufio.NewReader(tc)
			}
			f := newFakeServer(t, h)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			c, err := Dial(ctx, f.addr(), &Config{TLS: TLSExplicit, TLSConfig: &tls.Config{RootCAs: pool}, Timeout: 2 * time.Second})
			if err == nil {
				defer c.Close()
			}
			if tc.wantErr != errors.Is(err, ErrProtocol) {
				t.Fatalf("Dial: %v; want ErrProtocol: %v", err, tc.wantErr)
			}
			if !tc.wantErr {
				if err := c.Login(ctx, "", ""); err != nil {
					t.Fatalf("login over TLS: %v", err)
				}
			}
		})
	}
}
