package mirror_test

import (
	"bytes"
	"fmt"
	"log/slog"
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
