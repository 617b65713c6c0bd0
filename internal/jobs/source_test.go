package jobs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSource(t *testing.T) {
	for _, tc := range []struct {
		in               string
		addr, path, user string
		pass             string
		implicit         bool
		bad              bool
	}{
		// RFC 1738: the path is relative to the login directory; %2F
		// (or an empty first segment, as lftp takes it) makes it absolute.
		{in: "ftp://ftp.example.org/pub/x", addr: "ftp.example.org:21", path: "pub/x"},
		{in: "ftp://ftp.example.org/%2Fpub/x", addr: "ftp.example.org:21", path: "/pub/x"},
		{in: "ftp://ftp.example.org/%2fpub/x/", addr: "ftp.example.org:21", path: "/pub/x"},
		{in: "ftp://ftp.example.org//pub/x", addr: "ftp.example.org:21", path: "/pub/x"},
		{in: "ftp://h/a%20b/c%2Fd", addr: "h:21", path: "a b/c/d"},
		{in: "ftp://h/%2F", addr: "h:21", path: "/"},
		{in: "ftp://u:p%40ss@h:2121/", addr: "h:2121", path: "", user: "u", pass: "p@ss"},
		{in: "ftp://h", addr: "h:21", path: ""},
		{in: "ftps://h/d", addr: "h:990", path: "d", implicit: true},
		{in: "ftp://[::1]:21/x", addr: "[::1]:21", path: "x"},
		{in: "sftp://h/", bad: true},
		{in: "ftp://h/x?y=1", bad: true},
		{in: "ftp://h/a%0d%0aDELE", bad: true},
		{in: "ftp://h:99999/", bad: true},
		{in: "ftp://h:0/", bad: true},
		{in: "ftp://h:ftp/", bad: true},
	} {
		s, err := ParseSource(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("%s: no error", tc.in)
			}
			continue
		}
		if err != nil || s.Addr != tc.addr || s.Path != tc.path || s.User != tc.user || s.Password != tc.pass || s.Implicit != tc.implicit {
			t.Errorf("%s: %+v %v", tc.in, s, err)
			continue
		}
		// String gives a URL that parses back to the same place.
		if back, err := ParseSource(s.String()); err != nil || back.Path != s.Path || back.Addr != s.Addr {
			t.Errorf("%s: String() = %s parses back to %+v, %v", tc.in, s.String(), back, err)
		}
	}
}

func TestNetrc(t *testing.T) {
	f := filepath.Join(t.TempDir(), "netrc")
	// A macdef (its body ends at a blank line) does not hide the entries
	// after it, as it did with the hand-written parser.
	os.WriteFile(f, []byte("machine other login a password b\nmacdef init\ncd /pub\nbinary\n\nmachine h.example login bob password s3cret\ndefault login anonymous password guest\n"), 0o600)
	t.Setenv("NETRC", f)
	for _, tc := range []struct{ host, user, wantUser, wantPass string }{
		{"h.example", "", "bob", "s3cret"},
		{"h.example", "bob", "bob", "s3cret"},
		{"h.example", "alice", "alice", ""},
		{"elsewhere", "", "anonymous", "guest"},
	} {
		s := &Source{Host: tc.host}
		l := s.Credentials(tc.user)
		if l.User != tc.wantUser || l.Password != tc.wantPass {
			t.Errorf("%s/%s: got %s/%s", tc.host, tc.user, l.User, l.Password)
		}
		if len(l.Warnings) > 0 {
			t.Errorf("%s/%s: warnings %q for a mode-600 netrc", tc.host, tc.user, l.Warnings)
		}
	}
	// A netrc that others can read works, with a warning.
	os.Chmod(f, 0o644)
	if l := (&Source{Host: "h.example"}).Credentials(""); l.Password != "s3cret" || len(l.Warnings) != 1 || !strings.Contains(l.Warnings[0], "readable by others") {
		t.Errorf("mode 644: %+v", l)
	}
}
