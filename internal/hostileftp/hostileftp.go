// Package hostileftp is an FTP server for tests that misbehaves on
// demand. It serves a virtual tree defined in Go (names as raw bytes,
// sizes, times and contents) on 127.0.0.1, speaks enough of RFC 959,
// 2428 and 3659 to be mirrored normally (USER, PASS, FEAT, OPTS, SYST,
// PWD, CWD, CDUP, TYPE, EPSV, PASV, PORT, EPRT, LIST, MLSD, NLST, SIZE,
// MDTM, REST, RETR, ABOR, NOOP, QUIT, AUTH), and lets each test case
// replace any part of that: a listing's raw text, the bytes a RETR sends
// and how fast, the reply to any command (Options.Hook).
//
// It exists for what real servers will not do on demand: hostile names,
// lies about sizes and addresses, endless or silent replies, trickles.
// Normal behaviour is tested against goftp.io/server/v2 (internal/embedftp)
// and vsftpd, pure-ftpd and proftpd (internal/ftpservers).
//
// The server only listens on and connects to loopback addresses.
package hostileftp

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Style is how the server lists directories.
type Style uint8

const (
	StyleMLSD Style = iota // FEAT offers MLST; LIST is Unix style too
	StyleUnix              // no MLSD: LIST in "ls -l" style
	StyleDOS               // no MLSD: LIST in IIS's DOS style
)

// Options says how a Server behaves. The zero value is a well-behaved
// anonymous server with MLSD.
type Options struct {
	// Style selects MLSD or a LIST dialect.
	Style Style
	// Hook, if set, sees every command first; it returns true when it
	// handled the command (replied, or chose not to).
	Hook func(s *Session, verb, arg string) bool
	// Listing, if set, may replace the listing text of a directory: it
	// gets the verb (MLSD, LIST, NLST), the directory and the text the
	// server would send, and returns the text to send.
	Listing func(verb, dir, text string) string
	// Content, if set, returns what RETR sends for a file instead of
	// its data from the REST offset.
	Content func(p string, offset int64, data []byte) io.Reader
	// ListZone, if set, is the server's time zone: LIST shows times in
	// it, as ls does, while MDTM and MLSD stay in UTC. Nil: UTC.
	ListZone *time.Location
	// Rate, if positive, sends data at this many bytes per second, in
	// one-byte writes below 100 bytes per second.
	Rate int
	// HoldData keeps a data connection open after its data was sent,
	// without a final reply, until the client closes it.
	HoldData bool
	// Telnet decodes "IAC IAC" in commands to one 0xFF byte, as RFC 959
	// and proftpd do; without it a command's bytes are taken as they come,
	// as vsftpd does.
	Telnet bool
	// Greeting replaces "220 hostileftp ready".
	Greeting string
	// Connect, if set, is called when a client connects, before the
	// greeting. Returning false ends the session there, without the
	// greeting: Connect may have replied itself, as vsftpd does with
	// "421 There are too many connected users" over its connection limit.
	Connect func(s *Session) bool
	// Disconnect, if set, is called once a session has ended and its
	// control connection is closed, whether or not Connect let it start.
	Disconnect func(s *Session)
	// Hash offers HASH with SHA-256 (draft-bryan-ftpext-hash) in FEAT
	// and answers it the way proftpd's mod_digest does: a "213-" line,
	// then "213 SHA-256 0-SIZE HEX PATH".
	Hash bool
	// HashSum, if set, returns the digest HASH gives for the file p
	// instead of the SHA-256 of data: a server that lies, or whose
	// file changes between HASH and RETR.
	HashSum func(p string, data []byte) []byte
}

// Server is a running server. Its methods are safe for concurrent use.
type Server struct {
	opts Options
	ln   net.Listener

	mu       sync.Mutex
	root     *Node
	commands []string
	conns    map[net.Conn]bool
	closed   bool
	wg       sync.WaitGroup

	finalWait time.Duration // LateFinal
	early     atomic.Int64  // listings whose next command came before their final reply
}

// LateFinal makes the final reply of each listing wait, at most d, for
// the client's next command, as proftpd's 226 comes a round trip after
// the data has ended; zero turns it off. It returns how many listings
// so far had the next command before their final reply: a client that
// chains its listings sent it at the end of the data.
func (s *Server) LateFinal(d time.Duration) int64 {
	s.mu.Lock()
	s.finalWait = d
	s.mu.Unlock()
	return s.early.Load()
}

// Start serves root on 127.0.0.1 at a free port. Close stops it.
func Start(root *Node, opts *Options) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, root: root, conns: map[net.Conn]bool{}}
	if opts != nil {
		s.opts = *opts
	}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Addr returns "127.0.0.1:PORT".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// SetTree replaces the served tree, for changes between runs.
func (s *Server) SetTree(root *Node) {
	s.mu.Lock()
	s.root = root
	s.mu.Unlock()
}

// Commands returns the commands received so far, oldest first, with
// PASS's argument hidden.
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.commands...)
}

// Count returns how many commands with this verb were received.
func (s *Server) Count(verb string) int {
	n := 0
	for _, c := range s.Commands() {
		if v, _, _ := strings.Cut(c, " "); strings.EqualFold(v, verb) {
			n++
		}
	}
	return n
}

// Close stops the server, closes every connection and waits for the
// sessions to end.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

// track registers c to be closed by Close; it returns false (and closes
// c) when the server is closing.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return false
	}
	s.conns[c] = true
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

func (s *Server) serve() {
	defer s.wg.Done()
	id := 0
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		if !s.track(c) {
			continue
		}
		id++
		sess := &Session{srv: s, conn: c, r: bufio.NewReader(c), cwd: "/", ID: id}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if f := s.opts.Disconnect; f != nil {
				defer f(sess)
			}
			defer s.untrack(c)
			defer sess.closeData()
			if f := s.opts.Connect; f != nil && !f(sess) {
				return
			}
			sess.run()
		}()
	}
}
