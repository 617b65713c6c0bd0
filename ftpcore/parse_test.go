package ftpcore

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"file.txt", true},
		{" leading space", true},
		{"trailing space ", true},
		{"back\\slash", true},
		{"tab\there", true},
		{"caf\xe9", true},
		{"héllo wörld ✓.txt", true},
		{"...", true},
		{".hidden", true},
		{strings.Repeat("x", 1024), true},

		{"", false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{"/", false},
		{"a\x00b", false},
		{"a\rb", false},
		{"a\nb", false},
		{"name\r", false},
		{strings.Repeat("x", 1025), false},
	}
	for _, tt := range tests {
		if got := validName(tt.name); got != tt.ok {
			t.Errorf("validName(%q) = %v, want %v", tt.name, got, tt.ok)
		}
	}
}

func TestParsePASV(t *testing.T) {
	tests := []struct {
		msg  string
		ip   string
		port int
	}{
		{"Entering Passive Mode (192,168,1,2,19,137).", "192.168.1.2", 19<<8 | 137},
		// vsftpd 3.0.3, pure-ftpd 1.0.50 (no final dot), proftpd 1.3.8.
		{"Entering Passive Mode (127,0,0,1,42,109).", "127.0.0.1", 42<<8 | 109},
		{"Entering Passive Mode (127,0,0,1,68,251)", "127.0.0.1", 68<<8 | 251},
		{"Entering Passive Mode (127,0,0,1,91,70).", "127.0.0.1", 91<<8 | 70},
		// Without parentheses, as RFC 1123 4.1.2.6 warns.
		{"Entering Passive Mode 192,168,1,2,19,137", "192.168.1.2", 5001},
		{"Entering Passive Mode =192,168,1,2,19,137", "192.168.1.2", 5001},
		{"192,168,1,2,19,137", "192.168.1.2", 5001},
		// A number before the tuple is skipped.
		{"227 Entering Passive Mode (10,0,0,1,4,0)", "10.0.0.1", 1024},
		{"Passive (1,2,3) mode (10,0,0,1,255,255)", "10.0.0.1", 65535},
		{"(010,000,000,001,000,001)", "10.0.0.1", 1},
	}
	for _, tt := range tests {
		ip, port, err := parsePASV(tt.msg)
		if err != nil {
			t.Errorf("parsePASV(%q): %v", tt.msg, err)
			continue
		}
		if !ip.Equal(net.ParseIP(tt.ip)) || ip.To4() == nil || port != tt.port {
			t.Errorf("parsePASV(%q) = %v, %d; want %s, %d", tt.msg, ip, port, tt.ip, tt.port)
		}
	}
}

func TestParsePASVErrors(t *testing.T) {
	for _, msg := range []string{
		"",
		"Entering Passive Mode",
		"Entering Passive Mode (256,1,1,1,1,1)",
		"Entering Passive Mode (1,1,1,1,256,1)",
		"Entering Passive Mode (1,2,3,4,0,0)",
		"Entering Passive Mode (1,2,3,4,5)",
		"Entering Passive Mode (1,2,3,4,5,6789)",
		"Entering Passive Mode (0001,2,3,4,5,6)",
		"Entering Passive Mode (1,2,3,4,5,-6)",
		"Entering Passive Mode (1, 2, 3, 4, 5, 6)",
		"Entering Passive Mode (1,2,3,4,,6)",
	} {
		if ip, port, err := parsePASV(msg); !errors.Is(err, ErrProtocol) {
			t.Errorf("parsePASV(%q) = %v, %d, %v; want ErrProtocol", msg, ip, port, err)
		}
	}
}

func TestParseEPSV(t *testing.T) {
	tests := []struct {
		msg  string
		port int
	}{
		{"Entering Extended Passive Mode (|||6446|)", 6446},
		// vsftpd 3.0.3, pure-ftpd 1.0.50, proftpd 1.3.8.
		{"Entering Extended Passive Mode (|||12604|)", 12604},
		{"Extended Passive mode OK (|||18761|)", 18761},
		{"Entering Extended Passive Mode (|||21893|).", 21893},
		{"Entering Extended Passive Mode (!!!6446!)", 6446},
		{"Entering Extended Passive Mode ()))6446))", 6446},
		{"(|||1|)", 1},
		{"(|||65535|)", 65535},
		{"(|||00080|)", 80},
		// The address is ignored.
		{"Entering Extended Passive Mode (|1|192.168.1.2|6446|)", 6446},
		{"Entering Extended Passive Mode (|2|::1|6446|)", 6446},
		// The first well-formed group counts.
		{"Mode (x) (|||6446|)", 6446},
	}
	for _, tt := range tests {
		port, err := parseEPSV(tt.msg)
		if err != nil || port != tt.port {
			t.Errorf("parseEPSV(%q) = %d, %v; want %d", tt.msg, port, err, tt.port)
		}
	}
}

func TestParseEPSVErrors(t *testing.T) {
	for _, msg := range []string{
		"",
		"Entering Extended Passive Mode",
		"Entering Extended Passive Mode |||6446|",
		"Entering Extended Passive Mode (|||0|)",
		"Entering Extended Passive Mode (|||65536|)",
		"Entering Extended Passive Mode (|||000001|)",
		"Entering Extended Passive Mode (|||-1|)",
		"Entering Extended Passive Mode (|||+80|)",
		"Entering Extended Passive Mode (|||abc|)",
		"Entering Extended Passive Mode (|||)",
		"Entering Extended Passive Mode (||6446|)",
		"Entering Extended Passive Mode (|||6446)",
		"Entering Extended Passive Mode (|||6446|",
		"Entering Extended Passive Mode (|||6446!)",
		"Entering Extended Passive Mode (1116446)",
		"Entering Extended Passive Mode ( 6446 )",
		"Entering Extended Passive Mode (\x7f\x7f\x7f6446\x7f)",
		"Entering Extended Passive Mode (",
	} {
		if port, err := parseEPSV(msg); !errors.Is(err, ErrProtocol) {
			t.Errorf("parseEPSV(%q) = %d, %v; want ErrProtocol", msg, port, err)
		}
	}
}

func TestParsePWD(t *testing.T) {
	tests := []struct {
		msg, dir string
	}{
		// vsftpd 3.0.3 and proftpd 1.3.8; pure-ftpd 1.0.50.
		{`"/" is the current directory`, "/"},
		{`"/" is your current location`, "/"},
		{`"/dir with spaces" is the current directory`, "/dir with spaces"},
		{`"/some ""quoted"" dir" is current directory`, `/some "quoted" dir`},
		{`"/a""" ends in a quote`, `/a"`},
		{`"""" is a quote`, `"`},
		{`"/x"`, "/x"},
		{`MKD-style "/x" created`, "/x"},
		{`"C:/Users/ftp" is current directory.`, "C:/Users/ftp"},
		{`"'USER.'" is working directory.`, "'USER.'"},
		{"\"/h\xe9\" is current", "/h\xe9"},
	}
	for _, tt := range tests {
		dir, err := parsePWD(tt.msg)
		if err != nil || dir != tt.dir {
			t.Errorf("parsePWD(%q) = %q, %v; want %q", tt.msg, dir, err, tt.dir)
		}
	}
}

func TestParsePWDErrors(t *testing.T) {
	for _, msg := range []string{
		"",
		"/home/ftp is current directory",
		`"" is current directory`,
		`"/unterminated`,
		`"/unterminated""`,
		"\"/a\x00b\" is current directory",
		"\"/a\rb\" is current directory",
		"\"/a\nb\" is current directory",
	} {
		if dir, err := parsePWD(msg); !errors.Is(err, ErrProtocol) {
			t.Errorf("parsePWD(%q) = %q, %v; want ErrProtocol", msg, dir, err)
		}
	}
}

func TestParseMDTM(t *testing.T) {
	tests := []struct {
		s    string
		want time.Time
	}{
		// vsftpd, pure-ftpd and proftpd all answer MDTM like this.
		{"20261125154012", time.Date(2026, time.November, 25, 15, 40, 12, 0, time.UTC)},
		{"20200101000000", time.Date(2020, time.January, 1, 0, 0, 0, 0, time.UTC)},
		{" 20200101000000 ", time.Date(2020, time.January, 1, 0, 0, 0, 0, time.UTC)},
		{"20261125154012.5", time.Date(2026, time.November, 25, 15, 40, 12, 500_000_000, time.UTC)},
		{"20261125154012.123", time.Date(2026, time.November, 25, 15, 40, 12, 123_000_000, time.UTC)},
		{"20261125154012.123456789", time.Date(2026, time.November, 25, 15, 40, 12, 123456789, time.UTC)},
		{"20240229120000", time.Date(2024, time.February, 29, 12, 0, 0, 0, time.UTC)},
		{"19691231235959", time.Date(1969, time.December, 31, 23, 59, 59, 0, time.UTC)},
		{"10000101000000", time.Date(1000, time.January, 1, 0, 0, 0, 0, time.UTC)},
		{"99991231235959", time.Date(9999, time.December, 31, 23, 59, 59, 0, time.UTC)},
		// A leap second becomes :59.
		{"20161231235960", time.Date(2016, time.December, 31, 23, 59, 59, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := parseMDTM(tt.s)
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("parseMDTM(%q) = %v, %v; want %v", tt.s, got, err, tt.want)
		}
	}
}

func TestParseMDTMErrors(t *testing.T) {
	for _, s := range []string{
		"",
		"2026-11-25 15:40:12",
		"2026112515401",
		"202611251540123",
		// The "19" + tm_year bug of old servers for 2000-10-11 11:20:00.
		"191001011112000",
		"09991231235959",
		"20261325000000",
		"20260025000000",
		"20261100000000",
		"20260230000000",
		"20230229000000",
		"20261125240000",
		"20261125236000",
		"20261125235961",
		"20261125154012.",
		"20261125154012.1234567890",
		"20261125154012.12a",
		"20261125154012,5",
		"+0261125154012",
		"2026112515401Z",
		"213 20261125154012",
	} {
		if got, err := parseMDTM(s); !errors.Is(err, ErrProtocol) {
			t.Errorf("parseMDTM(%q) = %v, %v; want ErrProtocol", s, got, err)
		}
	}
}
