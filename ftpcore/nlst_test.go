package ftpcore

import (
	"errors"
	"net"
	"path"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// nlstHandlers script a server without LIST (it answers listCode) whose
// NLST sends payload: /dir and /home each hold a 5-byte file a.txt and a
// directory sub; the login directory is /home. SIZE, MDTM and CWD answer
// from that tree, relative paths against the current directory.
func nlstHandlers(t *testing.T, listCode, payload string) map[string]func(s *fakeSession, arg string) {
	var n atomic.Int32
	port := dataListener(t, "127.0.0.1:0", payload, &n).Addr().(*net.TCPAddr).Port
	tree := map[string]string{ // path -> "dir" or the file's size
		"/": "dir", "/dir": "dir", "/dir/a.txt": "5", "/dir/sub": "dir",
		"/home": "dir", "/home/a.txt": "5", "/home/sub": "dir",
	}
	cwd := "/home"
	abs := func(p string) string {
		if !path.IsAbs(p) {
			p = path.Join(cwd, p)
		}
		return path.Clean(p)
	}
	h := loginHandlers()
	h["NOOP"] = func(s *fakeSession, _ string) { s.reply("200 ok\r\n") }
	h["PWD"] = func(s *fakeSession, _ string) { s.reply(`257 "` + cwd + `" is the current directory` + "\r\n") }
	h["EPSV"] = func(s *fakeSession, _ string) {
		s.reply("229 Entering Extended Passive Mode (|||" + strconv.Itoa(port) + "|)\r\n")
	}
	h["LIST"] = func(s *fakeSession, _ string) { s.reply(listCode + " LIST not understood\r\n") }
	h["NLST"] = func(s *fakeSession, _ string) {
		s.reply("150 here comes the list\r\n")
		s.reply("226 done\r\n")
	}
	h["SIZE"] = func(s *fakeSession, arg string) {
		if v := tree[abs(arg)]; v != "" && v != "dir" {
			s.reply("213 " + v + "\r\n")
			return
		}
		s.reply("550 " + arg + ": not a plain file\r\n")
	}
	h["MDTM"] = func(s *fakeSession, arg string) {
		if v := tree[abs(arg)]; v != "" && v != "dir" {
			s.reply("213 20200102030405\r\n")
			return
		}
		s.reply("550 " + arg + ": not a plain file\r\n")
	}
	h["CWD"] = func(s *fakeSession, arg string) {
		if tree[abs(arg)] == "dir" {
			cwd = abs(arg)
			s.reply("250 ok\r\n")
			return
		}
		s.reply("550 " + arg + ": no such directory\r\n")
	}
	return h
}

var nlstWant = []Entry{
	{Name: "a.txt", Type: TypeFile, Size: 5, Time: time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC), Precision: TimeExact},
	{Name: "sub", Type: TypeDir},
}

// checkNLSTEntries compares names, types and, for files, size and time.
func checkNLSTEntries(t *testing.T, got []Entry) {
	t.Helper()
	if len(got) != len(nlstWant) {
		t.Fatalf("got %d entries %v, want %v", len(got), got, nlstWant)
	}
	for _, w := range nlstWant {
		i := slices.IndexFunc(got, func(e Entry) bool { return e.Name == w.Name })
		if i < 0 {
			t.Errorf("no entry %q in %v", w.Name, got)
			continue
		}
		g := got[i]
		if g.Type != w.Type {
			t.Errorf("%s: type %v, want %v", w.Name, g.Type, w.Type)
		}
		if w.Type == TypeFile && (g.Size != w.Size || !g.Time.Equal(w.Time) || g.Precision != w.Precision) {
			t.Errorf("%s: %v, want %v", w.Name, g, w)
		}
	}
}

// A server that refuses LIST as unknown (500/502) is listed with NLST:
// SIZE and MDTM tell a file's size and time, and a name whose SIZE fails
// is a directory if CWD into it works. Any other refusal of LIST is an
// error of its own, not a reason for NLST.
func TestListNLSTFallback(t *testing.T) {
	for _, tc := range []struct {
		listCode string
		fallback bool
	}{
		{"502", true},
		{"500", true},
		{"550", false},
	} {
		t.Run("LIST "+tc.listCode, func(t *testing.T) {
			f := newFakeServer(t, nlstHandlers(t, tc.listCode, "a.txt\r\nsub\r\n"))
			c := dialFake(t, f, &Config{Timeout: 10 * time.Second})
			if err := c.Login(t.Context(), "", ""); err != nil {
				t.Fatal(err)
			}
			entries, err := c.List(t.Context(), "/dir")
			got := f.got()
			if !tc.fallback {
				var fe *Error
				if !errors.As(err, &fe) || fe.Code != 550 {
					t.Errorf("List = %v, %v; want the 550 of LIST", entries, err)
				}
				if slices.Contains(got, "NLST") {
					t.Errorf("NLST sent after a 550 to LIST: %q", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("List: %v (commands %q)", err, got)
			}
			checkNLSTEntries(t, entries)
			for _, cmd := range []string{"CWD /dir", "NLST", "SIZE /dir/a.txt", "MDTM /dir/a.txt", "SIZE /dir/sub", "CWD /dir/sub"} {
				if !slices.Contains(got, cmd) {
					t.Errorf("%q not sent: %q", cmd, got)
				}
			}
			for _, cmd := range []string{"CWD /dir/a.txt", "MDTM /dir/sub"} {
				if slices.Contains(got, cmd) {
					t.Errorf("%q sent: a file is not probed with CWD, nor a directory with MDTM: %q", cmd, got)
				}
			}
		})
	}
}

// Listing the login directory by a relative (empty) path: probing "sub"
// with CWD must not make the names after it resolve inside sub, and the
// connection ends up where it was.
func TestListNLSTRelativeDir(t *testing.T) {
	f := newFakeServer(t, nlstHandlers(t, "502", "sub\r\na.txt\r\n"))
	c := dialFake(t, f, &Config{Timeout: 10 * time.Second})
	if err := c.Login(t.Context(), "", ""); err != nil {
		t.Fatal(err)
	}
	entries, err := c.List(t.Context(), "")
	if err != nil {
		t.Fatalf("List: %v (commands %q)", err, f.got())
	}
	checkNLSTEntries(t, entries)
	if dir, err := c.Pwd(t.Context()); err != nil || dir != "/home" {
		t.Errorf("after List the current directory is %q (%v), want /home; commands %q", dir, err, f.got())
	}
}
