package ftpservers

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// proftpd 1.3.8 (Debian 12, proftpd-core). TLS comes from mod_tls.so of
// proftpd-mod-crypto, loaded from the prefix. Logins: anonymous (an
// <Anonymous> block for the system user ftp) and a user of an AuthUserFile.
// ProtocolLog is an ExtendedLog of "%r" (the command line, PASS hidden).
var proFTPdFlavor = &flavor{
	binary:       "usr/sbin/proftpd",
	command:      proFTPdCommand,
	netns:        true,
	parseCommand: parseProFTPdCommand,
	protocolLog:  "commands.log",
}

const proFTPdLogPrefix = "ftpmirror-cmd "

// proFTPdCommand is long because it writes proftpd's whole configuration inline.
func proFTPdCommand(s *Server, bin string, port int) (*exec.Cmd, error) {
	acct, ftpUID, nogroupGID, err := s.virtualLogin()
	if err != nil {
		return nil, err
	}
	passwd := filepath.Join(s.Dir, "ftpd.passwd")
	group := filepath.Join(s.Dir, "ftpd.group")
	if err := writeFile(passwd, fmt.Appendf(nil, "%s:%s:%s:%s::%s:/bin/sh\n",
		s.User, acct.hash, ftpUID, nogroupGID, s.Root)); err != nil {
		return nil, err
	}
	if err := writeFile(group, fmt.Appendf(nil, "ftpmirror:x:%s:\n", nogroupGID)); err != nil {
		return nil, err
	}

	var b strings.Builder
	var modules []string
	if s.opts.TLS {
		modules = append(modules, "mod_tls.c")
	}
	if s.opts.Digest {
		modules = append(modules, "mod_digest.c")
	}
	if len(modules) > 0 {
		fmt.Fprintf(&b, "<IfModule mod_dso.c>\n  ModulePath %s\n", filepath.Join(prefix(), "usr/lib/proftpd"))
		for _, m := range modules {
			fmt.Fprintf(&b, "  LoadModule %s\n", m)
		}
		b.WriteString("</IfModule>\n")
	}
	if s.opts.Digest {
		// mod_digest 1.3.8 caches digests by path and mtime; the tests
		// change files between runs with their times, so no cache.
		b.WriteString("DigestEngine on\nDigestCache off\n")
	}
	// ServerName is in the greeting: ProFTPD Server (NAME) [127.0.0.1].
	fmt.Fprintf(&b, `ServerName "ftpmirror test proftpd, %s"
ServerType standalone
DefaultAddress %s
SocketBindTight on
Port %d
UseIPv6 off
PassivePorts %d %d
User nobody
Group nogroup
Umask 022
MaxInstances 100
ScoreboardFile %s
PidFile %s
DelayEngine off
WtmpLog off
UseReverseDNS off
TransferLog NONE
SystemLog %s
UseFtpUsers off
RequireValidShell off
AuthPAM off
AuthOrder mod_auth_file.c mod_auth_unix.c
AuthUserFile %s
AuthGroupFile %s
DefaultRoot ~
AllowOverwrite off
TimeoutIdle 300
<Limit WRITE SITE_CHMOD>
  DenyAll
</Limit>
`, s.instanceBanner(), s.host(), port, s.PassiveMin, s.PassiveMax, filepath.Join(s.Dir, "proftpd.scoreboard"),
		filepath.Join(s.Dir, "proftpd.pid"), filepath.Join(s.Dir, "proftpd.log"), passwd, group)
	if s.opts.ProtocolLog {
		fmt.Fprintf(&b, "LogFormat ftpmirror \"%s%%r\"\nExtendedLog %s ALL ftpmirror\n",
			proFTPdLogPrefix, filepath.Join(s.Dir, "commands.log"))
	}
	if s.opts.TLS {
		certFile, keyFile, err := writeCert(s.Dir)
		if err != nil {
			return nil, err
		}
		// TLSRequired on: control and data. Data connections must
		// resume the control connection's session (the default; the
		// option NoSessionReuseRequired would lift it). Go's client
		// resumes TLS 1.2 only from session tickets, which proftpd
		// issues only with TLSSessionTickets on.
		fmt.Fprintf(&b, `TLSEngine on
TLSRequired on
TLSProtocol TLSv1.2 TLSv1.3
TLSECCertificateFile %s
TLSECCertificateKeyFile %s
TLSVerifyClient off
TLSSessionTickets on
TLSLog %s
`, certFile, keyFile, filepath.Join(s.Dir, "tls.log"))
	}
	fmt.Fprintf(&b, `<Anonymous %s>
  User ftp
  Group nogroup
  UserAlias anonymous ftp
  RequireValidShell off
  MaxClients 100
  <Limit WRITE SITE_CHMOD>
    DenyAll
  </Limit>
</Anonymous>
`, s.Root)
	conf := filepath.Join(s.Dir, "proftpd.conf")
	if err := writeFile(conf, []byte(b.String())); err != nil {
		return nil, err
	}
	return exec.Command(bin, "-n", "-q", "-c", conf), nil
}

// parseProFTPdCommand reads a line of the ExtendedLog:
//
//	ftpmirror-cmd RETR a.txt
func parseProFTPdCommand(line string) (string, bool) {
	if c, ok := strings.CutPrefix(line, proFTPdLogPrefix); ok {
		return c, true
	}
	return "", false
}
