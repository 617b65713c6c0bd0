package mirror_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/hostileftp"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// chainTree is a/b/c/d, one directory inside the other, with a file in
// each.
func chainTree() *hostileftp.Node {
	return hostileftp.Dir("", ok("top.txt"),
		hostileftp.Dir("a", ok("a.txt"),
			hostileftp.Dir("b", ok("b.txt"),
				hostileftp.Dir("c", ok("c.txt"),
					hostileftp.Dir("d", ok("d.txt"))))))
}

// TestListAhead: a re-run lists the directories the state knows without
// waiting for their parents' listings. The server holds back the listing
// of /a until the listing of /a/b/c/d has begun: a walk that learns
// /a/b/c/d only from /a/b/c's listing, which it learns from /a/b's, and
// that from /a's, waits for the hold to time out.
func TestListAhead(t *testing.T) {
	var holding atomic.Bool
	var timedOut atomic.Int32
	deep := make(chan struct{})
	var once sync.Once
	srv, db, dir := serverAndState(t, chainTree(), &hostileftp.Options{
		Hook: func(s *hostileftp.Session, verb, arg string) bool {
			if !holding.Load() {
				return false
			}
			switch {
			case verb == "CWD" && arg == "/a/b/c/d":
				once.Do(func() { close(deep) })
			case (verb == "MLSD" || verb == "LIST") && s.Dir() == "/a":
				select {
				case <-deep:
				case <-time.After(5 * time.Second):
					timedOut.Add(1)
				}
			}
			return false
		},
	})
	target := filepath.Join(dir, "target")
	opts := &mirror.Options{Job: "ahead", Addr: srv.Addr(), Root: "/", Target: target, State: db, Parallel: 2}
	if sum, err := mirror.Run(t.Context(), opts); err != nil || sum.Fetched != 5 {
		t.Fatalf("run 1: %v %+v", err, sum)
	}
	holding.Store(true)
	before := srv.Count("MLSD")
	sum, err := mirror.Run(t.Context(), opts)
	if err != nil || sum.Failed != 0 || sum.Unchanged != 5 || sum.Dirs != 5 {
		t.Fatalf("run 2: %v %+v", err, sum)
	}
	if n := srv.Count("MLSD") - before; n != 5 {
		t.Errorf("run 2 listed %d times, want each of the 5 directories once", n)
	}
	if n := timedOut.Load(); n != 0 {
		t.Errorf("the listing of /a waited for /a/b/c/d's %d times: the walk did not list ahead", n)
	}
}

// TestListAheadDecidesNothing: a listing made ahead decides nothing that
// the parent's listing does not confirm. A known directory that is gone,
// or is a file now, fails nothing and is handled as the parent's listing
// shows it; one the server refuses to list ahead is listed again, as a
// listing of its own, when its parent shows it.
func TestListAheadDecidesNothing(t *testing.T) {
	tests := []struct {
		name    string
		tree    *hostileftp.Node
		refuse  string // a directory whose first listing after CWD fails
		fetched int64
		deleted int64
		failed  int64
		gone    []string // local paths that must be gone
	}{{
		name: "a known directory gone remotely",
		tree: hostileftp.Dir("", ok("top.txt"),
			hostileftp.Dir("a", ok("a.txt"))),
		deleted: 1, // at least: b and what it held
		gone:    []string{"a/b"},
	}, {
		name: "a known directory that is a file now",
		tree: hostileftp.Dir("", ok("top.txt"),
			hostileftp.Dir("a", ok("a.txt"), ok("b"))),
		fetched: 1,
		gone:    []string{"a/b/b.txt"},
	}, {
		name:   "a listing ahead refused once",
		tree:   chainTree(),
		refuse: "/a/b/c",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var refused atomic.Int32
			var run2 atomic.Bool
			srv, db, dir := serverAndState(t, chainTree(), &hostileftp.Options{
				Hook: func(s *hostileftp.Session, verb, arg string) bool {
					if run2.Load() && tc.refuse != "" && (verb == "MLSD" || verb == "LIST") && s.Dir() == tc.refuse && refused.Add(1) == 1 {
						s.Reply("450 Transient refusal, try again")
						return true
					}
					return false
				},
			})
			target := filepath.Join(dir, "target")
			opts := &mirror.Options{Job: "ahead", Addr: srv.Addr(), Root: "/", Target: target, State: db, Parallel: 2, Delete: true, MaxDelete: mirror.DeleteLimit{None: true}}
			if sum, err := mirror.Run(t.Context(), opts); err != nil || sum.Fetched != 5 {
				t.Fatalf("run 1: %v %+v", err, sum)
			}
			run2.Store(true)
			srv.SetTree(tc.tree)
			sum, err := mirror.Run(t.Context(), opts)
			if err != nil || sum.Failed != tc.failed || sum.Fetched != tc.fetched || (tc.deleted > 0 && sum.Deleted == 0) {
				t.Fatalf("run 2: %v %+v", err, sum)
			}
			for _, p := range tc.gone {
				if _, err := os.Lstat(filepath.Join(target, p)); err == nil {
					t.Errorf("%s is still there", p)
				}
			}
			if tc.refuse != "" && refused.Load() < 2 {
				t.Errorf("%s listed %d times, want the refused listing ahead and one more", tc.refuse, refused.Load())
			}
			cwds := 0
			for _, c := range srv.Commands() {
				if strings.HasPrefix(c, "CWD /a/b") {
					cwds++
				}
			}
			if cwds == 0 {
				t.Error("no CWD into /a/b or below: the case shows nothing unless the run tried to list the known directories")
			}
		})
	}
}

// TestListAheadChains: on an MLSD server, a worker chains the listings
// ahead it takes, each one's commands going out when the data of the one
// before has ended. The server sends each 226 only once the client's
// next command has come (at most 0.5 s later), as proftpd's 226 comes a
// round trip after the data: chained listings have it there already.
func TestListAheadChains(t *testing.T) {
	var dirs []*hostileftp.Node
	for i := range 12 {
		dirs = append(dirs, hostileftp.Dir(fmt.Sprintf("d%02d", i), ok("f.txt")))
	}
	srv, db, dir := serverAndState(t, hostileftp.Dir("", dirs...), &hostileftp.Options{Style: hostileftp.StyleMLSD})
	target := filepath.Join(dir, "target")
	opts := &mirror.Options{Job: "chain", Addr: srv.Addr(), Root: "/", Target: target, State: db, Parallel: 2}
	if sum, err := mirror.Run(t.Context(), opts); err != nil || sum.Fetched != 12 {
		t.Fatalf("run 1: %v %+v", err, sum)
	}
	before := srv.LateFinal(500 * time.Millisecond)
	sum, err := mirror.Run(t.Context(), opts)
	early := srv.LateFinal(0) - before
	if err != nil || sum.Failed != 0 || sum.Unchanged != 12 || sum.Dirs != 13 {
		t.Fatalf("run 2: %v %+v", err, sum)
	}
	// 12 listings ahead on 2 connections, in chains of a few: all but
	// the last of each chain go early (8 here, run after run).
	t.Logf("%d of 12 listings ahead chained", early)
	if early < 6 {
		t.Errorf("%d of the 12 listings ahead had the next one's commands before their 226, want 6 or more", early)
	}
}
