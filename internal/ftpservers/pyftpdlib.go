package ftpservers

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// pyftpdlib 1.5.7 (Debian 12, python3-pyftpdlib; FTPS through
// python3-openssl), run by Debian's /usr/bin/python3: a python3 found
// first on PATH may lack the Debian packages. Logins: anonymous and
// Server.User, both read-only on Root. The script binds its port as root,
// then drops privileges to the user ftp and the group nogroup, so that
// permissions mean what they mean for the other servers. With Options.TLS
// it requires TLS on the control and data connections (TLS_FTPHandler).
//
// In active mode pyftpdlib answers a pipelined PORT's 200 after the 150 of
// the command that follows it: a client that pipelines reads replies out
// of order.
//
// ProtocolLog: the script logs at DEBUG level, one "<- COMMAND" line per
// command received.
var pyftpdlibFlavor = &flavor{
	binary:       "/usr/bin/python3",
	command:      pyftpdlibCommand,
	parseCommand: parsePyftpdlibCommand,
	protocolLog:  "commands.log",
}

// pyftpdlibScript is run as: python3 -c SCRIPT PORT ROOT PASVMIN PASVMAX
// USER PASSWORD UID GID LOGFILE CERTFILE KEYFILE BANNER. LOGFILE, CERTFILE
// and KEYFILE may be empty; BANNER goes into the greeting, so that Start
// knows its server from another on the same port.
const pyftpdlibScript = `import logging, os, sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.servers import FTPServer
from pyftpdlib import handlers
port, root, lo, hi, user, password, uid, gid, logfile, cert, key, banner = sys.argv[1:13]
auth = DummyAuthorizer()
auth.add_anonymous(root, perm="elr")
auth.add_user(user, password, root, perm="elr")
if cert:
    h = handlers.TLS_FTPHandler
    h.certfile, h.keyfile = cert, key
    h.tls_control_required = True
    h.tls_data_required = True
else:
    h = handlers.FTPHandler
h.authorizer = auth
h.passive_ports = range(int(lo), int(hi) + 1)
h.banner = "pyftpdlib ready, " + banner
if logfile:
    logging.basicConfig(filename=logfile, level=logging.DEBUG)
else:
    logging.basicConfig(level=logging.WARNING)
server = FTPServer(("127.0.0.1", int(port)), h)
server.max_cons = 256
server.max_cons_per_ip = 0
os.setgroups([])
os.setgid(int(gid))
os.setuid(int(uid))
server.serve_forever()
`

func pyftpdlibCommand(s *Server, bin string, port int) (*exec.Cmd, error) {
	_, ftpUID, nogroupGID, err := s.virtualLogin()
	if err != nil {
		return nil, err
	}
	logFile, certFile, keyFile := "", "", ""
	if s.opts.ProtocolLog {
		logFile = filepath.Join(s.Dir, "commands.log")
	}
	if s.opts.TLS {
		if certFile, keyFile, err = writeCert(s.Dir); err != nil {
			return nil, err
		}
	}
	return exec.Command(bin, "-c", pyftpdlibScript, strconv.Itoa(port), s.Root,
		strconv.Itoa(s.PassiveMin), strconv.Itoa(s.PassiveMax), s.User, s.Password,
		ftpUID, nogroupGID, logFile, certFile, keyFile, s.instanceBanner()), nil
}

// parsePyftpdlibCommand reads a DEBUG line:
//
//	DEBUG:pyftpdlib:[anonymous]@127.0.0.1:40000 <- RETR /a.txt
func parsePyftpdlibCommand(line string) (string, bool) {
	const marker = " <- "
	i := strings.Index(line, marker)
	if i < 0 || !strings.Contains(line[:i], ":pyftpdlib:") {
		return "", false
	}
	return line[i+len(marker):], true
}
