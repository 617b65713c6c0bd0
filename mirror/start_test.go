package mirror_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/hostileftp"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// TestStartRoundTrips: the root is proven by its first listing's CWD,
// not by a CWD of its own, and nothing comes between the login and that
// listing: the start of a run is the login's two round trips and the
// listing's one.
func TestStartRoundTrips(t *testing.T) {
	root := hostileftp.Dir("", hostileftp.Dir("sub", ok("a.txt")))
	srv, db, dir := serverAndState(t, root, nil)
	sum, err := mirror.Run(t.Context(), &mirror.Options{Job: "start", Addr: srv.Addr(), Root: "/sub",
		Target: filepath.Join(dir, "target"), State: db, Parallel: 1})
	if err != nil || sum.Fetched != 1 {
		t.Fatalf("%v %+v", err, sum)
	}
	cmds := srv.Commands()
	pwd := slices.Index(cmds, "PWD")
	if n := srv.Count("CWD"); n != 1 || pwd < 0 || pwd+1 >= len(cmds) || cmds[pwd+1] != "CWD /sub" {
		t.Errorf("commands %q: want the login, then CWD /sub once, for the listing", cmds)
	}
}

// TestStartFailureClosesPredialled: the connections dialled while the
// first one proves the root are closed when the root is missing, and
// the run made nothing local.
func TestStartFailureClosesPredialled(t *testing.T) {
	var mu sync.Mutex
	open, seen := 0, 0
	srv, db, dir := serverAndState(t, hostileftp.Dir("", ok("a.txt")), &hostileftp.Options{
		Connect: func(*hostileftp.Session) bool {
			mu.Lock()
			open++
			seen++
			mu.Unlock()
			return true
		},
		Disconnect: func(*hostileftp.Session) {
			mu.Lock()
			open--
			mu.Unlock()
		},
	})
	target := filepath.Join(dir, "target")
	_, err := mirror.Run(t.Context(), &mirror.Options{Job: "start", Addr: srv.Addr(), Root: "/missing",
		Target: target, State: db, Parallel: 4})
	var re *mirror.RootError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want a *RootError", err)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Errorf("target made for a missing root: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n, all := open, seen
		mu.Unlock()
		if n == 0 {
			if all < 2 {
				t.Errorf("%d sessions: the test shows nothing unless connections were dialled ahead", all)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d sessions still open after the run ended", n, all)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
