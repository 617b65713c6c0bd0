package ftpcore

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// maxNameLen bounds one name from a listing. Linux and the BSDs allow 255
// bytes per component; 1024 leaves room for servers that list in a wider
// encoding without letting a hostile server hand us megabyte names.
const maxNameLen = 1024

// validName reports whether a name parsed from a listing is acceptable as
// one path component: non-empty, not "." or "..", no '/', NUL, CR or LF,
// at most maxNameLen bytes. Backslashes and bytes that are not UTF-8 are
// allowed here; the mirror decides what its platform can store.
func validName(name string) bool {
	if name == "" || name == "." || name == ".." || len(name) > maxNameLen {
		return false
	}
	return !strings.ContainsAny(name, "/\x00\r\n")
}

// parsePASV parses the text of a 227 reply (RFC 959 4.1.2, "Entering
// Passive Mode (h1,h2,h3,h4,p1,p2)"). It looks for the six numbers
// anywhere in the text: RFC 1123 4.1.2.6 tells clients to scan for them,
// because some servers leave out the parentheses or change the wording.
func parsePASV(msg string) (net.IP, int, error) {
	for i := 0; i < len(msg); i++ {
		if !isDigit(msg[i]) || (i > 0 && isDigit(msg[i-1])) {
			continue
		}
		var n [6]int
		if !scanPASVNumbers(msg[i:], &n) {
			continue
		}
		port := n[4]<<8 | n[5]
		if port == 0 {
			return nil, 0, fmt.Errorf("%w: port 0 in PASV reply %q", ErrProtocol, msg)
		}
		return net.IPv4(byte(n[0]), byte(n[1]), byte(n[2]), byte(n[3])), port, nil
	}
	return nil, 0, fmt.Errorf("%w: no address in PASV reply %q", ErrProtocol, msg)
}

// ParsePASV returns the address and port that the text of a 227 reply
// names, as passive mode reads it. (Passive mode connects to the
// control connection's peer, whatever the address: see
// Config.TrustPASVAddress.)
func ParsePASV(msg string) (net.IP, int, error) { return parsePASV(msg) }

// scanPASVNumbers reads six comma-separated decimal numbers of one to
// three digits, each at most 255, from the start of s.
func scanPASVNumbers(s string, n *[6]int) bool {
	for k := range n {
		if k > 0 {
			if s == "" || s[0] != ',' {
				return false
			}
			s = s[1:]
		}
		d := 0
		for d < len(s) && isDigit(s[d]) {
			d++
		}
		if d == 0 || d > 3 {
			return false
		}
		n[k] = atoiDigits(s[:d])
		if n[k] > 255 {
			return false
		}
		s = s[d:]
	}
	return true
}

// parseEPSV parses the text of a 229 reply (RFC 2428 3, "Entering
// Extended Passive Mode (|||6446|)") and returns the port. The delimiter
// may be any character from 33 to 126 but a digit. The protocol and
// address fields should be empty; if a server fills them in anyway they
// are ignored, since the data connection always goes to the control
// connection's peer.
func parseEPSV(msg string) (int, error) {
	for i := strings.IndexByte(msg, '('); i >= 0; {
		if port, ok := scanEPSV(msg[i+1:]); ok {
			return port, nil
		}
		j := strings.IndexByte(msg[i+1:], '(')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return 0, fmt.Errorf("%w: no port in EPSV reply %q", ErrProtocol, msg)
}

// scanEPSV reads "<d><proto><d><addr><d><port><d>)" from the start of s.
func scanEPSV(s string) (int, bool) {
	if s == "" || s[0] < 33 || s[0] > 126 || isDigit(s[0]) {
		return 0, false
	}
	d := s[:1]
	fields := strings.SplitN(s[1:], d, 4)
	if len(fields) != 4 || !strings.HasPrefix(fields[3], ")") {
		return 0, false
	}
	p := fields[2]
	if p == "" || len(p) > 5 || strings.TrimLeft(p, "0123456789") != "" {
		return 0, false
	}
	port := atoiDigits(p)
	if port < 1 || port > 65535 {
		return 0, false
	}
	return port, true
}

// parsePWD parses the text of a 257 reply (RFC 959 appendix II): the
// directory is the first quoted string, with each embedded quote doubled,
// as in `"/a ""b"" c" is current directory`.
func parsePWD(msg string) (string, error) {
	start := strings.IndexByte(msg, '"')
	if start < 0 {
		return "", fmt.Errorf("%w: no quoted directory in %q", ErrProtocol, msg)
	}
	var b strings.Builder
	for i := start + 1; i < len(msg); i++ {
		if msg[i] != '"' {
			b.WriteByte(msg[i])
			continue
		}
		if i+1 < len(msg) && msg[i+1] == '"' {
			b.WriteByte('"')
			i++
			continue
		}
		dir := b.String()
		if dir == "" || strings.ContainsAny(dir, "\x00\r\n") {
			return "", fmt.Errorf("%w: bad directory in %q", ErrProtocol, msg)
		}
		return dir, nil
	}
	return "", fmt.Errorf("%w: unterminated directory in %q", ErrProtocol, msg)
}

// parseMDTM parses a time value as RFC 3659 2.3 defines it,
// YYYYMMDDHHMMSS with an optional fraction of one to nine digits, in UTC.
// Leading and trailing spaces (the text of a 213 reply) are ignored. A
// leap second 60 becomes 59. Old servers that printed the year as "19"
// followed by tm_year send 19100 for 2000; that has 15 digits before the
// fraction and is rejected rather than guessed at.
func parseMDTM(s string) (time.Time, error) {
	t, ok := scanTimeVal(strings.TrimSpace(s))
	if !ok {
		return time.Time{}, fmt.Errorf("%w: bad time value %q", ErrProtocol, s)
	}
	return t, nil
}

// scanTimeVal is parseMDTM without the error: the MLSD "modify" fact uses
// the same syntax.
func scanTimeVal(s string) (time.Time, bool) {
	digits, frac, hasFrac := strings.Cut(s, ".")
	if len(digits) != 14 || !allDigits(digits) {
		return time.Time{}, false
	}
	if hasFrac && (frac == "" || len(frac) > 9 || !allDigits(frac)) {
		return time.Time{}, false
	}
	year := atoiDigits(digits[0:4])
	month := atoiDigits(digits[4:6])
	day := atoiDigits(digits[6:8])
	hour := atoiDigits(digits[8:10])
	minute := atoiDigits(digits[10:12])
	sec := atoiDigits(digits[12:14])
	if year < 1000 || month < 1 || month > 12 || day < 1 || day > daysIn(time.Month(month), year) ||
		hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, false
	}
	if sec == 60 {
		sec = 59
	}
	nsec := 0
	if hasFrac {
		nsec = atoiDigits(frac)
		for range 9 - len(frac) {
			nsec *= 10
		}
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

// daysIn returns the number of days of month m in year y.
func daysIn(m time.Month, y int) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// atoiDigits converts a short string of ASCII digits that the caller has
// already checked (at most 9, so the result fits any int).
func atoiDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
