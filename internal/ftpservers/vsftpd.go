package ftpservers

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// vsftpd 3.0.3 (Debian 12). Anonymous only: its other logins go through
// PAM and system users. With Options.TLS, anonymous logins and data
// connections must use TLS, and data connections must resume the control
// connection's session (require_ssl_reuse=YES, the default), or vsftpd
// replies "522 SSL connection failed: session reuse required".
var vsftpdFlavor = &flavor{
	binary:       "/usr/sbin/vsftpd",
	command:      vsftpdCommand,
	netns:        true,
	parseCommand: parseVsftpdCommand,
	protocolLog:  "vsftpd.log",
}

func vsftpdCommand(s *Server, bin string, port int) (*exec.Cmd, error) {
	empty := filepath.Join(s.Dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		return nil, err
	}
	yes := func(b bool) string {
		if b {
			return "YES"
		}
		return "NO"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `listen=YES
listen_ipv6=NO
listen_address=%s
listen_port=%d
background=NO
anonymous_enable=YES
anon_root=%s
no_anon_password=NO
anon_upload_enable=NO
anon_mkdir_write_enable=NO
anon_other_write_enable=NO
write_enable=NO
local_enable=NO
pasv_enable=YES
pasv_min_port=%d
pasv_max_port=%d
port_enable=YES
connect_from_port_20=NO
secure_chroot_dir=%s
seccomp_sandbox=NO
max_clients=0
max_per_ip=0
idle_session_timeout=300
data_connection_timeout=120
syslog_enable=NO
xferlog_enable=YES
xferlog_std_format=NO
vsftpd_log_file=%s
dual_log_enable=NO
log_ftp_protocol=%s
use_localtime=%s
hide_ids=NO
ftpd_banner=vsFTPd, %s
`, s.host(), port, s.Root, s.PassiveMin, s.PassiveMax, empty,
		filepath.Join(s.Dir, "vsftpd.log"), yes(s.opts.ProtocolLog), yes(s.opts.Zone != ""), s.instanceBanner())
	if s.opts.TLS {
		certFile, keyFile, err := writeCert(s.Dir)
		if err != nil {
			return nil, err
		}
		// Debian's default ssl_ciphers, ECDHE-RSA-AES256-GCM-SHA384, has
		// nothing for an ECDSA key in TLS 1.2.
		fmt.Fprintf(&b, `ssl_enable=YES
allow_anon_ssl=YES
force_anon_logins_ssl=YES
force_anon_data_ssl=YES
require_ssl_reuse=YES
ssl_sslv2=NO
ssl_sslv3=NO
ssl_tlsv1=YES
ssl_ciphers=HIGH
rsa_cert_file=%s
rsa_private_key_file=%s
`, certFile, keyFile)
	}
	conf := filepath.Join(s.Dir, "vsftpd.conf")
	if err := writeFile(conf, []byte(b.String())); err != nil {
		return nil, err
	}
	return exec.Command(bin, conf), nil
}

// parseVsftpdCommand reads a log_ftp_protocol line:
//
//	Tue Nov 25 15:40:01 2025 [pid 4545] [ftp] FTP command: Client "127.0.0.1", "RETR a.txt"
func parseVsftpdCommand(line string) (string, bool) {
	const marker = `FTP command: Client "`
	i := strings.Index(line, marker)
	if i < 0 {
		return "", false
	}
	rest := line[i+len(marker):]
	j := strings.Index(rest, `", "`)
	if j < 0 || !strings.HasSuffix(rest, `"`) {
		return "", false
	}
	return rest[j+4 : len(rest)-1], true
}
