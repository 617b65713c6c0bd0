package ftpservers

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// pure-ftpd 1.0.50 (Debian 12). Logins: a puredb virtual user whose
// chrooted home is Root, and anonymous, which pure-ftpd serves from the
// home of the system user ftp: the server runs in a private mount
// namespace (unshare -m) in which Root is bind-mounted over that home.
// With Options.TLS it runs with -Y 3: TLS required on the control and the
// data connections.
//
// pure-ftpd logs only to syslog, through /dev/log. For ProtocolLog (its -d
// logs every command) the same namespace gets a /dev of its own, holding
// null, zero, random and urandom bound from the real one and a log socket
// that this package reads.
var pureFTPdFlavor = &flavor{
	binary:       "usr/sbin/pure-ftpd",
	command:      pureFTPdCommand,
	netns:        true,
	parseCommand: parsePureFTPdCommand,
	syslog:       true,
}

// pureFTPdNamespace runs in the new mount namespace: sh -c SCRIPT sh ROOT
// FTPHOME DEVDIR COMMAND...; DEVDIR is empty without ProtocolLog.
const pureFTPdNamespace = `set -e
mount --bind "$1" "$2"
if [ -n "$3" ]; then
  for n in null zero random urandom; do
    : >"$3/$n"
    mount --bind "/dev/$n" "$3/$n"
  done
  mount --rbind "$3" /dev
fi
shift 3
exec "$@"`

func pureFTPdCommand(s *Server, bin string, port int) (*exec.Cmd, error) {
	home, err := ftpHome("pure-ftpd")
	if err != nil {
		return nil, err
	}
	acct, ftpUID, nogroupGID, err := s.virtualLogin()
	if err != nil {
		return nil, err
	}
	// pure-pw's passwd format; "/./" ends the chroot part of the home.
	passwd, pdb := filepath.Join(s.Dir, "pureftpd.passwd"), filepath.Join(s.Dir, "pureftpd.pdb")
	if err := writeFile(passwd, fmt.Appendf(nil, "%s:%s:%s:%s::%s/./::::::::::::\n",
		s.User, acct.hash, ftpUID, nogroupGID, s.Root)); err != nil {
		return nil, err
	}
	pw := exec.Command(filepath.Join(prefix(), "usr/bin/pure-pw"), "mkdb", pdb, "-f", passwd)
	if out, err := pw.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pure-pw mkdb: %v: %s", err, out)
	}

	// -A chroot everyone, -H no DNS, -i/-R no uploads or chmod, -D list and
	// -z serve dot files, -u 1 lets uid ftp log in.
	args := []string{
		"-S", s.host() + "," + strconv.Itoa(port),
		"-p", fmt.Sprintf("%d:%d", s.PassiveMin, s.PassiveMax),
		"-l", "puredb:" + pdb,
		"-A", "-H", "-i", "-R", "-D", "-z", "-u", "1", "-c", "50", "-C", "50", "-I", "5",
	}
	if s.opts.TLS {
		certFile, keyFile, err := writeCert(s.Dir)
		if err != nil {
			return nil, err
		}
		args = append(args, "-Y", "3", "-2", certFile+","+keyFile)
	}
	devDir := ""
	if s.syslog != nil {
		args = append(args, "-d")
		devDir = filepath.Dir(s.syslog.path)
	}
	return namespaced(s.Root, home, devDir, append([]string{bin}, args...)), nil
}

// namespaced runs argv in a new mount namespace (pureFTPdNamespace): root
// bind-mounted over home, and /dev replaced by devDir if not empty.
func namespaced(root, home, devDir string, argv []string) *exec.Cmd {
	args := append([]string{"-m", "--propagation", "private", "sh", "-c", pureFTPdNamespace,
		"sh", root, home, devDir}, argv...)
	return exec.Command("unshare", args...)
}

// ftpHome returns the home of the system user ftp, which the anonymous
// logins of server need.
func ftpHome(server string) (string, error) {
	ftp, err := user.Lookup("ftp")
	if err != nil {
		return "", fmt.Errorf("system user ftp: %w (scripts/install-test-servers.sh creates it)", err)
	}
	if fi, err := os.Stat(ftp.HomeDir); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("home of user ftp (%s) is not a directory: %s's anonymous login needs it", ftp.HomeDir, server)
	}
	return ftp.HomeDir, nil
}

// parsePureFTPdCommand reads a syslog message of -d:
//
//	<95>Nov 25 15:40:01 pure-ftpd: (?@127.0.0.1) [DEBUG] Command [retr] [a.txt]
//
// pure-ftpd shows verbs in lower case and passwords in clear.
func parsePureFTPdCommand(line string) (string, bool) {
	const marker = "[DEBUG] Command ["
	i := strings.Index(line, marker)
	if i < 0 {
		return "", false
	}
	rest := line[i+len(marker):]
	verb, args, ok := strings.Cut(rest, "] [")
	if !ok {
		return "", false
	}
	args = strings.TrimSuffix(args, "]")
	if args == "" {
		return verb, true
	}
	return verb + " " + args, true
}

// syslogSink is a datagram socket that stands for /dev/log and keeps what
// it receives.
type syslogSink struct {
	path string
	conn *net.UnixConn
	done chan struct{}

	mu  sync.Mutex
	buf []string
}

// newSyslogSink makes a directory for the namespace's /dev holding the
// socket "log". It is not under Server.Dir, whose path may be too long for
// a socket's (108 bytes).
func newSyslogSink() (*syslogSink, error) {
	dir, err := os.MkdirTemp("", "ftpservers-dev-")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "log")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err == nil {
		err = os.Chmod(dir, 0o755)
	}
	if err == nil {
		err = os.Chmod(path, 0o666)
	}
	if err != nil {
		if conn != nil {
			conn.Close()
		}
		os.RemoveAll(dir)
		return nil, err
	}
	s := &syslogSink{path: path, conn: conn, done: make(chan struct{})}
	go s.read()
	return s, nil
}

func (s *syslogSink) read() {
	defer close(s.done)
	buf := make([]byte, 64<<10)
	for {
		n, err := s.conn.Read(buf)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.buf = append(s.buf, strings.TrimRight(string(buf[:n]), "\n\x00"))
		s.mu.Unlock()
	}
}

func (s *syslogSink) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.buf...)
}

func (s *syslogSink) close() {
	s.conn.Close()
	<-s.done
	os.RemoveAll(filepath.Dir(s.path))
}
