// Package ftpservers runs the real FTP servers vsftpd, pure-ftpd, proftpd,
// GNU inetutils ftpd and pyftpdlib from Debian's packages on loopback, for integration tests of other
// packages. Each [Start] writes the server's configuration to a temporary
// directory, starts it on a free port of 127.0.0.1 serving a directory
// read-only, and stops it when the test ends.
//
// The servers are installed by scripts/install-test-servers.sh: vsftpd at
// /usr/sbin/vsftpd and pyftpdlib for /usr/bin/python3 from apt; pure-ftpd,
// proftpd and inetutils ftpd (which conflict with vsftpd in apt) unpacked
// under /opt/ftpmirror-test/root, or under the directory named
// by the environment variable FTPMIRROR_TEST_SERVERS. They need root: they
// bind, chroot and drop privileges to the system user "ftp" or "nobody".
// Without a server, or without root, a test is skipped, or fails when the
// environment variable CI is "true".
//
// What each server supports here (Debian 12 versions):
//
//	                   anonymous  Server.User     Options.TLS   Options.ProtocolLog
//	vsftpd 3.0.3       yes        no              yes           yes
//	pure-ftpd 1.0.50   yes        puredb          yes           yes (its syslog)
//	proftpd 1.3.8      yes        AuthUserFile    yes (mod_tls) yes (ExtendedLog)
//	inetutils 2.4      yes        no              no (skipped)  yes (its syslog)
//	pyftpdlib 1.5.7    yes        DummyAuthorizer yes           yes (DEBUG log)
//
// Every server accepts passive (EPSV, PASV) and active (EPRT, PORT) data
// connections. With TLS, logins and data connections must be encrypted
// (PROT P), and vsftpd and proftpd refuse a data connection that does not
// resume the control connection's TLS session.
//
// What a client meets, as seen by this package's tests:
//   - pure-ftpd logs anonymous in on USER alone: "230 Anonymous user logged
//     in", no 331.
//   - pure-ftpd and proftpd start in ASCII mode and send LF files as CRLF
//     until TYPE I; vsftpd sends the bytes as they are either way.
//   - pure-ftpd makes active data connections from port 20; the others from
//     an unprivileged port.
//   - pure-ftpd resumes TLS 1.2 sessions on data connections but not TLS
//     1.3 ones (it does not require it). vsftpd and proftpd resume both
//     with Go's crypto/tls when the data connections share the control
//     connection's tls.Config: ClientSessionCache and ServerName (Go keys
//     its cache by ServerName, or else by the address with its port).
package ftpservers

import (
	"runtime"

	"bufio"
	"bytes"
	crand "crypto/rand"
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Options says how to run a server. A nil *Options means the zero value.
type Options struct {
	// TLS enables explicit FTPS (AUTH TLS, RFC 4217) with a self-signed
	// certificate for 127.0.0.1 and localhost (see [Server.CACert]), and
	// makes it mandatory for logins and data connections.
	TLS bool
	// ProtocolLog makes the server log every command it receives, for
	// [Server.Commands].
	ProtocolLog bool
	// Digest loads proftpd's mod_digest: HASH (SHA-256, SHA-1, MD5,
	// CRC32) and XSHA256, XSHA1, XMD5, XCRC. The other servers have no
	// checksum command; for them it changes nothing.
	Digest bool
	// Zone is the server's time zone, a POSIX TZ string ("<+03>-3" for
	// UTC+3): the servers whose LIST shows local time (vsftpd with
	// use_localtime=YES, inetutils ftpd) show it there. Empty: the
	// machine's; vsftpd lists in UTC then (use_localtime=NO).
	Zone string
	// NetNS runs the server in that network namespace (a name under
	// /run/netns, as `ip netns add` makes), listening on Host, which
	// must then be one of the namespace's addresses. Only vsftpd,
	// pure-ftpd and proftpd can. Empty: this process's namespace, on
	// 127.0.0.1.
	NetNS, Host string
}

// Server is one running FTP server. Its fields are read-only.
type Server struct {
	Name string // "vsftpd", "pure-ftpd" or "proftpd"
	Addr string // "127.0.0.1:PORT" of the control connection
	Root string // the served directory, absolute; it is "/" for every login

	// User and Password log into a non-anonymous account that serves
	// Root, made without a system user (pure-ftpd: a puredb virtual user,
	// proftpd: an AuthUserFile). Empty for vsftpd, whose logins other than
	// anonymous go through PAM and system users.
	User, Password string

	// CACert is the PEM certificate to trust when Options.TLS is set.
	CACert []byte

	// PassiveMin and PassiveMax bound the ports of passive data
	// connections; both are zero for a server without a passive port
	// range (inetutils ftpd).
	PassiveMin, PassiveMax int

	// Dir holds the configuration and the logs; it is removed when the
	// test ends.
	Dir string

	opts    Options
	logPath string // the server's own log, shown when something fails
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd.Wait returns
	waitErr error         // set before exited is closed

	syslog *syslogSink // pure-ftpd's ProtocolLog
	banner string      // if set, a greeting from this server holds it
}

// Names returns the names of the servers [Start] knows.
func Names() []string {
	return []string{"vsftpd", "pure-ftpd", "proftpd", "inetutils", "pyftpdlib"}
}

// HasTLS reports whether the server name can run with Options.TLS.
func HasTLS(name string) bool {
	f, ok := flavors[name]
	return ok && !f.noTLS
}

// flavor is what differs between the servers.
type flavor struct {
	binary string // relative to the prefix, or absolute
	// command writes the configuration into s.Dir and returns the command
	// that runs the server in the foreground.
	command func(s *Server, bin string, port int) (*exec.Cmd, error)
	// parseCommand extracts "VERB args" from one line of the protocol log.
	parseCommand func(line string) (string, bool)
	protocolLog  string // file name in Dir, for ProtocolLog
	syslog       bool   // ProtocolLog comes through syslog instead
	noTLS        bool   // the server has no FTPS: Options.TLS skips the test
	netns        bool   // it can listen on Options.Host in Options.NetNS
}

var flavors = map[string]*flavor{
	"vsftpd":    vsftpdFlavor,
	"pure-ftpd": pureFTPdFlavor,
	"proftpd":   proFTPdFlavor,
	"inetutils": inetutilsFlavor,
	"pyftpdlib": pyftpdlibFlavor,
}

// DefaultPrefix is where scripts/install-test-servers.sh unpacks pure-ftpd
// and proftpd; FTPMIRROR_TEST_SERVERS overrides it.
const DefaultPrefix = "/opt/ftpmirror-test/root"

func prefix() string {
	if p := os.Getenv("FTPMIRROR_TEST_SERVERS"); p != "" {
		return p
	}
	return DefaultPrefix
}

func binaryPath(f *flavor) string {
	if filepath.IsAbs(f.binary) {
		return f.binary
	}
	return filepath.Join(prefix(), f.binary)
}

// Unavailable skips the test, or fails it in CI (CI=true), where
// something it needs is missing: a missing server, mount or loopback
// address there means a broken setup rather than a developer's machine
// without one, and a skipped test would hide the point it proves.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// Start starts the server name serving root read-only to anonymous (any
// password) and, where the server has one, to Server.User. It returns when
// the server answers 220 on its port, and registers a t.Cleanup that stops
// it. A failed start fails the test with the server's log.
//
// root is made readable by others (mode 0755), as the servers read it
// after dropping privileges; the files and directories under it must be
// readable by others too (0644 and 0755, as umask 022 makes them), and
// must not be writable by the user "ftp": vsftpd refuses a writable root.
func Start(t testing.TB, name, root string, opts *Options) *Server {
	t.Helper()
	f, ok := flavors[name]
	if !ok {
		t.Fatalf("ftpservers: unknown server %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	bin := binaryPath(f)
	if _, err := os.Stat(bin); err != nil {
		Unavailable(t, "%s not installed: run 'sudo bash scripts/install-test-servers.sh'", name)
	}
	if os.Geteuid() != 0 {
		Unavailable(t, "%s needs root (it chroots and drops privileges to user ftp): run the tests as root", name)
	}
	if opts == nil {
		opts = &Options{}
	}
	if opts.TLS && f.noTLS {
		t.Skipf("%s has no FTPS", name)
	}
	if (opts.NetNS == "") != (opts.Host == "") || (opts.NetNS != "" && !f.netns) {
		t.Fatalf("ftpservers: %s: NetNS %q with Host %q", name, opts.NetNS, opts.Host)
	}
	root, err := prepareRoot(root)
	if err != nil {
		t.Fatalf("ftpservers: %v", err)
	}
	s := &Server{Name: name, Root: root, opts: *opts}
	if opts.TLS {
		certPEM, _, err := testCert()
		if err != nil {
			t.Fatalf("ftpservers: certificate: %v", err)
		}
		s.CACert = certPEM
	}
	s.PassiveMin, s.PassiveMax = passiveRange()

	// The port is free when we look and may be taken before the server
	// binds it: retry with another.
	const attempts = 5
	for attempt := 1; ; attempt++ {
		s.Dir = t.TempDir() // 0700, removed after the cleanup below has stopped the server
		port, err := freePort()
		if err != nil {
			t.Fatalf("ftpservers: %v", err)
		}
		s.Addr = net.JoinHostPort(s.host(), strconv.Itoa(port))
		s.logPath = filepath.Join(s.Dir, "server.log")
		err = s.start(f, port)
		if err == nil {
			t.Cleanup(s.stop)
			return s
		}
		s.stop()
		log := s.serverLog()
		if attempt < attempts && (isBindFailure(log) || portInUse(port)) {
			continue
		}
		t.Fatalf("ftpservers: start %s: %v\n%s", name, err, log)
	}
}

// start runs the server once and waits for its greeting.
func (s *Server) start(f *flavor, port int) error {
	if s.opts.ProtocolLog && f.syslog {
		sink, err := newSyslogSink()
		if err != nil {
			return err
		}
		s.syslog = sink
	}
	cmd, err := f.command(s, binaryPath(f), port)
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(s.logPath, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	// vsftpd writes its start-up errors ("500 OOPS: could not bind
	// listening IPv4 socket") to fd 0, the socket in inetd mode.
	cmd.Stdin = logf
	cmd.Stdout = logf
	cmd.Stderr = logf
	if s.opts.Zone != "" {
		cmd.Env = append(os.Environ(), "TZ="+s.opts.Zone)
	}
	if ns := s.opts.NetNS; ns != "" {
		cmd.Args = append([]string{"ip", "netns", "exec", ns}, cmd.Args...)
		cmd.Path, err = exec.LookPath("ip")
		if err != nil {
			return err
		}
	}
	// Its own process group, so that stop reaches the per-session children.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	return s.waitReady(10 * time.Second)
}

// instanceBanner returns the text that this instance puts into its
// greeting's first line (vsftpd, proftpd, inetutils through tcpserver,
// pyftpdlib; pure-ftpd's greeting is fixed), and sets s.banner to it, so
// that waitReady knows its own server from another test binary's that
// took the same free port first.
func (s *Server) instanceBanner() string {
	s.banner = "ftpservers " + filepath.Base(s.Dir)
	return s.banner
}

// waitReady polls the port until the server greets with 220.
func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("server exited: %v", s.waitErr)
		default:
		}
		line, err := greeting(s.opts.NetNS, s.Addr)
		switch {
		case err == nil && s.banner != "" && !strings.Contains(line, s.banner):
			// Another server of this process took the port first (a
			// free port may be handed out twice), and ours is about to
			// fail to bind: wait for it to exit.
			err = fmt.Errorf("greeting %q is another server's", line)
		case err == nil && strings.HasPrefix(line, "220"):
			return nil
		case err == nil:
			return fmt.Errorf("greeting %q, want 220", line)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no greeting after %v: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// host is the address the server listens on.
func (s *Server) host() string {
	if s.opts.Host != "" {
		return s.opts.Host
	}
	return "127.0.0.1"
}

// greeting reads the first line the server at addr sends, dialling from
// the network namespace ns if not empty.
func greeting(ns, addr string) (string, error) {
	c, err := DialIn(ns, addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// stop ends the server's process group: SIGTERM, then SIGKILL after 5 s.
func (s *Server) stop() {
	if s.cmd != nil {
		pgid := s.cmd.Process.Pid
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
		}
		// The leader may be gone while session children live on.
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.exited
		s.cmd = nil
	}
	if s.syslog != nil {
		s.syslog.close()
	}
}

// serverLog returns what the server wrote to stdout and stderr, and its own
// log files, for failure messages.
func (s *Server) serverLog() string {
	var b strings.Builder
	paths, _ := filepath.Glob(filepath.Join(s.Dir, "*.log"))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil || len(data) == 0 {
			continue
		}
		fmt.Fprintf(&b, "--- %s:\n%s", filepath.Base(p), data)
		if !bytes.HasSuffix(data, []byte("\n")) {
			b.WriteByte('\n')
		}
	}
	if s.syslog != nil {
		for _, l := range s.syslog.lines() {
			fmt.Fprintf(&b, "syslog: %s\n", l)
		}
	}
	return b.String()
}

// Log returns the server's logs so far, for a failing test to show.
func (s *Server) Log() string { return s.serverLog() }

func isBindFailure(log string) bool {
	l := strings.ToLower(log)
	return strings.Contains(l, "address already in use") || strings.Contains(l, "could not bind") ||
		strings.Contains(l, "unable to bind")
}

// Commands returns the FTP commands the server logged so far, oldest first,
// as "VERB args" with the verb in upper case ("REST 1048576", "PASV"), and
// PASS as "PASS <hidden>". It needs Options.ProtocolLog. Commands of
// concurrent sessions are interleaved, and the server's start-up probe sends
// none. proftpd and pure-ftpd may log a command just after replying to it
// (about half of the sessions, seen here): poll until the last command
// expected shows up.
func (s *Server) Commands() []string {
	if !s.opts.ProtocolLog {
		panic("ftpservers: Commands without Options.ProtocolLog")
	}
	f := flavors[s.Name]
	var lines []string
	if s.syslog != nil {
		lines = s.syslog.lines()
	} else {
		data, err := os.ReadFile(filepath.Join(s.Dir, f.protocolLog))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			panic(fmt.Sprintf("ftpservers: %v", err))
		}
		lines = strings.Split(string(data), "\n")
	}
	var cmds []string
	for _, l := range lines {
		c, ok := f.parseCommand(l)
		if !ok {
			continue
		}
		verb, args, _ := strings.Cut(c, " ")
		verb = strings.ToUpper(verb)
		switch {
		case verb == "PASS":
			c = "PASS <hidden>"
		case args == "":
			c = verb
		default:
			c = verb + " " + args
		}
		cmds = append(cmds, c)
	}
	return cmds
}

// prepareRoot makes root absolute and readable by the unprivileged users the
// servers switch to.
func prepareRoot(root string) (string, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(root)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("root %s is not a directory", root)
	}
	if mode := fi.Mode().Perm(); mode != (mode|0o555)&^0o022 {
		if err := os.Chmod(root, (mode|0o555)&^0o022); err != nil {
			return "", err
		}
	}
	// proftpd checks, as user ftp, that the path of an <Anonymous> root
	// can be walked. t.TempDir's parent is 0700: let others search (not
	// read) such directories under the temporary directory, and only
	// report the others.
	tmp, err := filepath.Abs(os.TempDir())
	if err != nil {
		return "", err
	}
	for dir := filepath.Dir(root); ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil {
			return "", err
		}
		if mode := fi.Mode().Perm(); mode&0o001 == 0 {
			rel, err := filepath.Rel(tmp, dir)
			if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
				return "", fmt.Errorf("directory %s above root %s is not searchable by others: chmod o+x it, or serve a directory under %s", dir, root, tmp)
			}
			if err := os.Chmod(dir, mode|0o001); err != nil {
				return "", err
			}
		}
		if dir == filepath.Dir(dir) {
			return root, nil
		}
	}
}

// portInUse reports whether someone else has taken port since freePort
// found it free.
func portInUse(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return errors.Is(err, syscall.EADDRINUSE)
	}
	l.Close()
	return false
}

// freePort asks the kernel for a free port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Passive ranges are blocks of 50 ports in 30000-31999, below Linux's
// ephemeral ports (32768-60999), so that no client socket or control port
// sits on them. Each Start takes the next block, from a random first one so
// that test binaries running side by side mostly differ; a collision is
// harmless, the servers try another port of their range when one is taken.
var (
	passiveMu   sync.Mutex
	passiveNext = -1
)

const (
	passiveBase   = 30000
	passiveBlock  = 50
	passiveBlocks = 40
)

func passiveRange() (lo, hi int) {
	passiveMu.Lock()
	defer passiveMu.Unlock()
	if passiveNext < 0 {
		passiveNext = rand.IntN(passiveBlocks)
	}
	b := passiveNext
	passiveNext = (passiveNext + 1) % passiveBlocks
	lo = passiveBase + b*passiveBlock
	return lo, lo + passiveBlock - 1
}

// virtualUser is the name of the account of pure-ftpd's puredb and
// proftpd's AuthUserFile.
const virtualUser = "ftpmirror"

type account struct{ password, hash string }

// virtualAccount returns the password of virtualUser, random once per
// process, and its crypt(3) SHA-512 hash, which both servers check with
// crypt(3). openssl makes the hash: pure-pw's own argon2id takes seconds.
var virtualAccount = sync.OnceValues(func() (account, error) {
	password := crand.Text()[:16]
	cmd := exec.Command("openssl", "passwd", "-6", "-stdin")
	cmd.Stdin = strings.NewReader(password + "\n")
	out, err := cmd.Output()
	if err != nil {
		return account{}, fmt.Errorf("openssl passwd: %w", err)
	}
	return account{password, string(bytes.TrimSpace(out))}, nil
})

// ftpIDs returns the uid of the system user ftp and the gid of nogroup, as
// strings, for the virtual users.
// virtualLogin gives s the account virtualUser, and returns it with the
// ids of the system user ftp and group nogroup that serve it.
func (s *Server) virtualLogin() (acct account, uid, gid string, err error) {
	if uid, gid, err = ftpIDs(); err != nil {
		return account{}, "", "", err
	}
	if acct, err = virtualAccount(); err != nil {
		return account{}, "", "", err
	}
	s.User, s.Password = virtualUser, acct.password
	return acct, uid, gid, nil
}

func ftpIDs() (uid, gid string, err error) {
	u, err := user.Lookup("ftp")
	if err != nil {
		return "", "", fmt.Errorf("system user ftp: %w (scripts/install-test-servers.sh creates it)", err)
	}
	g, err := user.LookupGroup("nogroup")
	if err != nil {
		return "", "", err
	}
	return u.Uid, g.Gid, nil
}

// writeFile writes a configuration file readable by root only.
func writeFile(path string, data []byte) error { return os.WriteFile(path, data, 0o600) }

// DialIn dials addr from the network namespace ns (a name under
// /run/netns), or from this process's where ns is empty. The socket is
// made on a thread moved into ns, which ends with its goroutine.
func DialIn(ns, addr string, timeout time.Duration) (net.Conn, error) {
	if ns == "" {
		return net.DialTimeout("tcp", addr, timeout)
	}
	type result struct {
		c   net.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		f, err := os.Open(filepath.Join("/run/netns", ns))
		if err != nil {
			done <- result{nil, err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- result{nil, fmt.Errorf("setns %s: %w", ns, err)}
			return
		}
		c, err := net.DialTimeout("tcp", addr, timeout)
		done <- result{c, err}
	}()
	r := <-done
	return r.c, r.err
}
