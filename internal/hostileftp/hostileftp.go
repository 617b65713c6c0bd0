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
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// defaultTime is listed for nodes without a time.
var defaultTime = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

func (n *Node) mtime() time.Time {
	if n.Time.IsZero() {
		return defaultTime
	}
	return n.Time.UTC()
}

// Node is a file, directory or symbolic link of the served tree.
type Node struct {
	// Name is the name exactly as listed, any bytes.
	Name string
	// Dir makes the node a directory of Children.
	Dir      bool
	Children []*Node
	// Link makes the node a symbolic link to this target.
	Link string
	// Data is a file's content.
	Data []byte
	// Time is the modification time; the zero time is listed as
	// 2020-01-02 03:04:05 UTC.
	Time time.Time
	// ListSize, if set, is the size the listing shows, as text, instead
	// of len(Data): a lie, a negative or an overflowing number.
	ListSize string
	// SizeReply, if set, is the text of SIZE's 213 reply instead of the
	// listed size.
	SizeReply string
	// Facts, if set, replaces the MLSD facts of this node (without the
	// "; " that ends them).
	Facts string
}

// File returns a file node.
func File(name string, data []byte, mtime time.Time) *Node {
	return &Node{Name: name, Data: data, Time: mtime}
}

// Dir returns a directory node.
func Dir(name string, children ...*Node) *Node {
	return &Node{Name: name, Dir: true, Children: children}
}

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

// Session is one control connection.
type Session struct {
	// ID counts sessions from 1 in the order they connected.
	ID int

	srv  *Server
	conn net.Conn
	r    *bufio.Reader
	cwd  string
	rest int64

	pasv   net.Listener // after PASV/EPSV
	active string       // after PORT/EPRT
	user   string
}

// Reply writes text followed by CR LF.
func (s *Session) Reply(format string, args ...any) {
	s.conn.Write([]byte(fmt.Sprintf(format, args...) + "\r\n"))
}

// Raw writes bytes as they are.
func (s *Session) Raw(b []byte) { s.conn.Write(b) }

// Conn returns the control connection.
func (s *Session) Conn() net.Conn { return s.conn }

// Dir returns the session's current directory (CWD).
func (s *Session) Dir() string { return s.cwd }

// Pipelined reports whether more of the client's commands are waiting
// behind the one being handled: the client sent them in one write.
func (s *Session) Pipelined() bool { return s.r.Buffered() > 0 }

// Wait blocks until the client closes the control connection or the
// server stops: a server that never answers.
func (s *Session) Wait() {
	io.Copy(io.Discard, s.conn)
}

// Sleep waits d, or less if the server stops.
func (s *Session) Sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return
		case <-time.After(20 * time.Millisecond):
			s.srv.mu.Lock()
			closed := s.srv.closed
			s.srv.mu.Unlock()
			if closed {
				return
			}
		}
	}
}

func (s *Session) run() {
	greeting := s.srv.opts.Greeting
	if greeting == "" {
		greeting = "220 hostileftp ready"
	}
	s.Reply("%s", greeting)
	for {
		line, err := s.readCommand()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		rec := line
		if verb == "PASS" {
			rec = "PASS <hidden>"
		}
		s.srv.mu.Lock()
		s.srv.commands = append(s.srv.commands, rec)
		s.srv.mu.Unlock()
		if h := s.srv.opts.Hook; h != nil && h(s, verb, arg) {
			if verb == "QUIT" {
				return
			}
			continue
		}
		if !s.handle(verb, arg) {
			return
		}
	}
}

// readCommand reads one command line of at most 64 KiB, without CR LF.
func (s *Session) readCommand() (string, error) {
	var b []byte
	for {
		frag, err := s.r.ReadSlice('\n')
		b = append(b, frag...)
		if len(b) > 64<<10 {
			return "", errors.New("command too long")
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return "", err
		}
		break
	}
	b = bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
	if s.srv.opts.Telnet {
		b = bytes.ReplaceAll(b, []byte{0xff, 0xff}, []byte{0xff})
	}
	return string(b), nil
}

// handle runs one command the normal way; false ends the session.
func (s *Session) handle(verb, arg string) bool {
	switch verb {
	case "USER":
		s.user = arg
		s.Reply("331 password please")
	case "PASS":
		s.Reply("230 logged in")
	case "AUTH":
		s.Reply("502 no TLS here")
	case "FEAT":
		s.Reply("211-Features:")
		s.Reply(" SIZE")
		s.Reply(" MDTM")
		s.Reply(" REST STREAM")
		s.Reply(" EPSV")
		if s.srv.opts.Style == StyleMLSD {
			s.Reply(" MLST type*;size*;modify*;")
		}
		s.Reply("211 End")
	case "OPTS":
		s.Reply("200 ok")
	case "SYST":
		s.Reply("215 UNIX Type: L8")
	case "TYPE", "MODE", "STRU":
		s.Reply("200 ok")
	case "NOOP":
		s.Reply("200 ok")
	case "PWD", "XPWD":
		s.Reply(`257 "%s" is the current directory`, strings.ReplaceAll(s.cwd, `"`, `""`))
	case "CWD":
		p := s.abs(arg)
		if n := s.lookup(p); n == nil || !n.Dir {
			s.Reply("550 %s: no such directory", arg)
			break
		}
		s.cwd = p
		s.Reply("250 ok")
	case "CDUP":
		s.cwd = path.Dir(s.cwd)
		s.Reply("250 ok")
	case "PASV":
		port, err := s.ListenPassive()
		if err != nil {
			s.Reply("425 %v", err)
			break
		}
		s.Reply("227 Entering Passive Mode (127,0,0,1,%d,%d)", port>>8, port&0xff)
	case "EPSV":
		port, err := s.ListenPassive()
		if err != nil {
			s.Reply("425 %v", err)
			break
		}
		s.Reply("229 Entering Extended Passive Mode (|||%d|)", port)
	case "PORT":
		var h [6]int
		if _, err := fmt.Sscanf(arg, "%d,%d,%d,%d,%d,%d", &h[0], &h[1], &h[2], &h[3], &h[4], &h[5]); err != nil {
			s.Reply("501 bad PORT")
			break
		}
		s.setActive(fmt.Sprintf("%d.%d.%d.%d:%d", h[0], h[1], h[2], h[3], h[4]<<8|h[5]))
		s.Reply("200 ok")
	case "EPRT":
		f := strings.Split(arg, arg[:min(1, len(arg))])
		if len(f) != 5 {
			s.Reply("501 bad EPRT")
			break
		}
		s.setActive(net.JoinHostPort(f[2], f[3]))
		s.Reply("200 ok")
	case "REST":
		n, err := strconv.ParseInt(arg, 10, 64)
		if err != nil || n < 0 {
			s.Reply("501 bad offset")
			break
		}
		s.rest = n
		s.Reply("350 restarting at %d", n)
	case "SIZE":
		n := s.lookup(s.abs(arg))
		if n == nil || n.Dir || n.Link != "" {
			s.Reply("550 %s: not a plain file", arg)
			break
		}
		s.Reply("213 %s", n.sizeReply())
	case "MDTM":
		n := s.lookup(s.abs(arg))
		if n == nil || n.Dir {
			s.Reply("550 %s: not a plain file", arg)
			break
		}
		s.Reply("213 %s", n.mtime().Format("20060102150405"))
	case "MLSD", "LIST", "NLST":
		s.list(verb, arg)
	case "RETR":
		s.retr(arg)
	case "ABOR":
		s.Reply("226 nothing to abort")
	case "QUIT":
		s.Reply("221 bye")
		return false
	default:
		s.Reply("502 %s not implemented", verb)
	}
	return true
}

// abs resolves a path argument against the current directory.
func (s *Session) abs(p string) string {
	if p == "" {
		return s.cwd
	}
	if !strings.HasPrefix(p, "/") {
		p = s.cwd + "/" + p
	}
	return path.Clean(p)
}

// lookup finds the node at an absolute path, nil if none.
func (s *Session) lookup(p string) *Node {
	s.srv.mu.Lock()
	n := s.srv.root
	s.srv.mu.Unlock()
	if p == "/" {
		return n
	}
	for _, part := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		if n == nil || !n.Dir {
			return nil
		}
		var next *Node
		for _, c := range n.Children {
			if c.Name == part {
				next = c
				break
			}
		}
		n = next
	}
	return n
}

// ListenPassive opens a listener for the next data connection on
// 127.0.0.1 and returns its port.
func (s *Session) ListenPassive() (int, error) {
	s.closeData()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	s.pasv = ln
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (s *Session) setActive(addr string) {
	s.closeData()
	s.active = addr
}

// ActiveAddr returns the address the client gave with PORT or EPRT.
func (s *Session) ActiveAddr() string { return s.active }

func (s *Session) closeData() {
	if s.pasv != nil {
		s.pasv.Close()
		s.pasv = nil
	}
	s.active = ""
}

// OpenData makes the data connection announced by PASV/EPSV (accept)
// or PORT/EPRT (connect from 127.0.0.1), within 5 seconds.
func (s *Session) OpenData() (net.Conn, error) {
	defer s.closeData()
	var c net.Conn
	switch {
	case s.pasv != nil:
		s.pasv.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
		var err error
		if c, err = s.pasv.Accept(); err != nil {
			return nil, err
		}
	case s.active != "":
		var err error
		if c, err = DialFrom("127.0.0.1", s.active); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("use PORT or PASV first")
	}
	if !s.srv.track(c) {
		return nil, net.ErrClosed
	}
	return c, nil
}

// DialFrom connects to addr (which must be a loopback address) from the
// loopback address from, within 5 seconds.
func DialFrom(from, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("hostileftp: refusing to connect to non-loopback %s", addr)
	}
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	return d.Dial("tcp", addr)
}

// CloseData closes a data connection opened by OpenData.
func (s *Session) CloseData(c net.Conn) { s.srv.untrack(c) }

// Send writes r to the data connection c at Options.Rate, then closes it
// (or, with Options.HoldData, waits for the client to close it). It
// returns the bytes written and whether all of r was written.
func (s *Session) Send(c net.Conn, r io.Reader) (int64, bool) {
	rate := s.srv.opts.Rate
	var n int64
	buf := make([]byte, 32<<10)
	if rate > 0 {
		buf = buf[:max(1, min(len(buf), rate/10))]
	}
	ok := true
	for {
		m, rerr := r.Read(buf)
		if m > 0 {
			if rate > 0 && rate < 100 {
				for i := range m {
					if _, err := c.Write(buf[i : i+1]); err != nil {
						return n, false
					}
					n++
					s.Sleep(time.Second / time.Duration(rate))
				}
			} else {
				w, err := c.Write(buf[:m])
				n += int64(w)
				if err != nil {
					return n, false
				}
				if rate > 0 {
					s.Sleep(time.Duration(m) * time.Second / time.Duration(rate))
				}
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			ok = false
			break
		}
	}
	if s.srv.opts.HoldData {
		// Wait for the client to give up (EOF or reset on our side).
		io.Copy(io.Discard, c)
		return n, false
	}
	return n, ok
}

// list sends a listing of arg (or the current directory).
func (s *Session) list(verb, arg string) {
	// Options such as "-a" are not paths.
	if strings.HasPrefix(arg, "-") {
		_, arg, _ = strings.Cut(arg, " ")
	}
	dir := s.abs(arg)
	n := s.lookup(dir)
	if n == nil || !n.Dir {
		if s.srv.opts.Listing == nil {
			s.closeData()
			s.Reply("550 %s: no such directory", arg)
			return
		}
		n = &Node{Dir: true}
	}
	text := s.listText(verb, n)
	if f := s.srv.opts.Listing; f != nil {
		text = f(verb, dir, text)
	}
	s.Reply("150 here it comes")
	c, err := s.OpenData()
	if err != nil {
		s.Reply("425 no data connection: %v", err)
		return
	}
	_, ok := s.Send(c, strings.NewReader(text))
	s.CloseData(c)
	if ok {
		s.Reply("226 done")
	} else {
		s.Reply("426 transfer aborted")
	}
}

func (s *Session) listText(verb string, dir *Node) string {
	var b strings.Builder
	for _, n := range dir.Children {
		switch {
		case verb == "NLST":
			b.WriteString(n.Name)
		case verb == "MLSD":
			b.WriteString(n.mlsdFacts())
			b.WriteString("; ")
			b.WriteString(n.Name)
		case s.srv.opts.Style == StyleDOS:
			b.WriteString(n.dosLine())
		default:
			b.WriteString(n.unixLine())
		}
		b.WriteString("\r\n")
	}
	return b.String()
}

func (n *Node) listSize() string {
	if n.ListSize != "" {
		return n.ListSize
	}
	return strconv.Itoa(len(n.Data))
}

func (n *Node) sizeReply() string {
	if n.SizeReply != "" {
		return n.SizeReply
	}
	return n.listSize()
}

func (n *Node) mlsdFacts() string {
	if n.Facts != "" {
		return n.Facts
	}
	mod := n.mtime().Format("20060102150405")
	switch {
	case n.Dir:
		return "type=dir;modify=" + mod + ";"
	case n.Link != "":
		return "type=OS.unix=slink:" + n.Link + ";modify=" + mod + ";"
	}
	return "type=file;size=" + n.listSize() + ";modify=" + mod + ";"
}

func (n *Node) unixLine() string {
	mode, size := "-rw-r--r--", n.listSize()
	switch {
	case n.Dir:
		mode, size = "drwxr-xr-x", "4096"
	case n.Link != "":
		mode, size = "lrwxrwxrwx", strconv.Itoa(len(n.Link))
	}
	t := n.mtime()
	date := t.Format("Jan _2  2006")
	if time.Since(t) < 150*24*time.Hour && time.Until(t) < 24*time.Hour {
		date = t.Format("Jan _2 15:04")
	}
	name := n.Name
	if n.Link != "" {
		name += " -> " + n.Link
	}
	return fmt.Sprintf("%s    1 ftp      ftp  %12s %s %s", mode, size, date, name)
}

func (n *Node) dosLine() string {
	size := fmt.Sprintf("%14s", n.listSize())
	if n.Dir {
		size = "<DIR>         "
	}
	return fmt.Sprintf("%s       %s %s", n.mtime().Format("01-02-06  03:04PM"), size, n.Name)
}

// retr sends a file from the REST offset.
func (s *Session) retr(arg string) {
	offset := s.rest
	s.rest = 0
	p := s.abs(arg)
	n := s.lookup(p)
	if n == nil || n.Dir {
		s.closeData()
		s.Reply("550 %s: no such file", arg)
		return
	}
	data := n.Data
	var r io.Reader
	if f := s.srv.opts.Content; f != nil {
		r = f(p, offset, data)
	} else {
		if offset > int64(len(data)) {
			offset = int64(len(data))
		}
		r = bytes.NewReader(data[offset:])
	}
	s.Reply("150 opening data connection for %s", arg)
	c, err := s.OpenData()
	if err != nil {
		s.Reply("425 no data connection: %v", err)
		return
	}
	_, ok := s.Send(c, r)
	s.CloseData(c)
	if ok {
		s.Reply("226 transfer complete")
	} else {
		s.Reply("426 connection closed; transfer aborted")
	}
}

// Endless is a reader that never ends: the byte b, forever.
type Endless byte

func (e Endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(e)
	}
	return len(p), nil
}
