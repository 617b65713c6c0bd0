package ftpcore

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// fakeServer is a scripted FTP server for what real servers will not do
// on demand: foreign PASV addresses, endless replies, 421 at login,
// replies injected after AUTH TLS. It answers each command with the
// handler for its verb, or "502 not implemented", and records the
// commands it got.
type fakeServer struct {
	t        *testing.T
	ln       net.Listener
	greeting string
	handlers map[string]func(s *fakeSession, arg string)

	mu       sync.Mutex
	commands []string
	writes   [][]string        // commands grouped by the client's writes (see serve)
	conns    map[net.Conn]bool // open sessions, closed by the cleanup
	wg       sync.WaitGroup
}

type fakeSession struct {
	srv  *fakeServer
	conn net.Conn
	r    *bufio.Reader
}

// reply writes raw text; lines must end with \r\n.
func (s *fakeSession) reply(text string) {
	s.conn.Write([]byte(text))
}

func newFakeServer(t *testing.T, handlers map[string]func(s *fakeSession, arg string)) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{t: t, ln: ln, greeting: "220 fake ready\r\n", handlers: handlers, conns: map[net.Conn]bool{}}
	f.wg.Add(1)
	go f.serve()
	t.Cleanup(func() {
		ln.Close()
		// A session waiting for a client that never closed its side
		// (a Conn a failing test left open) must not hang the test.
		f.mu.Lock()
		for c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
		f.wg.Wait()
	})
	return f
}

func (f *fakeServer) addr() string { return f.ln.Addr().String() }

func (f *fakeServer) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns[c] = true
		f.mu.Unlock()
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer func() {
				f.mu.Lock()
				delete(f.conns, c)
				f.mu.Unlock()
				c.Close()
			}()
			s := &fakeSession{srv: f, conn: c, r: bufio.NewReader(c)}
			s.reply(f.greeting)
			// The client waits for a reply before each command it does
			// not pipeline, so a command that finds nothing buffered
			// behind the one before starts a new write; pipelined
			// commands go in one small write, which loopback delivers
			// whole.
			more := false
			for {
				line, err := s.r.ReadString('\n')
				if err != nil {
					return
				}
				line = strings.TrimRight(line, "\r\n")
				f.mu.Lock()
				f.commands = append(f.commands, line)
				if n := len(f.writes); more && n > 0 {
					f.writes[n-1] = append(f.writes[n-1], line)
				} else {
					f.writes = append(f.writes, []string{line})
				}
				f.mu.Unlock()
				more = s.r.Buffered() > 0
				verb, arg, _ := strings.Cut(line, " ")
				verb = strings.ToUpper(verb)
				if h, ok := f.handlers[verb]; ok {
					h(s, arg)
				} else if verb == "QUIT" {
					s.reply("221 bye\r\n")
					return
				} else {
					s.reply("502 not implemented\r\n")
				}
			}
		}()
	}
}

// got returns the commands received so far.
func (f *fakeServer) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.commands...)
}

// gotWrites returns the commands received so far, grouped by the
// client's writes.
func (f *fakeServer) gotWrites() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := make([][]string, len(f.writes))
	for i, g := range f.writes {
		w[i] = append([]string(nil), g...)
	}
	return w
}

// portHandler answers PORT with 200 and stores the address it names in
// target, for the handler that connects to it.
func portHandler(target *atomic.Value) func(s *fakeSession, arg string) {
	return func(s *fakeSession, arg string) {
		var a [6]int
		fmt.Sscanf(arg, "%d,%d,%d,%d,%d,%d", &a[0], &a[1], &a[2], &a[3], &a[4], &a[5])
		target.Store(fmt.Sprintf("%d.%d.%d.%d:%d", a[0], a[1], a[2], a[3], a[4]<<8|a[5]))
		s.reply("200 PORT ok\r\n")
	}
}

// loginHandlers answers USER/PASS/FEAT/TYPE like a minimal server, and
// CWD (List changes into the directory it lists) with 250.
func loginHandlers() map[string]func(s *fakeSession, arg string) {
	return map[string]func(s *fakeSession, arg string){
		"USER": func(s *fakeSession, _ string) { s.reply("331 password please\r\n") },
		"PASS": func(s *fakeSession, _ string) { s.reply("230 logged in\r\n") },
		"FEAT": func(s *fakeSession, _ string) { s.reply("211-Features:\r\n SIZE\r\n MDTM\r\n211 End\r\n") },
		"TYPE": func(s *fakeSession, _ string) { s.reply("200 ok\r\n") },
		"CWD":  func(s *fakeSession, _ string) { s.reply("250 ok\r\n") },
	}
}
