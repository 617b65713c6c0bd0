package ftpcore

import (
	"errors"
	"net"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// cwdHandlers script an MLSD server whose only directory besides / is
// /dir; MLSD lists a.txt wherever it is. Every listing goes through the
// data listener, which counts connections.
func cwdHandlers(t *testing.T, accepted *atomic.Int32) map[string]func(s *fakeSession, arg string) {
	port := dataListener(t, "127.0.0.1:0", "type=file;size=5;modify=20200102030405; a.txt\r\n", accepted).Addr().(*net.TCPAddr).Port
	h := loginHandlers()
	h["FEAT"] = func(s *fakeSession, _ string) { s.reply("211-Features:\r\n MLST type*;size*;modify*;\r\n211 End\r\n") }
	h["NOOP"] = func(s *fakeSession, _ string) { s.reply("200 ok\r\n") }
	h["EPSV"] = func(s *fakeSession, _ string) {
		s.reply("229 Entering Extended Passive Mode (|||" + strconv.Itoa(port) + "|)\r\n")
	}
	h["CWD"] = func(s *fakeSession, arg string) {
		if arg == "/" || arg == "/dir" {
			s.reply("250 ok\r\n")
			return
		}
		s.reply("550 " + arg + ": No such file or directory.\r\n")
	}
	h["MLSD"] = func(s *fakeSession, _ string) { s.reply("150 here it comes\r\n226 done\r\n") }
	return h
}

// A directory is listed by CWD into it and MLSD without an argument. Once
// the connection pipelines, a refused CWD went out in one write with
// EPSV and MLSD: the listing that comes anyway (of the directory we were
// in) is read and dropped, the CWD's 550 is the error, and the
// connection stays in step.
func TestListByCWD(t *testing.T) {
	var accepted atomic.Int32
	f := newFakeServer(t, cwdHandlers(t, &accepted))
	c := dialFake(t, f, &Config{Timeout: 10 * time.Second})
	if err := c.Login(t.Context(), "", ""); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"/dir", "/[dir]", "/dir"} {
		entries, err := c.List(t.Context(), dir)
		var fe *Error
		switch {
		case dir == "/dir" && (err != nil || len(entries) != 1 || entries[0].Name != "a.txt"):
			t.Errorf("List %s = %v, %v", dir, entries, err)
		case dir != "/dir" && (!errors.As(err, &fe) || fe.Cmd != "CWD" || fe.Code != 550 || entries != nil):
			t.Errorf("List %s = %v, %v; want CWD's 550", dir, entries, err)
		}
	}
	got := f.got()
	for _, cmd := range got {
		if cmd == "MLSD /dir" || cmd == "MLSD /[dir]" {
			t.Errorf("a path went as MLSD's argument: %q", got)
		}
	}
	want := []string{"CWD /dir", "EPSV", "MLSD", "CWD /[dir]", "EPSV", "MLSD", "CWD /dir", "EPSV", "MLSD"}
	if len(got) < len(want) || !slices.Equal(got[len(got)-len(want):], want) {
		t.Errorf("commands %q, want ... %q", got, want)
	}
	if accepted.Load() != 3 {
		t.Errorf("%d data connections, want 3 (the refused CWD's listing is read too)", accepted.Load())
	}
}

// A preliminary reply to a command that opens no transfer belongs to a
// later command (pyftpdlib's active mode answers a pipelined PORT after
// RETR's 150): the Conn breaks with ErrOutOfOrder rather than reading
// every later reply one off.
func TestOutOfOrderReply(t *testing.T) {
	h := loginHandlers()
	h["CWD"] = func(s *fakeSession, _ string) { s.reply("150 About to open data connection.\r\n250 ok\r\n") }
	f := newFakeServer(t, h)
	c := dialFake(t, f, &Config{Timeout: 10 * time.Second})
	if err := c.Login(t.Context(), "", ""); err != nil {
		t.Fatal(err)
	}
	err := c.Cwd(t.Context(), "/x")
	if !errors.Is(err, ErrOutOfOrder) || !errors.Is(err, ErrProtocol) || !IsTransient(err) {
		t.Fatalf("Cwd = %v, want ErrOutOfOrder", err)
	}
	if !errors.Is(c.Noop(t.Context()), ErrConnBroken) {
		t.Error("the Conn is still used after replies out of order")
	}
}
