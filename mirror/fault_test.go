package mirror_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/treetest"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// The tests in this file put a TCP proxy between mirror and vsftpd that
// drops, stalls or truncates control or data connections at chosen byte
// counts (issue 7, "faults"), and check that the mirror ends exact:
// byte-identical, no half file under a final name, partials resumed
// with REST.

// fault says what happens to one proxied connection: after After bytes
// from the server, Cut closes both sides, Stall stops forwarding (and
// keeps the sockets open until the test ends).
type fault struct {
	After int64
	Stall bool
}

// faultProxy forwards control connections to a server, and rewrites the
// 227 and 229 replies so that passive data connections go through it
// too. plan decides, for the nth control or data connection (from 1),
// whether it gets a fault.
type faultProxy struct {
	t      *testing.T
	ln     net.Listener
	server string
	plan   func(data bool, n int) *fault

	mu             sync.Mutex
	nctrl, ndata   int
	conns          []net.Conn
	wg             sync.WaitGroup
	faultsInjected atomic.Int32
}

func newFaultProxy(t *testing.T, server string, plan func(data bool, n int) *fault) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{t: t, ln: ln, server: server, plan: plan}
	p.wg.Add(1)
	go p.accept(ln, func(c net.Conn) { p.control(c) })
	t.Cleanup(p.close)
	return p
}

func (p *faultProxy) addr() string { return p.ln.Addr().String() }

func (p *faultProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *faultProxy) track(cs ...net.Conn) {
	p.mu.Lock()
	p.conns = append(p.conns, cs...)
	p.mu.Unlock()
}

func (p *faultProxy) accept(ln net.Listener, handle func(net.Conn)) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.track(c)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			handle(c)
		}()
	}
}

var pasvRE = regexp.MustCompile(`^227 .*\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)`)
var epsvRE = regexp.MustCompile(`^229 .*\(\|\|\|(\d+)\|\)`)

// control proxies one control connection, rewriting passive replies.
func (p *faultProxy) control(client net.Conn) {
	p.mu.Lock()
	p.nctrl++
	f := p.plan(false, p.nctrl)
	p.mu.Unlock()
	server, err := net.Dial("tcp", p.server)
	if err != nil {
		client.Close()
		return
	}
	p.track(server)
	defer client.Close()
	defer server.Close()
	go io.Copy(server, client)
	br := bufio.NewReader(server)
	var sent int64
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		if m := pasvRE.FindStringSubmatch(line); m != nil {
			hi, _ := strconv.Atoi(m[5])
			lo, _ := strconv.Atoi(m[6])
			port := p.dataListener(hi<<8 | lo)
			line = fmt.Sprintf("227 Entering Passive Mode (127,0,0,1,%d,%d).\r\n", port>>8, port&0xff)
		} else if m := epsvRE.FindStringSubmatch(line); m != nil {
			real, _ := strconv.Atoi(m[1])
			line = fmt.Sprintf("229 Entering Extended Passive Mode (|||%d|)\r\n", p.dataListener(real))
		}
		if !p.forward(client, []byte(line), f, &sent) {
			return
		}
	}
}

// dataListener listens for one data connection and proxies it to the
// server's port; it returns the port to announce.
func (p *faultProxy) dataListener(serverPort int) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		p.t.Error(err)
		return 0
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer ln.Close()
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
		client, err := ln.Accept()
		if err != nil {
			return
		}
		p.track(client)
		defer client.Close()
		server, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(serverPort)))
		if err != nil {
			return
		}
		p.track(server)
		defer server.Close()
		p.mu.Lock()
		p.ndata++
		f := p.plan(true, p.ndata)
		p.mu.Unlock()
		go io.Copy(server, client)
		buf := make([]byte, 32<<10)
		var sent int64
		for {
			n, err := server.Read(buf)
			if n > 0 && !p.forward(client, buf[:n], f, &sent) {
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// forward writes b to the client unless the fault strikes within it;
// false means the connection is finished.
func (p *faultProxy) forward(client net.Conn, b []byte, f *fault, sent *int64) bool {
	if f != nil && *sent+int64(len(b)) > f.After {
		client.Write(b[:f.After-*sent])
		*sent = f.After
		p.faultsInjected.Add(1)
		if f.Stall {
			// Hold the sockets open, forward nothing: until the test's
			// cleanup closes them.
			buf := make([]byte, 1024)
			for {
				if _, err := client.Read(buf); err != nil {
					return false
				}
			}
		}
		return false
	}
	if _, err := client.Write(b); err != nil {
		return false
	}
	*sent += int64(len(b))
	return true
}

// bigTree makes two files large enough to be recorded as partial
// downloads, and some small ones.
func bigTree(t *testing.T, src string) {
	t.Helper()
	treetest.Make(t, src, 30, 4096, 11)
	for i, size := range []int{3 << 20, 2<<20 + 12345} {
		b := make([]byte, size)
		for j := range b {
			b[j] = byte(j*31 + i)
		}
		p := filepath.Join(src, fmt.Sprintf("big%d.bin", i))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// noTemps fails t if a temporary file is left in dir.
func noTemps(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".ftpmirror") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

func TestFaultProxy(t *testing.T) {
	cases := []struct {
		name string
		plan func(data bool, n int) *fault
		// wantREST: the mirror must resume some file with REST.
		wantREST bool
	}{
		{"data cut", func(data bool, n int) *fault {
			if data && n <= 3 { // the first fetches (vsftpd lists with STAT: no data connection)
				return &fault{After: 700 << 10}
			}
			return nil
		}, true},
		{"data stall", func(data bool, n int) *fault {
			if data && n == 1 {
				return &fault{After: 500 << 10, Stall: true}
			}
			return nil
		}, true},
		{"data truncated at 0", func(data bool, n int) *fault {
			if data && n%3 == 0 {
				return &fault{After: 0}
			}
			return nil
		}, false},
		{"control cut", func(data bool, n int) *fault {
			if !data && n == 1 {
				return &fault{After: 2000}
			}
			return nil
		}, false},
		{"control stall", func(data bool, n int) *fault {
			// The first connection, whose root listing (over 2 KB) is
			// sure to pass the mark; the second may get little work on
			// a loaded machine.
			if !data && n == 1 {
				return &fault{After: 600, Stall: true}
			}
			return nil
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, srv := newReal(t, "vsftpd", false)
			bigTree(t, e.src)
			p := newFaultProxy(t, srv.Addr, tc.plan)
			o := e.opts()
			o.Addr = p.addr()
			o.Parallel = 2
			o.FTP.Timeout = time.Second
			sum := e.run(o)
			if p.faultsInjected.Load() == 0 {
				t.Fatal("no fault was injected")
			}
			treetest.Equal(t, e.src, e.target, true)
			noTemps(t, e.target)
			if tc.wantREST {
				n, args := count(srv, "REST")
				if n == 0 {
					t.Errorf("no REST; summary %+v", sum)
				}
				for _, a := range args {
					if a == "0" {
						t.Errorf("REST 0 sent")
					}
				}
			}
		})
	}
}

// A download cut short in one run, with no retries left, keeps its
// partial file; the next run resumes it with REST and the result is
// byte-identical.
func TestFaultResumeNextRun(t *testing.T) {
	e, srv := newReal(t, "vsftpd", false)
	bigTree(t, e.src)
	var cut atomic.Bool
	cut.Store(true)
	p := newFaultProxy(t, srv.Addr, func(data bool, n int) *fault {
		if data && cut.Load() {
			return &fault{After: 1500 << 10}
		}
		return nil
	})
	o := e.opts()
	o.Addr = p.addr()
	o.Retries = 0
	o.FTP.Timeout = time.Second
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	sum, err := mirror.Run(ctx, o)
	if err != nil || sum.Failed != 2 {
		t.Fatalf("cut run: %v %+v", err, sum)
	}
	for _, big := range []string{"big0.bin", "big1.bin"} {
		if _, err := os.Stat(filepath.Join(e.target, big)); err == nil {
			t.Errorf("%s: a half file under its final name", big)
		}
	}
	parts, err := e.db.Job("test").Partials()
	if err != nil || len(parts) != 2 {
		t.Fatalf("partials: %v %v", parts, err)
	}
	cut.Store(false)
	sum = e.run(o)
	if sum.Resumed != 2 {
		t.Errorf("resumed %d, want 2: %+v", sum.Resumed, sum)
	}
	treetest.Equal(t, e.src, e.target, true)
	noTemps(t, e.target)
	if _, args := count(srv, "REST"); len(args) != 2 || args[0] == "0" {
		t.Errorf("REST commands: %v", args)
	}
	if parts, _ := e.db.Job("test").Partials(); len(parts) != 0 {
		t.Errorf("partials left: %v", parts)
	}
}
