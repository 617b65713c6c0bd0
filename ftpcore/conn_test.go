package ftpcore

import (
	"context"
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

	"github.com/ftpmirror/ftpmirror/internal/ftpservers"
)

func dialFake(t *testing.T, f *fakeServer, cfg *Config) *Conn {
	t.Helper()
	c, err := Dial(t.Context(), f.addr(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestLoginWrites pins how Login groups its commands into writes: each
// write is a round trip, and the login is most of a short run's.
func TestLoginWrites(t *testing.T) {
	setup := []string{"TYPE I", "FEAT", "OPTS UTF8 ON", "PWD"}
	tests := []struct {
		name       string
		user, pass string
		cfg        Config
		handlers   map[string]func(s *fakeSession, arg string)
		want       [][]string
	}{{
		name: "anonymous: USER and PASS in one write, the set-up in another",
		want: [][]string{{"USER anonymous", "PASS ftpmirror@"}, setup},
	}, {
		name: "a password in the clear waits for USER's 331",
		user: "bob", pass: "secret",
		want: [][]string{{"USER bob"}, {"PASS secret"}, setup},
	}, {
		name: "USER answers 230: the pipelined PASS's 503 is ignored",
		handlers: map[string]func(s *fakeSession, arg string){
			"USER": func(s *fakeSession, _ string) { s.reply("230 no password needed\r\n") },
			"PASS": func(s *fakeSession, _ string) { s.reply("503 Already logged in\r\n") },
		},
		want: [][]string{{"USER anonymous", "PASS ftpmirror@"}, setup},
	}, {
		name: "no UTF-8",
		cfg:  Config{DisableUTF8: true},
		want: [][]string{{"USER anonymous", "PASS ftpmirror@"}, {"TYPE I", "FEAT", "PWD"}},
	}, {
		name: "no pipelining: one command a write, OPTS UTF8 only if FEAT lists it, no PWD",
		cfg:  Config{DisablePipelining: true},
		handlers: map[string]func(s *fakeSession, arg string){
			"FEAT": func(s *fakeSession, _ string) { s.reply("211-Features:\r\n UTF8\r\n211 End\r\n") },
		},
		want: [][]string{{"USER anonymous"}, {"PASS ftpmirror@"}, {"TYPE I"}, {"FEAT"}, {"OPTS UTF8 ON"}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := loginHandlers()
			h["PWD"] = func(s *fakeSession, _ string) { s.reply("257 \"/pub\" is the current directory\r\n") }
			for verb, f := range tc.handlers {
				h[verb] = f
			}
			f := newFakeServer(t, h)
			c := dialFake(t, f, &tc.cfg)
			if err := c.Login(t.Context(), tc.user, tc.pass); err != nil {
				t.Fatal(err)
			}
			if got := f.gotWrites(); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("writes %q, want %q", got, tc.want)
			}
			// Pwd answers from Login's PWD if there was one, and the
			// conversation is in step either way.
			if dir, err := c.Pwd(t.Context()); err != nil || dir != "/pub" {
				t.Fatalf("Pwd = %q, %v", dir, err)
			}
			if err := c.Type(t.Context(), "I"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Login's PWD reply answers only the Pwd right after it: after a CWD,
// Pwd asks the server.
func TestLoginPWDOnlyUntilNextCommand(t *testing.T) {
	h := loginHandlers()
	dir := "/pub"
	h["PWD"] = func(s *fakeSession, _ string) { s.reply("257 \"" + dir + "\"\r\n") }
	h["CWD"] = func(s *fakeSession, arg string) { dir = arg; s.reply("250 ok\r\n") }
	f := newFakeServer(t, h)
	c := dialFake(t, f, nil)
	if err := c.Login(t.Context(), "", ""); err != nil {
		t.Fatal(err)
	}
	if err := c.Cwd(t.Context(), "/other"); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Pwd(t.Context()); err != nil || got != "/other" {
		t.Fatalf("Pwd after CWD = %q, %v; want /other", got, err)
	}
}

func TestLoginFeatures(t *testing.T) {
	f := newFakeServer(t, loginHandlers())
	c := dialFake(t, f, nil)
	if err := c.Login(t.Context(), "", ""); err != nil {
		t.Fatal(err)
	}
	if !c.HasFeature("size") || !c.HasFeature("MDTM") || c.HasFeature("MLST") {
		t.Errorf("features %v", c.Features())
	}
}

func TestLoginWithoutPassword(t *testing.T) {
	h := loginHandlers()
	h["USER"] = func(s *fakeSession, _ string) { s.reply("230 no password needed\r\n") }
	f := newFakeServer(t, h)
	c := dialFake(t, f, nil)
	if err := c.Login(t.Context(), "bob", "secret"); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range f.got() {
		if strings.HasPrefix(cmd, "PASS") {
			t.Fatalf("sent PASS after 230: %q", f.got())
		}
	}
}

func TestLoginRefused(t *testing.T) {
	h := loginHandlers()
	h["PASS"] = func(s *fakeSession, _ string) { s.reply("530 Login incorrect.\r\n") }
	f := newFakeServer(t, h)
	c := dialFake(t, f, nil)
	err := c.Login(t.Context(), "bob", "wrong")
	var fe *Error
	if !errors.As(err, &fe) || fe.Code != 530 || fe.Cmd != "PASS" {
		t.Fatalf("err = %#v", err)
	}
	if IsTransient(err) {
		t.Error("a refused login must not be retried")
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error shows the password: %v", err)
	}
}

func TestMultiLineReplies(t *testing.T) {
	h := loginHandlers()
	h["FEAT"] = func(s *fakeSession, _ string) {
		s.reply("211-Extensions supported:\r\n MLST type*;size*;modify*;\r\n EPSV\r\n UTF8\r\n211 END\r\n")
	}
	h["OPTS"] = func(s *fakeSession, _ string) { s.reply("200 UTF8 set to on\r\n") }
	h["SYST"] = func(s *fakeSession, _ string) {
		// A continuation line that starts with digits but not "215 ".
		s.reply("215-UNIX\r\n123 not the end\r\n215 Type: L8\r\n")
	}
	f := newFakeServer(t, h)
	c := dialFake(t, f, nil)
	if err := c.Login(t.Context(), "", ""); err != nil {
		t.Fatal(err)
	}
	if !c.HasFeature("MLST") || !c.HasFeature("UTF8") {
		t.Errorf("features %v", c.Features())
	}
	if got := f.got()[4]; got != "OPTS UTF8 ON" {
		t.Errorf("after FEAT sent %q, want OPTS UTF8 ON", got)
	}
	msg, err := c.Syst(t.Context())
	if err != nil || !strings.Contains(msg, "Type: L8") {
		t.Fatalf("SYST = %q, %v", msg, err)
	}
	// The conversation is still in step.
	if _, err := c.Syst(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestEndlessReplies(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply func(s *fakeSession)
	}{
		{"endless line", func(s *fakeSession) {
			s.reply("211 ")
			chunk := strings.Repeat("x", 64<<10)
			for range 1000 {
				if _, err := s.conn.Write([]byte(chunk)); err != nil {
					return
				}
			}
		}},
		{"endless multi-line", func(s *fakeSession) {
			s.reply("211-start\r\n")
			for range 1_000_000 {
				if _, err := s.conn.Write([]byte(" more\r\n")); err != nil {
					return
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := loginHandlers()
			h["FEAT"] = func(s *fakeSession, _ string) { tc.reply(s) }
			f := newFakeServer(t, h)
			c := dialFake(t, f, &Config{MaxReplyBytes: 32 << 10, Timeout: 10 * time.Second})
			start := time.Now()
			err := c.Login(t.Context(), "", "")
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("err = %v, want ErrProtocol", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			if err := c.Noop(t.Context()); !errors.Is(err, ErrConnBroken) {
				t.Errorf("after a cut-off reply: %v, want ErrConnBroken", err)
			}
		})
	}
}

func TestRefusesControlBytesInArguments(t *testing.T) {
	f := newFakeServer(t, loginHandlers())
	c := dialFake(t, f, nil)
	if err := c.Login(t.Context(), "", ""); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"a\r\nDELE x", "a\nDELE x", "a\x00b"} {
		if _, err := c.Size(t.Context(), p); err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("Size(%q) = %v", p, err)
		}
	}
	if err := c.Login(t.Context(), "x\r\nDELE y", ""); err == nil {
		t.Error("USER with CR LF was sent")
	}
	for _, cmd := range f.got() {
		if strings.Contains(cmd, "DELE") {
			t.Fatalf("server saw %q", cmd)
		}
	}
	// Nothing was sent, so the connection is fine.
	if err := c.Type(t.Context(), "I"); err != nil {
		t.Fatal(err)
	}
}

// A password holding CR or LF is refused like any argument, and the
// refusal does not quote it: errors end up in logs and status files.
func TestRefusedPasswordNotInError(t *testing.T) {
	var trace strings.Builder
	f := newFakeServer(t, loginHandlers())
	c := dialFake(t, f, &Config{Trace: &trace})
	for _, pass := range []string{"s3cret\r\nDELE x", "s3cret\n", "s3cret\x00"} {
		err := c.Login(t.Context(), "bob", pass)
		if err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Fatalf("Login with %q = %v", pass, err)
		}
		if strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "PASS ****") {
			t.Errorf("the error quotes the password: %v", err)
		}
	}
	if strings.Contains(trace.String(), "s3cret") {
		t.Errorf("the trace shows the password:\n%s", trace.String())
	}
	for _, cmd := range f.got() {
		if strings.HasPrefix(cmd, "PASS") || strings.Contains(cmd, "DELE") {
			t.Errorf("server saw %q", cmd)
		}
	}
}

func TestExplicitTLSRefusedSendsNoCredentials(t *testing.T) {
	for _, tc := range []struct{ name, reply string }{
		{"refused", "500 AUTH not understood\r\n"},
		{"injected after 234", "234 go ahead\r\n230 injected\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := loginHandlers()
			h["AUTH"] = func(s *fakeSession, _ string) { s.reply(tc.reply) }
			f := newFakeServer(t, h)
			// Bounded, and the Conn closed, should a guard fail: the
			// test ends instead of waiting for the server forever.
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			c, err := Dial(ctx, f.addr(), &Config{TLS: TLSExplicit, Timeout: 2 * time.Second})
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded")
			}
			for _, cmd := range f.got() {
				if strings.HasPrefix(cmd, "USER") || strings.HasPrefix(cmd, "PASS") {
					t.Fatalf("sent %q over plain text", cmd)
				}
			}
		})
	}
}

func Test421ClosesConnection(t *testing.T) {
	h := loginHandlers()
	h["USER"] = func(s *fakeSession, _ string) { s.reply("421 Too many users, sorry\r\n") }
	f := newFakeServer(t, h)
	c := dialFake(t, f, nil)
	err := c.Login(t.Context(), "", "")
	if !IsConnDead(err) || !IsTransient(err) {
		t.Fatalf("err = %v: want transient, dead", err)
	}
	if err := c.Noop(t.Context()); !errors.Is(err, ErrConnBroken) {
		t.Fatalf("after 421: %v", err)
	}
}

func TestSilentServer(t *testing.T) {
	h := loginHandlers()
	h["NOOP"] = func(*fakeSession, string) {} // never answers
	f := newFakeServer(t, h)
	t.Run("context", func(t *testing.T) {
		c := dialFake(t, f, nil)
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := c.Noop(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v", d)
		}
		if c.Err() == nil {
			t.Error("connection not marked broken")
		}
	})
	t.Run("idle timeout", func(t *testing.T) {
		c := dialFake(t, f, &Config{Timeout: 300 * time.Millisecond})
		start := time.Now()
		err := c.Noop(t.Context())
		if err == nil || !IsTransient(err) {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		c := dialFake(t, f, nil)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(100*time.Millisecond, cancel)
		if err := c.Noop(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		if IsTransient(context.Canceled) {
			t.Error("cancellation must not be retried")
		}
	})
}

// dataListener serves one data connection on addr with payload.
func dataListener(t *testing.T, addr string, payload string, accepted *atomic.Int32) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		ftpservers.Unavailable(t, "cannot listen on %s: %v", addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Write([]byte(payload))
			c.Close()
		}
	}()
	return ln
}

// A PASV reply that names another host must not make the client connect
// there: it connects to the control connection's peer.
func TestPASVForeignAddressNotUsed(t *testing.T) {
	var honest, foreign atomic.Int32
	good := dataListener(t, "127.0.0.1:0", "the data", &honest)
	port := good.Addr().(*net.TCPAddr).Port
	// The "foreign" host is another loopback address with the same port.
	dataListener(t, fmt.Sprintf("127.0.0.2:%d", port), "EVIL", &foreign)

	h := loginHandlers()
	h["EPSV"] = func(s *fakeSession, _ string) { s.reply("500 EPSV not understood\r\n") }
	h["PASV"] = func(s *fakeSession, _ string) {
		s.reply(fmt.Sprintf("227 Entering Passive Mode (127,0,0,2,%d,%d).\r\n", port>>8, port&0xff))
	}
	h["RETR"] = func(s *fakeSession, _ string) {
		s.reply("150 here it comes\r\n")
		time.Sleep(50 * time.Millisecond)
		s.reply("226 done\r\n")
	}
	f := newFakeServer(t, h)
	c := dialFake(t, f, nil)
	if err := c.Login(t.Context(), "", ""); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second time, EPSV is not tried again
		x, err := c.Retr(t.Context(), "/f", 0)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(x)
		if err := x.Close(); err != nil {
			t.Fatal(err)
		}
		if string(b) != "the data" {
			t.Fatalf("read %q", b)
		}
	}
	if foreign.Load() != 0 {
		t.Fatal("the client connected to the address in the PASV reply")
	}
	if n := strings.Count(strings.Join(f.got(), "\n"), "EPSV"); n != 1 {
		t.Errorf("EPSV sent %d times, want once", n)
	}
}

// In active mode a connection from a third party is refused; the
// server's own connection is taken.
func TestActiveRefusesThirdParty(t *testing.T) {
	h := loginHandlers()
	var target atomic.Value
	var intruded atomic.Bool
	h["PORT"] = portHandler(&target)
	h["RETR"] = func(s *fakeSession, _ string) {
		s.reply("150 opening\r\n")
		addr := target.Load().(string)
		// The intruder, from 127.0.0.2, comes first.
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
		if evil, err := d.Dial("tcp", addr); err == nil {
			intruded.Store(true)
			evil.Write([]byte("EVIL"))
			evil.Close()
		}
		time.Sleep(50 * time.Millisecond)
		good, err := net.Dial("tcp", addr)
		if err != nil {
			s.reply("425 cannot connect\r\n")
			return
		}
		good.Write([]byte("the data"))
		good.Close()
		s.reply("226 done\r\n")
	}
	f := newFakeServer(t, h)
	c := dialFake(t, f, &Config{Active: true})
	if err := c.Login(t.Context(), "", ""); err != nil {
		t.Fatal(err)
	}
	x, err := c.Retr(t.Context(), "/f", 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(x)
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if string(b) != "the data" {
		t.Fatalf("read %q", b)
	}
	if !intruded.Load() {
		ftpservers.Unavailable(t, "the intruder could not connect from 127.0.0.2: nothing was refused")
	}
}

// A transfer the server ends with 426 is never a success, even when the
// data connection closed normally.
func TestRetr426IsShortTransfer(t *testing.T) {
	var n atomic.Int32
	data := dataListener(t, "127.0.0.1:0", "partial da", &n)
	port := data.Addr().(*net.TCPAddr).Port
	h := loginHandlers()
	h["EPSV"] = func(s *fakeSession, _ string) {
		s.reply("229 Entering Extended Passive Mode (|||" + strconv.Itoa(port) + "|)\r\n")
	}
	h["RETR"] = func(s *fakeSession, _ string) {
		s.reply("150 here\r\n")
		time.Sleep(50 * time.Millisecond)
		s.reply("426 Connection closed; transfer aborted.\r\n")
	}
	f := newFakeServer(t, h)
	c := dialFake(t, f, nil)
	if err := c.Login(t.Context(), "", ""); err != nil {
		t.Fatal(err)
	}
	x, err := c.Retr(t.Context(), "/f", 0)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(x)
	err = x.Close()
	if !errors.Is(err, ErrShortTransfer) || !IsTransient(err) {
		t.Fatalf("Close = %v, want a transient ErrShortTransfer", err)
	}
	// The connection is still usable.
	if err := c.Type(t.Context(), "I"); err != nil {
		t.Fatal(err)
	}
}

// Close sends QUIT and does not wait for the 221 (the trace shows what
// was read).
func TestCloseDoesNotWaitForQuitReply(t *testing.T) {
	var trace strings.Builder
	f := newFakeServer(t, loginHandlers())
	c, err := Dial(t.Context(), f.addr(), &Config{Trace: &trace})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(t.Context(), "", ""); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if strings.Contains(trace.String(), "221") {
		t.Errorf("Close read the reply to QUIT:\n%s", trace.String())
	}
	f.ln.Close()
	f.wg.Wait() // the session ends when it has read QUIT
	if got := f.got(); got[len(got)-1] != "QUIT" {
		t.Errorf("commands %q: want QUIT last", got)
	}
}
