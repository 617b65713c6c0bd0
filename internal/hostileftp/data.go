package hostileftp

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// dataPort answers the commands that announce the next data
// connection: PASV and EPSV listen, PORT and EPRT name the client's
// address.
func (s *Session) dataPort(verb, arg string) {
	switch verb {
	case "PASV", "EPSV":
		port, err := s.ListenPassive()
		switch {
		case err != nil:
			s.Reply("425 %v", err)
		case verb == "PASV":
			s.Reply("227 Entering Passive Mode (127,0,0,1,%d,%d)", port>>8, port&0xff)
		default:
			s.Reply("229 Entering Extended Passive Mode (|||%d|)", port)
		}
	case "PORT":
		var h [6]int
		if _, err := fmt.Sscanf(arg, "%d,%d,%d,%d,%d,%d", &h[0], &h[1], &h[2], &h[3], &h[4], &h[5]); err != nil {
			s.Reply("501 bad PORT")
			return
		}
		s.setActive(fmt.Sprintf("%d.%d.%d.%d:%d", h[0], h[1], h[2], h[3], h[4]<<8|h[5]))
		s.Reply("200 ok")
	case "EPRT":
		f := strings.Split(arg, arg[:min(1, len(arg))])
		if len(f) != 5 {
			s.Reply("501 bad EPRT")
			return
		}
		s.setActive(net.JoinHostPort(f[2], f[3]))
		s.Reply("200 ok")
	}
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
