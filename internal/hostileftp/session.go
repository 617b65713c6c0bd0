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
	"time"
)

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

// handle runs one command the normal way; false ends the session. It is
// long because it is the one switch over the FTP commands the server knows.
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
		if s.srv.opts.Hash {
			s.Reply(" HASH SHA-256*")
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
	case "PASV", "EPSV", "PORT", "EPRT":
		s.dataPort(verb, arg)
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
	case "HASH":
		s.hash(arg)
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
