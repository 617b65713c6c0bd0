package mirror_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/hostileftp"
	"github.com/ftpmirror/ftpmirror/state"
)

// A server that answers pipelined commands out of order (as pyftpdlib
// does in active mode: the 150 of RETR before PORT's 200): the first run
// notices, turns pipelining off, retries on a new connection one command
// at a time, fails nothing, and records it; the next run starts without
// pipelining, so the server never gets a pipelined command again.
func TestOutOfOrderReplies(t *testing.T) {
	tree := func(changed bool) *hostileftp.Node {
		var files []*hostileftp.Node
		for i := range 12 {
			f := ok(fmt.Sprintf("f%02d.txt", i))
			if changed && i == 3 {
				f.Time = t0.Add(time.Hour)
			}
			files = append(files, f)
		}
		return hostileftp.Dir("", files...)
	}
	var reordered atomic.Int32
	h := newHostile(t, tree(false), &hostileftp.Options{
		Hook: func(s *hostileftp.Session, verb, arg string) bool {
			if verb == "EPSV" && s.Pipelined() {
				reordered.Add(1)
				s.Reply("150 Opening BINARY mode data connection.")
				s.Conn().Close()
				return true
			}
			return false
		},
	})
	var log bytes.Buffer
	o := h.opts()
	o.Logger = slog.New(slog.NewTextHandler(&log, nil))
	sum, err, _ := h.run(o, 20*time.Second)
	if err != nil || sum.Failed != 0 || sum.Fetched != 12 {
		t.Fatalf("first run: %v %+v", err, sum)
	}
	if reordered.Load() == 0 {
		t.Fatal("the client never pipelined: the test tests nothing")
	}
	if !strings.Contains(log.String(), "out of order") {
		t.Errorf("no warning in the log:\n%s", log.String())
	}
	rec, found, err := h.db.Server(state.ServerKey(h.srv.Addr(), "anonymous"))
	if err != nil || !found || !rec.NoPipelining {
		t.Fatalf("state: %+v %v %v; want NoPipelining", rec, found, err)
	}

	before := reordered.Load()
	h.srv.SetTree(tree(true)) // something to fetch
	sum, err, _ = h.run(nil, 20*time.Second)
	if err != nil || sum.Failed != 0 || sum.Fetched != 1 {
		t.Fatalf("second run: %v %+v", err, sum)
	}
	if n := reordered.Load() - before; n != 0 {
		t.Errorf("second run pipelined %d times, want none", n)
	}
}

// A server without REST (502 for REST, as some embedded servers answer):
// a large file that would be fetched in segments falls back to one stream
// from byte 0 and is fetched whole; the server is remembered as having
// no REST, and the next run neither splits nor sends REST.
func TestNoREST(t *testing.T) {
	big := make([]byte, 40<<20)
	for i := range big {
		big[i] = byte(i*7 ^ i>>13)
	}
	tree := func(mtime time.Time) *hostileftp.Node {
		return hostileftp.Dir("", hostileftp.File("big.iso", big, mtime))
	}
	h := newHostile(t, tree(t0), &hostileftp.Options{
		Hook: func(s *hostileftp.Session, verb, arg string) bool {
			if verb == "REST" {
				s.Reply("502 Command 'REST' not implemented.")
				return true
			}
			return false
		},
	})
	o := h.opts()
	o.Parallel, o.Segments = 4, 4
	o.FTP.Timeout = 10 * time.Second
	sum, err, _ := h.run(o, 30*time.Second)
	if err != nil || sum.Failed != 0 || sum.Fetched != 1 {
		t.Fatalf("first run: %v %+v", err, sum)
	}
	if h.srv.Count("REST") == 0 {
		t.Fatal("no REST sent: the file was not fetched in segments, the test tests nothing")
	}
	if got, err := os.ReadFile(filepath.Join(h.target, "big.iso")); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("big.iso: %d bytes, %v; want %d bytes", len(got), err, len(big))
	}
	rec, found, err := h.db.Server(state.ServerKey(h.srv.Addr(), "anonymous"))
	if err != nil || !found || !rec.NoREST {
		t.Fatalf("state: %+v %v %v; want NoREST", rec, found, err)
	}
	if parts, _ := h.db.Job("hostile").Partials(); len(parts) != 0 {
		t.Errorf("partials left: %v", parts)
	}

	rests := h.srv.Count("REST")
	h.srv.SetTree(tree(t0.Add(time.Hour)))
	sum, err, _ = h.run(o, 30*time.Second)
	if err != nil || sum.Failed != 0 || sum.Fetched != 1 {
		t.Fatalf("second run: %v %+v", err, sum)
	}
	if n := h.srv.Count("REST") - rests; n != 0 {
		t.Errorf("second run sent REST %d times, want none", n)
	}
}

// A segmented download learns, as a whole one does, that the server has
// no MDTM (502), and the run does not ask again: here the file fetched
// after the segments gets no MDTM. The listing of "d", which brings that
// file, is held until the second segment starts, so that the segment
// asking MDTM is done by then; and the second connection's login until
// the listing of "d" is held.
func TestSegmentsLearnNoMDTM(t *testing.T) {
	big := make([]byte, 40<<20)
	for i := range big {
		big[i] = byte(i*11 ^ i>>9)
	}
	tree := hostileftp.Dir("",
		hostileftp.File("big.iso", big, t0),
		hostileftp.Dir("d", hostileftp.File("s.txt", data("s.txt", 10), t0)))
	var mdtms, users atomic.Int32
	release, dHeld := make(chan struct{}), make(chan struct{})
	var held, released atomic.Bool
	h := newHostile(t, tree, &hostileftp.Options{
		Style: hostileftp.StyleUnix, // coarse listing times: MDTM is wanted
		Hook: func(s *hostileftp.Session, verb, arg string) bool {
			switch {
			case verb == "MDTM":
				mdtms.Add(1)
				s.Reply("502 Command not implemented.")
				return true
			case verb == "REST" && arg == strconv.Itoa(len(big)/2):
				if !released.Swap(true) {
					close(release)
				}
			case verb == "USER" && users.Add(1) > 1:
				// The second connection logs in only once "d" is
				// held, so that it finds the big file the last thing
				// left (the first lists the root as it logs in, and
				// the second may be there as soon as it).
				select {
				case <-dHeld:
				case <-time.After(20 * time.Second):
				}
			case path.Base(arg) == "d" && !held.Swap(true):
				close(dHeld)
				select {
				case <-release:
				case <-time.After(20 * time.Second): // the test fails below
				}
			}
			return false
		},
	})
	h.noPlan = true // a dry run would be held too
	o := h.opts()
	o.Parallel, o.Segments = 2, 2
	o.FTP.Timeout = 30 * time.Second
	sum, err, _ := h.run(o, 40*time.Second)
	if err != nil || sum.Failed != 0 || sum.Fetched != 2 {
		t.Fatalf("run: %v %+v", err, sum)
	}
	if !released.Load() {
		t.Fatal("no REST for the second segment: the file was not fetched in segments, the test tests nothing")
	}
	if n := mdtms.Load(); n != 1 {
		t.Errorf("MDTM sent %d times, want 1: the segment's 502 was not remembered", n)
	}
}
