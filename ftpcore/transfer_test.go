package ftpcore

import (
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// transferServer scripts a server for the transfer tests: /f and /g
// hold "data", /dir is the only directory besides /, MDTM knows every
// file, and refuse names commands it answers with 5xx (EPSV, REST).
// In passive mode every data connection comes from one listener; in
// active mode RETR connects to the address of the last PORT.
func transferServer(t *testing.T, refuse ...string) *fakeServer {
	var accepted atomic.Int32
	port := dataListener(t, "127.0.0.1:0", "data", &accepted).Addr().(*net.TCPAddr).Port
	var target atomic.Value // the address of the last PORT
	h := loginHandlers()
	h["FEAT"] = func(s *fakeSession, _ string) {
		s.reply("211-Features:\r\n MLST type*;size*;modify*;\r\n MDTM\r\n211 End\r\n")
	}
	h["NOOP"] = func(s *fakeSession, _ string) { s.reply("200 ok\r\n") }
	h["EPSV"] = func(s *fakeSession, _ string) {
		s.reply("229 Entering Extended Passive Mode (|||" + strconv.Itoa(port) + "|)\r\n")
	}
	h["PASV"] = func(s *fakeSession, _ string) {
		s.reply(fmt.Sprintf("227 Entering Passive Mode (127,0,0,1,%d,%d).\r\n", port>>8, port&0xff))
	}
	h["PORT"] = portHandler(&target)
	h["REST"] = func(s *fakeSession, _ string) { s.reply("350 restarting\r\n") }
	h["MDTM"] = func(s *fakeSession, _ string) { s.reply("213 20200102030405\r\n") }
	h["CWD"] = func(s *fakeSession, arg string) {
		if arg == "/" || arg == "/dir" {
			s.reply("250 ok\r\n")
			return
		}
		s.reply("550 " + arg + ": No such file or directory.\r\n")
	}
	send := func(s *fakeSession, _ string) {
		s.reply("150 here it comes\r\n")
		if addr, ok := target.Load().(string); ok {
			d, err := net.Dial("tcp", addr)
			if err != nil {
				s.reply("425 cannot connect\r\n")
				return
			}
			d.Write([]byte("type=file;size=4;modify=20200102030405; a.txt\r\n"))
			d.Close()
		}
		s.reply("226 done\r\n")
	}
	h["RETR"], h["MLSD"] = send, send
	for _, verb := range refuse {
		h[verb] = func(s *fakeSession, _ string) { s.reply("500 " + verb + " not understood\r\n") }
	}
	return newFakeServer(t, h)
}

// fetch reads a transfer to its end and closes it.
func fetch(t *testing.T, x *Transfer, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(x); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
}

// One transfer path: with pipelining, the commands of a transfer go out
// in one write once a transfer has worked on the connection (the first
// one learns whether EPSV works); without, one at a time, and nothing
// more is sent once one is refused. The writes are the same as before
// the two paths were made one.
func TestTransferWrites(t *testing.T) {
	ctx := t.Context()
	tests := []struct {
		name   string
		refuse []string
		active bool
		run    func(t *testing.T, c *Conn, pipelined bool)
		want   map[bool][][]string // by pipelining
	}{{
		name: "RETR, then RETR with MDTM and REST",
		run: func(t *testing.T, c *Conn, _ bool) {
			x, err := c.Retr(ctx, "/f", 0)
			fetch(t, x, err)
			x, err = c.RetrModTime(ctx, "/f", 5)
			fetch(t, x, err)
			if mt, err := x.ModTime(); err != nil || !mt.Equal(time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)) {
				t.Errorf("ModTime = %v, %v", mt, err)
			}
		},
		want: map[bool][][]string{
			false: {{"EPSV"}, {"RETR /f"}, {"MDTM /f"}, {"EPSV"}, {"REST 5"}, {"RETR /f"}},
			true:  {{"EPSV"}, {"RETR /f"}, {"MDTM /f", "EPSV", "REST 5", "RETR /f"}},
		},
	}, {
		name:   "EPSV refused: PASV, and EPSV is not asked again",
		refuse: []string{"EPSV"},
		run: func(t *testing.T, c *Conn, _ bool) {
			x, err := c.Retr(ctx, "/f", 0)
			fetch(t, x, err)
			x, err = c.Retr(ctx, "/f", 0)
			fetch(t, x, err)
		},
		want: map[bool][][]string{
			false: {{"EPSV"}, {"PASV"}, {"RETR /f"}, {"PASV"}, {"RETR /f"}},
			true:  {{"EPSV"}, {"PASV"}, {"RETR /f"}, {"PASV", "RETR /f"}},
		},
	}, {
		name: "a refused CWD before a listing",
		run: func(t *testing.T, c *Conn, _ bool) {
			x, err := c.Retr(ctx, "/f", 0)
			fetch(t, x, err)
			_, err = c.List(ctx, "/nope")
			if fe := (*Error)(nil); !errors.As(err, &fe) || fe.Cmd != "CWD" || fe.Code != 550 {
				t.Errorf("List = %v, want CWD's 550", err)
			}
			if err := c.Noop(ctx); err != nil {
				t.Errorf("connection out of step: %v", err)
			}
		},
		want: map[bool][][]string{
			false: {{"EPSV"}, {"RETR /f"}, {"CWD /nope"}, {"NOOP"}},
			true:  {{"EPSV"}, {"RETR /f"}, {"CWD /nope", "EPSV", "MLSD"}, {"NOOP"}},
		},
	}, {
		name:   "a refused REST",
		refuse: []string{"REST"},
		run: func(t *testing.T, c *Conn, pipelined bool) {
			x, err := c.Retr(ctx, "/f", 0)
			fetch(t, x, err)
			_, err = c.Retr(ctx, "/f", 5)
			if fe := (*Error)(nil); !errors.As(err, &fe) || fe.Cmd != "REST" || fe.Code != 500 {
				t.Errorf("Retr = %v, want REST's 500", err)
			}
			// Pipelined, RETR went out too and started from 0: the
			// connection is dropped.
			if broken := c.Err() != nil; broken != pipelined {
				t.Errorf("connection broken: %v, want %v", c.Err(), pipelined)
			}
			// A dead Conn's errors are not replies, whatever broke it.
			if !pipelined {
				return
			}
			if err := c.Noop(ctx); !errors.Is(err, ErrConnBroken) || errors.As(err, new(*Error)) {
				t.Errorf("Noop on the broken Conn = %v, want ErrConnBroken and no *Error", err)
			}
		},
		want: map[bool][][]string{
			false: {{"EPSV"}, {"RETR /f"}, {"EPSV"}, {"REST 5"}},
			true:  {{"EPSV"}, {"RETR /f"}, {"EPSV", "REST 5", "RETR /f"}},
		},
	}, {
		name: "the next RETR is sent before the last one's final reply",
		run: func(t *testing.T, c *Conn, pipelined bool) {
			x, err := c.RetrModTime(ctx, "/f", 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadAll(x); err != nil {
				t.Fatal(err)
			}
			p, err := x.Next(ctx, "/g", 0, true)
			if !pipelined {
				if err == nil {
					t.Error("Next worked without pipelining")
				}
				fetch(t, x, nil)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fetch(t, x, nil)
			x, err = p.Start(ctx)
			fetch(t, x, err)
			if _, err := x.ModTime(); err != nil {
				t.Error(err)
			}
		},
		want: map[bool][][]string{
			false: {{"MDTM /f"}, {"EPSV"}, {"RETR /f"}},
			true:  {{"MDTM /f"}, {"EPSV"}, {"RETR /f"}, {"MDTM /g", "EPSV", "RETR /g"}},
		},
	}, {
		name: "a path with CR LF: nothing goes out",
		run: func(t *testing.T, c *Conn, _ bool) {
			x, err := c.Retr(ctx, "/f", 0)
			fetch(t, x, err)
			for _, p := range []string{"/f\r\nDELE /f", "/f\n", "/f\x00"} {
				if _, err := c.Retr(ctx, p, 5); err == nil || !strings.Contains(err.Error(), "refusing") {
					t.Errorf("Retr(%q) = %v", p, err)
				}
			}
			if err := c.Noop(ctx); err != nil {
				t.Errorf("connection out of step: %v", err)
			}
		},
		want: map[bool][][]string{
			false: {{"EPSV"}, {"RETR /f"}, {"NOOP"}},
			true:  {{"EPSV"}, {"RETR /f"}, {"NOOP"}},
		},
	}, {
		name:   "active mode",
		active: true,
		run: func(t *testing.T, c *Conn, _ bool) {
			x, err := c.Retr(ctx, "/f", 0)
			fetch(t, x, err)
			x, err = c.Retr(ctx, "/f", 3)
			fetch(t, x, err)
		},
		want: map[bool][][]string{
			false: {{"PORT"}, {"RETR /f"}, {"PORT"}, {"REST 3"}, {"RETR /f"}},
			true:  {{"PORT"}, {"RETR /f"}, {"PORT", "REST 3", "RETR /f"}},
		},
	}}
	for _, tc := range tests {
		for _, pipelined := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/pipelined=%v", tc.name, pipelined), func(t *testing.T) {
				f := transferServer(t, tc.refuse...)
				c := dialFake(t, f, &Config{Timeout: 10 * time.Second, Active: tc.active, DisablePipelining: !pipelined})
				if err := c.Login(ctx, "", ""); err != nil {
					t.Fatal(err)
				}
				login := len(f.gotWrites())
				tc.run(t, c, pipelined)
				got := f.gotWrites()[login:]
				for _, w := range got {
					for i, cmd := range w {
						if strings.HasPrefix(cmd, "PORT ") {
							w[i] = "PORT" // its port changes
						}
					}
				}
				if want := tc.want[pipelined]; !reflect.DeepEqual(got, want) {
					t.Errorf("writes\n%q\nwant\n%q", got, want)
				}
			})
		}
	}
}
