package ftpservers

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// GNU inetutils ftpd 2.4 (Debian 12, inetutils-ftpd), run per connection
// by tcpserver (ucspi-tcp) as inetd would. Anonymous only (-A): inetutils
// ftpd serves anonymous users the home of the system user ftp, so, as for
// pure-ftpd, it runs in a private mount namespace in which Root is
// bind-mounted over that home. It has no FTPS, no MLSD and no passive
// port range (its passive ports are the kernel's ephemeral ones).
//
// Its LIST and STAT hand their argument to its built-in ls, which expands
// "*", "?" and "[...]" and splits at spaces: "STAT -a /[x]" lists /x. CWD
// takes its argument as it is.
//
// ProtocolLog: with -d it logs every command to syslog, which the
// namespace's /dev/log (see pureFTPdNamespace) brings to this package.
var inetutilsFlavor = &flavor{
	binary:       "usr/sbin/ftpd",
	command:      inetutilsCommand,
	parseCommand: parseInetutilsCommand,
	syslog:       true,
	noTLS:        true,
}

func inetutilsCommand(s *Server, bin string, port int) (*exec.Cmd, error) {
	home, err := ftpHome("inetutils ftpd")
	if err != nil {
		return nil, err
	}
	tcpserver, err := exec.LookPath("tcpserver")
	if err != nil {
		return nil, fmt.Errorf("tcpserver (ucspi-tcp) not found: %w", err)
	}
	s.PassiveMin, s.PassiveMax = 0, 0
	devDir := ""
	args := []string{"-A"}
	if s.syslog != nil {
		args = append(args, "-d", "-l")
		devDir = filepath.Dir(s.syslog.path)
	}
	// -H -R: no DNS or ident lookups; -l 0: no local name lookup;
	// -c 200: as many sessions as the tests open.
	// -B: a first greeting line of our own (ftpd's "220 ..." ends the
	// multi-line 220), so that waitReady knows its own server.
	cmd := append([]string{tcpserver, "-H", "-R", "-l", "0", "-c", "200", "-B", "220-" + s.instanceBanner() + "\r\n",
		"127.0.0.1", strconv.Itoa(port), bin}, args...)
	return namespaced(s.Root, home, devDir, cmd), nil
}

// parseInetutilsCommand reads a syslog message of -d:
//
//	<31>Nov 29 22:40:01 ftpd[4545]: command: RETR a.txt
func parseInetutilsCommand(line string) (string, bool) {
	const marker = "]: command: "
	i := strings.Index(line, marker)
	if i < 0 {
		return "", false
	}
	return strings.TrimRight(line[i+len(marker):], "\r\n"), true
}
