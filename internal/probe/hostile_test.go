package probe_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/internal/hostileftp"
	"github.com/ftpmirror/ftpmirror/internal/probe"
)

// recentTree is a tree of three files changed in the last hours, at
// times with seconds (LIST shows minutes), and a directory.
func recentTree(now time.Time) *hostileftp.Node {
	t := now.UTC().Truncate(time.Minute).Add(-37 * time.Second)
	return hostileftp.Dir("",
		hostileftp.File("a.txt", []byte("alpha alpha\n"), t.Add(-time.Hour)),
		hostileftp.File("b.txt", []byte("beta\n"), t.Add(-2*time.Hour)),
		hostileftp.Dir("sub", hostileftp.File("c.txt", []byte("see\n"), t.Add(-3*time.Hour))),
	)
}

func start(t *testing.T, opts *hostileftp.Options) *hostileftp.Server {
	t.Helper()
	srv, err := hostileftp.Start(recentTree(time.Now()), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func run(t *testing.T, srv *hostileftp.Server, o probe.Options) *probe.Profile {
	t.Helper()
	o.Addr = srv.Addr()
	if o.FTP.Timeout == 0 {
		o.FTP.Timeout = 10 * time.Second
	}
	p, err := probe.Run(t.Context(), &o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestProbeActiveNoConnectBack: the server takes PORT and answers the
// listing with 150, but never connects. The probe waits ActiveTimeout,
// not the connection's Timeout, and says so.
func TestProbeActiveNoConnectBack(t *testing.T) {
	srv := start(t, &hostileftp.Options{Style: hostileftp.StyleUnix, Hook: func(s *hostileftp.Session, verb, arg string) bool {
		if (verb == "LIST" || verb == "MLSD") && s.ActiveAddr() != "" {
			s.Reply("150 connecting to you (not really)")
			return true
		}
		return false
	}})
	// Without the bound, the accept would wait for the connection's
	// 30 s Timeout; the whole run is given 10 s.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	p, err := probe.Run(ctx, &probe.Options{Addr: srv.Addr(), ActiveTimeout: 200 * time.Millisecond, FTP: ftpcore.Config{Timeout: 30 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Active.Result != probe.No || !strings.Contains(p.Active.Detail, "within 200ms") {
		t.Errorf("active: %+v, want no, within 200ms", p.Active)
	}
	if p.Passive.Works.Result != probe.Yes {
		t.Errorf("passive: %+v", p.Passive.Works)
	}
	if s := p.Suggest(); s.Mode != "passive" {
		t.Errorf("suggested mode %q", s.Mode)
	}
}

// TestProbeClockOffset: LIST shows times three hours ahead of MDTM (a
// server in UTC+3 whose LIST is local time): the offset is found.
func TestProbeClockOffset(t *testing.T) {
	const offset = 3 * time.Hour
	var srv *hostileftp.Server
	times := map[string]time.Time{}
	tree := recentTree(time.Now())
	var walk func(dir string, n *hostileftp.Node)
	walk = func(dir string, n *hostileftp.Node) {
		for _, c := range n.Children {
			times[dir+c.Name] = c.Time
			walk(dir+c.Name+"/", c)
		}
	}
	walk("/", tree)
	srv = start(t, &hostileftp.Options{Style: hostileftp.StyleUnix, Hook: func(s *hostileftp.Session, verb, arg string) bool {
		if verb != "MDTM" {
			return false
		}
		mt, ok := times[arg]
		if !ok {
			s.Reply("550 %s: not a plain file", arg)
			return true
		}
		s.Reply("213 %s", mt.Add(-offset).UTC().Format("20060102150405"))
		return true
	}})
	srv.SetTree(tree)
	p := run(t, srv, probe.Options{})
	c := p.Clock
	if c.Samples != 3 || c.ListOffset != int(offset/time.Second) || !c.Consistent {
		t.Errorf("clock: %+v, want 3 samples, offset %d", c, int(offset/time.Second))
	}
}

// TestProbeConnectionLimit: a server that takes three sessions at once
// and refuses the fourth with 421, as vsftpd's max_per_ip does. Asked
// for up to 10, the probe finds 3; not asked, it never has more than
// the main connection and one other (active mode) open.
func TestProbeConnectionLimit(t *testing.T) {
	const limit = 3
	var mu sync.Mutex
	open, peak := 0, 0
	// A session stops counting at its QUIT, whose reply the client
	// waits for before it goes on, or when it ends without one.
	quit := map[int]bool{}
	leave := func(s *hostileftp.Session) {
		mu.Lock()
		defer mu.Unlock()
		if !quit[s.ID] {
			quit[s.ID] = true
			open--
		}
	}
	srv := start(t, &hostileftp.Options{
		Connect: func(s *hostileftp.Session) bool {
			mu.Lock()
			defer mu.Unlock()
			open++
			peak = max(peak, open)
			if open > limit {
				s.Reply("421 There are too many connected users, please try later.")
				return false
			}
			return true
		},
		Hook: func(s *hostileftp.Session, verb, arg string) bool {
			if verb == "QUIT" {
				leave(s)
			}
			return false
		},
		Disconnect: leave,
	})
	p := run(t, srv, probe.Options{})
	mu.Lock()
	if peak > 2 || p.Conns.Opened != 0 || p.Conns.Asked != 0 {
		t.Errorf("not asked: %d connections at once, %+v", peak, p.Conns)
	}
	peak = 0
	mu.Unlock()

	p = run(t, srv, probe.Options{MaxConnections: 10})
	if p.Conns.Limit != limit || !strings.Contains(p.Conns.Reply, "421") {
		t.Errorf("asked for 10: %+v, want limit %d", p.Conns, limit)
	}
	if s := p.Suggest(); s.Parallel != limit-1 {
		t.Errorf("suggested parallel %d, want %d", s.Parallel, limit-1)
	}
}

// TestProbePASVElsewhere: PASV names an address that is not the
// server's (NAT); the probe reports it, and passive mode still works
// (ftpcore connects to the server's address).
func TestProbePASVElsewhere(t *testing.T) {
	srv := start(t, &hostileftp.Options{Hook: func(s *hostileftp.Session, verb, arg string) bool {
		switch verb {
		case "EPSV":
			s.Reply("502 no EPSV here")
			return true
		case "PASV":
			port, err := s.ListenPassive()
			if err != nil {
				s.Reply("425 %v", err)
				return true
			}
			s.Reply("227 Entering Passive Mode (10,9,8,7,%d,%d)", port>>8, port&0xff)
			return true
		}
		return false
	}})
	p := run(t, srv, probe.Options{})
	if !p.Passive.NAT || p.Passive.PASVAddress != "10.9.8.7" || p.Passive.EPSV.Result != probe.No {
		t.Errorf("passive: %+v", p.Passive)
	}
	if p.Passive.Works.Result != probe.Yes {
		t.Errorf("passive mode: %+v", p.Passive.Works)
	}
}

// TestProbeLoginRefused: a refused login is a *LoginError naming the
// reply; nothing was probed.
func TestProbeLoginRefused(t *testing.T) {
	srv := start(t, &hostileftp.Options{Hook: func(s *hostileftp.Session, verb, arg string) bool {
		if verb == "PASS" {
			s.Reply("530 Login incorrect.")
			return true
		}
		return false
	}})
	p, err := probe.Run(t.Context(), &probe.Options{Addr: srv.Addr(), User: "bob", Password: "x"})
	var le *probe.LoginError
	if p != nil || !errors.As(err, &le) || !strings.Contains(err.Error(), "530 Login incorrect") {
		t.Fatalf("Run = %v, %v; want a LoginError with the 530", p, err)
	}
}

// TestProbeBasics: greeting, SYST and FEAT (without its closing line)
// as sent; without MLSD and STAT, LIST is the listing command, and a
// line no parser understands is quoted.
func TestProbeBasics(t *testing.T) {
	srv := start(t, &hostileftp.Options{Style: hostileftp.StyleUnix, Greeting: "220-Hello\r\n220 there",
		Listing: func(verb, dir, text string) string {
			if verb == "LIST" && dir == "/" {
				text += "?? what is this ??\r\n"
			}
			return text
		}})
	p := run(t, srv, probe.Options{})
	if p.Greeting != "Hello\nthere" || p.System != "UNIX Type: L8" {
		t.Errorf("greeting %q, system %q", p.Greeting, p.System)
	}
	want := []probe.Feature{{Name: "EPSV"}, {Name: "MDTM"}, {Name: "REST", Params: "STREAM"}, {Name: "SIZE"}}
	if fmt.Sprint(p.Features) != fmt.Sprint(want) {
		t.Errorf("features %v, want %v", p.Features, want)
	}
	l := p.Listing
	if l.Command != "LIST" || l.MLSD.Result != probe.No || l.STAT.Result != probe.No || l.Dialects["unix"] != 4 { // the root's three, sub's one
		t.Errorf("listing: %+v", l)
	}
	if l.Bad != 1 || len(l.Unparsed) != 1 || l.Unparsed[0] != `"?? what is this ??"` {
		t.Errorf("unparsed: %d %q", l.Bad, l.Unparsed)
	}
	if p.Rest.Result != probe.Yes || p.Pipelining.Passive.Result != probe.Yes || p.Active.Result != probe.Yes {
		t.Errorf("rest %+v, pipelining %+v, active %+v", p.Rest, p.Pipelining, p.Active)
	}
}

// TestProbeConnectionsBounded: asked for more than MaxConnections, the
// probe opens MaxConnections.
func TestProbeConnectionsBounded(t *testing.T) {
	srv := start(t, nil)
	p := run(t, srv, probe.Options{MaxConnections: 1000})
	if p.Conns.Opened != probe.MaxConnections || p.Conns.Asked != probe.MaxConnections || p.Conns.Limit != 0 {
		t.Errorf("connections: %+v, want %d opened", p.Conns, probe.MaxConnections)
	}
}
