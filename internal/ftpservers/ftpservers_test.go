package ftpservers

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The self-test speaks raw FTP through net/textproto, so that it does not
// depend on ftpcore.

const anonPassword = "ftpmirror@example.com"

// makeTree writes a small tree: a.txt, sub/b.bin (300 KB) and .hidden.
func makeTree(t *testing.T) (root string, big []byte) {
	root = t.TempDir()
	big = make([]byte, 300<<10)
	r := rand.NewChaCha8([32]byte{1})
	r.Read(big)
	if err := os.WriteFile(filepath.Join(root, "a.txt"), []byte("hello, ftp\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "sub", "b.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	return root, big
}

func TestServers(t *testing.T) {
	for _, name := range Names() {
		for _, withTLS := range []bool{false, true} {
			mode := "plain"
			if withTLS {
				mode = "tls"
			}
			t.Run(name+"/"+mode, func(t *testing.T) {
				t.Parallel()
				root, big := makeTree(t)
				srv := Start(t, name, root, &Options{TLS: withTLS, ProtocolLog: true})
				t.Logf("%s on %s, passive %d-%d, user %q", srv.Name, srv.Addr, srv.PassiveMin, srv.PassiveMax, srv.User)
				if (srv.User != "") != (name != "vsftpd" && name != "inetutils") {
					t.Errorf("User = %q", srv.User)
				}

				var tlsVersions []uint16
				var want []string
				if withTLS {
					tlsVersions = []uint16{tls.VersionTLS13, tls.VersionTLS12}
					want = refusesPlain(t, srv)
				} else {
					tlsVersions = []uint16{0}
				}
				for _, v := range tlsVersions {
					for _, active := range []bool{false, true} {
						c := dial(t, srv, v)
						c.login("anonymous", anonPassword)
						c.pwd()
						c.list(active, "a.txt", "sub")
						c.retr(active, "sub/b.bin", big)
						c.retr(active, "a.txt", []byte("hello, ftp\n"))
						c.quit()
						want = append(want, c.sent...)
					}
				}
				if srv.User != "" {
					c := dial(t, srv, tlsVersions[0])
					c.login(srv.User, srv.Password)
					c.pwd()
					c.retr(false, "a.txt", []byte("hello, ftp\n"))
					c.quit()
					want = append(want, c.sent...)
				}
				checkCommands(t, srv, want)
			})
		}
	}
}

// refusesPlain checks that a TLS server does not let a login through
// without AUTH TLS. It returns the commands it sent.
func refusesPlain(t *testing.T, srv *Server) []string {
	t.Helper()
	c := dial(t, srv, 0)
	code, msg := c.cmdAny("USER anonymous")
	if code == 331 {
		code, msg = c.cmdAny("PASS %s", anonPassword)
	}
	t.Logf("%s without TLS: %d %s", srv.Name, code, msg)
	if code == 230 {
		t.Errorf("%s: login without TLS accepted: %d %s", srv.Name, code, msg)
	}
	c.conn.Close()
	return c.sent
}

// checkCommands compares the protocol log with what the clients sent.
// proftpd and pure-ftpd may log a command after replying to it, so it
// waits a little.
func checkCommands(t *testing.T, srv *Server, want []string) {
	t.Helper()
	var got []string
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got = srv.Commands()
		if reflect.DeepEqual(got, want) || time.Now().After(deadline) {
			break
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s logged commands\n got: %q\nwant: %q\nlog:\n%s", srv.Name, got, want, srv.Log())
	}
	t.Logf("%s logged %d commands, e.g. %q", srv.Name, len(got), got[:min(len(got), 12)])
}

// client is one raw FTP control connection.
type client struct {
	t       *testing.T
	srv     *Server
	conn    net.Conn
	text    *textproto.Conn
	tlsConf *tls.Config // nil without TLS
	sent    []string    // commands sent, as Server.Commands shows them
}

// dial connects and reads the greeting; with tlsVersion != 0 it also does
// AUTH TLS, PBSZ 0 and PROT P at that version.
func dial(t *testing.T, srv *Server, tlsVersion uint16) *client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", srv.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	c := &client{t: t, srv: srv, conn: conn, text: textproto.NewConn(conn)}
	t.Cleanup(func() { c.conn.Close() })
	if _, _, err := c.text.ReadResponse(220); err != nil {
		t.Fatalf("%s greeting: %v", srv.Name, err)
	}
	if tlsVersion == 0 {
		return c
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(srv.CACert) {
		t.Fatal("no CACert")
	}
	// One session cache for the control and the data connections, and
	// the same ServerName: Go's cache key is ServerName, or else the
	// remote address with its port, which differs for each data
	// connection.
	c.tlsConf = &tls.Config{
		RootCAs:            pool,
		ServerName:         "127.0.0.1",
		MinVersion:         tlsVersion,
		MaxVersion:         tlsVersion,
		ClientSessionCache: tls.NewLRUClientSessionCache(4),
	}
	c.cmd(234, "AUTH TLS")
	tc := tls.Client(conn, c.tlsConf)
	if err := tc.Handshake(); err != nil {
		t.Fatalf("%s control TLS handshake: %v", srv.Name, err)
	}
	c.conn = tc
	c.text = textproto.NewConn(tc)
	c.cmd(200, "PBSZ 0")
	c.cmd(200, "PROT P")
	return c
}

func (c *client) send(format string, args ...any) uint {
	c.t.Helper()
	line := fmt.Sprintf(format, args...)
	if strings.HasPrefix(line, "PASS ") {
		c.sent = append(c.sent, "PASS <hidden>")
	} else {
		c.sent = append(c.sent, line)
	}
	id, err := c.text.Cmd("%s", line)
	if err != nil {
		c.t.Fatalf("%s: send %q: %v", c.srv.Name, line, err)
	}
	return id
}

// cmdAny sends a command and returns its reply, whatever the code.
func (c *client) cmdAny(format string, args ...any) (int, string) {
	c.t.Helper()
	c.send(format, args...)
	code, msg, err := c.text.ReadResponse(0)
	if err != nil {
		c.t.Fatalf("%s: %s: %v", c.srv.Name, format, err)
	}
	return code, msg
}

// cmd sends a command and fails the test unless the reply has code expect.
func (c *client) cmd(expect int, format string, args ...any) string {
	c.t.Helper()
	code, msg := c.cmdAny(format, args...)
	if code != expect {
		c.t.Fatalf("%s: %s: got %d %s, want %d\nserver log:\n%s", c.srv.Name,
			strings.Fields(fmt.Sprintf(format, args...))[0], code, msg, expect, c.srv.Log())
	}
	return msg
}

// login sends USER, and PASS when asked: pure-ftpd logs anonymous in on
// USER alone ("230 Anonymous user logged in").
func (c *client) login(user, pass string) {
	c.t.Helper()
	code, msg := c.cmdAny("USER %s", user)
	switch code {
	case 230:
	case 331:
		c.cmd(230, "PASS %s", pass)
	default:
		c.t.Fatalf("%s: USER: %d %s", c.srv.Name, code, msg)
	}
	// proftpd and pure-ftpd start in ASCII mode and turn LF into CRLF.
	c.cmd(200, "TYPE I")
}

func (c *client) pwd() {
	c.t.Helper()
	msg := c.cmd(257, "PWD")
	if !strings.HasPrefix(msg, `"/"`) {
		c.t.Errorf("%s: PWD: %q, want \"/\"", c.srv.Name, msg)
	}
}

func (c *client) quit() {
	c.t.Helper()
	c.cmd(221, "QUIT")
	c.conn.Close()
}

// transfer runs one data command: passive (EPSV for LIST, PASV for RETR)
// or active (PORT for LIST, EPRT for RETR), and returns the data.
func (c *client) transfer(active bool, command string) []byte {
	c.t.Helper()
	var dataConn net.Conn
	var accept func() net.Conn
	if active {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			c.t.Fatal(err)
		}
		defer l.Close()
		port := l.Addr().(*net.TCPAddr).Port
		if strings.HasPrefix(command, "LIST") {
			c.cmd(200, "PORT 127,0,0,1,%d,%d", port>>8, port&0xff)
		} else {
			c.cmd(200, "EPRT |1|127.0.0.1|%d|", port)
		}
		accept = func() net.Conn {
			l.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
			conn, err := l.Accept()
			if err != nil {
				c.t.Fatalf("%s: accept data connection: %v", c.srv.Name, err)
			}
			// pure-ftpd connects from port 20 (ftp-data), as RFC 959
			// says; the others from any port.
			from := conn.RemoteAddr().(*net.TCPAddr).Port
			if from < 1024 != (c.srv.Name == "pure-ftpd") {
				c.t.Errorf("%s: active data connection from port %d", c.srv.Name, from)
			}
			return conn
		}
	} else {
		var addr string
		if strings.HasPrefix(command, "LIST") {
			addr = parseEPSV(c.t, c.srv.Addr, c.cmd(229, "EPSV"))
		} else {
			addr = parsePASV(c.t, c.cmd(227, "PASV"))
		}
		if _, p, _ := net.SplitHostPort(addr); c.srv.PassiveMax != 0 && !inRange(p, c.srv.PassiveMin, c.srv.PassiveMax) {
			c.t.Errorf("%s: passive port %s outside %d-%d", c.srv.Name, p, c.srv.PassiveMin, c.srv.PassiveMax)
		}
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			c.t.Fatalf("%s: data connection: %v", c.srv.Name, err)
		}
		dataConn = conn
	}
	code, msg := c.cmdAny("%s", command)
	if code != 150 && code != 125 {
		c.t.Fatalf("%s: %s: %d %s\nserver log:\n%s", c.srv.Name, command, code, msg, c.srv.Log())
	}
	if active {
		dataConn = accept()
	}
	defer dataConn.Close()
	dataConn.SetDeadline(time.Now().Add(20 * time.Second))
	var r io.Reader = dataConn
	if c.tlsConf != nil {
		tc := tls.Client(dataConn, c.tlsConf)
		if err := tc.Handshake(); err != nil {
			c.t.Fatalf("%s: data TLS handshake: %v", c.srv.Name, err)
		}
		// vsftpd and proftpd refuse data connections that do not
		// resume; pure-ftpd 1.0.50 does not require it.
		st := tc.ConnectionState()
		c.t.Logf("%s: data connection %s, resumed %v", c.srv.Name, tls.VersionName(st.Version), st.DidResume)
		if !st.DidResume && c.srv.Name != "pure-ftpd" {
			c.t.Errorf("%s: data connection did not resume the TLS session", c.srv.Name)
		}
		r = tc
	}
	data, err := io.ReadAll(r)
	if err != nil {
		c.t.Fatalf("%s: %s: reading data: %v", c.srv.Name, command, err)
	}
	dataConn.Close()
	code, msg, err = c.text.ReadResponse(226)
	if err != nil {
		c.t.Fatalf("%s: %s: final reply %d %s: %v", c.srv.Name, command, code, msg, err)
	}
	return data
}

func (c *client) list(active bool, names ...string) {
	c.t.Helper()
	out := string(c.transfer(active, "LIST"))
	for _, n := range names {
		if !slices.ContainsFunc(strings.Split(out, "\n"), func(l string) bool {
			return strings.HasSuffix(strings.TrimRight(l, "\r"), " "+n)
		}) {
			c.t.Errorf("%s: LIST lacks %s:\n%s", c.srv.Name, n, out)
		}
	}
}

func (c *client) retr(active bool, path string, want []byte) {
	c.t.Helper()
	got := c.transfer(active, "RETR "+path)
	if !bytes.Equal(got, want) {
		c.t.Errorf("%s: RETR %s: got %d bytes, want %d", c.srv.Name, path, len(got), len(want))
	}
}

// parseEPSV reads "Entering Extended Passive Mode (|||port|)" and dials the
// control connection's host.
func parseEPSV(t *testing.T, ctrl, msg string) string {
	t.Helper()
	i, j := strings.Index(msg, "(|||"), strings.LastIndex(msg, "|)")
	if i < 0 || j < i+4 {
		t.Fatalf("bad EPSV reply %q", msg)
	}
	host, _, _ := net.SplitHostPort(ctrl)
	return net.JoinHostPort(host, msg[i+4:j])
}

// parsePASV reads "Entering Passive Mode (h1,h2,h3,h4,p1,p2)".
func parsePASV(t *testing.T, msg string) string {
	t.Helper()
	i, j := strings.Index(msg, "("), strings.LastIndex(msg, ")")
	if i < 0 || j < i {
		t.Fatalf("bad PASV reply %q", msg)
	}
	f := strings.Split(msg[i+1:j], ",")
	if len(f) != 6 {
		t.Fatalf("bad PASV reply %q", msg)
	}
	p1, err1 := strconv.Atoi(f[4])
	p2, err2 := strconv.Atoi(f[5])
	if err1 != nil || err2 != nil {
		t.Fatalf("bad PASV reply %q", msg)
	}
	return net.JoinHostPort(strings.Join(f[:4], "."), strconv.Itoa(p1<<8|p2))
}

func inRange(port string, lo, hi int) bool {
	p, err := strconv.Atoi(port)
	return err == nil && lo <= p && p <= hi
}

func TestParseCommands(t *testing.T) {
	tests := []struct {
		parse func(string) (string, bool)
		line  string
		want  string
	}{
		{parseVsftpdCommand, `Tue Nov 25 15:40:01 2025 [pid 4545] [ftp] FTP command: Client "127.0.0.1", "RETR a b.txt"`, "RETR a b.txt"},
		{parseVsftpdCommand, `Tue Nov 25 15:40:01 2025 [pid 4545] FTP command: Client "127.0.0.1", "PWD"`, "PWD"},
		{parseVsftpdCommand, `Tue Nov 25 15:40:01 2025 [pid 4545] FTP response: Client "127.0.0.1", "257 "/""`, ""},
		{parseProFTPdCommand, `ftpmirror-cmd REST 1048576`, "REST 1048576"},
		{parseProFTPdCommand, `something else`, ""},
		{parsePureFTPdCommand, `<95>Nov 25 15:40:01 pure-ftpd: (?@127.0.0.1) [DEBUG] Command [retr] [sub/b.bin]`, "retr sub/b.bin"},
		{parsePureFTPdCommand, `<95>Nov 25 15:40:01 pure-ftpd: (?@127.0.0.1) [DEBUG] Command [pwd] []`, "pwd"},
		{parsePureFTPdCommand, `<94>Nov 25 15:40:01 pure-ftpd: (?@127.0.0.1) [INFO] Logout.`, ""},
		{parseInetutilsCommand, `<31>Nov 29 22:40:01 ftpd[4545]: command: RETR a b.txt`, "RETR a b.txt"},
		{parseInetutilsCommand, `<31>Nov 29 22:40:01 ftpd[4545]: <--- 226`, ""},
		{parsePyftpdlibCommand, `DEBUG:pyftpdlib:[anonymous]@127.0.0.1:40000 <- RETR /a b.txt`, "RETR /a b.txt"},
		{parsePyftpdlibCommand, `DEBUG:pyftpdlib:[anonymous]@127.0.0.1:40000 -> 226 Transfer complete.`, ""},
	}
	for _, tt := range tests {
		got, ok := tt.parse(tt.line)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("parse(%q) = %q, %v; want %q", tt.line, got, ok, tt.want)
		}
	}
}

// TestWaitReadyKnowsItsOwnServer: a server that finds another test
// binary's server of the same kind on its port (a free port handed out
// twice) does not take it for its own. pure-ftpd's greeting is fixed: it
// cannot tell.
func TestWaitReadyKnowsItsOwnServer(t *testing.T) {
	for _, name := range Names() {
		if name == "pure-ftpd" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			root, _ := makeTree(t)
			other := Start(t, name, root, nil)
			if other.banner == "" {
				t.Fatalf("%s started without a banner of its own", name)
			}
			line, err := greeting("", other.Addr)
			if err != nil || !strings.Contains(line, other.banner) {
				t.Fatalf("greeting %q (%v) does not hold the instance's banner %q", line, err, other.banner)
			}
			ours := &Server{Addr: other.Addr, banner: "ftpservers not-" + filepath.Base(other.Dir), exited: make(chan struct{})}
			if err := ours.waitReady(300 * time.Millisecond); err == nil || !strings.Contains(err.Error(), "another server's") {
				t.Fatalf("waitReady on another instance's port: %v, want \"another server's\"", err)
			}
		})
	}
}
