package hostileftp

import (
	"bytes"
	"crypto/sha256"
	"io"
	"strings"
	"time"
)

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
	s.srv.mu.Lock()
	wait := s.srv.finalWait
	s.srv.mu.Unlock()
	if wait > 0 {
		s.conn.SetReadDeadline(time.Now().Add(wait))
		if _, err := s.r.Peek(1); err == nil {
			s.srv.early.Add(1)
		}
		s.conn.SetReadDeadline(time.Time{})
	}
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
			b.WriteString(n.dosLine(s.srv.opts.ListZone))
		default:
			b.WriteString(n.unixLine(s.srv.opts.ListZone))
		}
		b.WriteString("\r\n")
	}
	return b.String()
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

// hash answers HASH (Options.Hash) with the SHA-256 of a file's data,
// or what Options.HashSum says.
func (s *Session) hash(arg string) {
	p := s.abs(arg)
	n := s.lookup(p)
	switch {
	case !s.srv.opts.Hash:
		s.Reply("502 HASH not implemented")
		return
	case n == nil || n.Dir:
		s.Reply("550 %s: no such file", arg)
		return
	}
	sum := sha256.Sum256(n.Data)
	got := sum[:]
	if f := s.srv.opts.HashSum; f != nil {
		got = f(p, n.Data)
	}
	s.Reply("213-Computing SHA-256 digest")
	s.Reply("213 SHA-256 0-%d %x %s", len(n.Data), got, arg)
}
