package mirror_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/hostileftp"
	"github.com/ftpmirror/ftpmirror/internal/treetest"
	"github.com/ftpmirror/ftpmirror/mirror"
	"github.com/ftpmirror/ftpmirror/state"
)

// sessionLimit makes a hostileftp server admit at most max sessions at
// once, refusing one more with reply at its greeting (stage "") or in
// answer to USER or PASS, as real servers do over their limits. It
// counts, in the server, how many sessions were logged in at once.
type sessionLimit struct {
	max   int
	stage string // "", "USER" or "PASS"
	reply string

	mu       sync.Mutex
	admitted map[int]bool // session IDs let past the limit
	loggedIn map[int]bool // sessions that PASS logged in
	peak     int          // most sessions logged in at once
	refused  int
}

// admit lets s in if there is room, and refuses it otherwise.
func (l *sessionLimit) admit(s *hostileftp.Session) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.admitted[s.ID] {
		return true
	}
	if len(l.admitted) >= l.max {
		l.refused++
		s.Reply("%s", l.reply)
		return false
	}
	l.admitted[s.ID] = true
	return true
}

func (l *sessionLimit) options() *hostileftp.Options {
	l.admitted, l.loggedIn = map[int]bool{}, map[int]bool{}
	o := &hostileftp.Options{
		Hook: func(s *hostileftp.Session, verb, _ string) bool {
			if l.stage != "" && verb == l.stage && !l.admit(s) {
				// vsftpd, pure-ftpd and proftpd hang up after refusing.
				s.Conn().Close()
				return true
			}
			if verb == "PASS" {
				l.mu.Lock()
				if l.admitted[s.ID] {
					l.loggedIn[s.ID] = true
					l.peak = max(l.peak, len(l.loggedIn))
				}
				l.mu.Unlock()
			}
			return false // the server answers as usual
		},
		Disconnect: func(s *hostileftp.Session) {
			l.mu.Lock()
			delete(l.admitted, s.ID)
			delete(l.loggedIn, s.ID)
			l.mu.Unlock()
		},
	}
	if l.stage == "" {
		o.Connect = l.admit
	}
	return o
}

// serverAndState starts a hostileftp server and opens a state in a
// temporary directory, which it returns, all closed by the cleanup.
func serverAndState(t *testing.T, tree *hostileftp.Node, opts *hostileftp.Options) (*hostileftp.Server, *state.DB, string) {
	t.Helper()
	srv, err := hostileftp.Start(tree, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	dir := t.TempDir()
	db, err := state.Open(filepath.Join(dir, "state.db"), &state.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return srv, db, dir
}

// poolTree is 60 files of distinct contents in four directories.
func poolTree() (*hostileftp.Node, map[string][]byte) {
	want := map[string][]byte{}
	root := hostileftp.Dir("")
	for d := range 4 {
		dir := hostileftp.Dir(fmt.Sprintf("d%d", d))
		for f := range 15 {
			name := fmt.Sprintf("f%02d.bin", f)
			data := bytes.Repeat([]byte(fmt.Sprintf("%d/%d;", d, f)), 1+d*200+f*37)
			dir.Children = append(dir.Children, hostileftp.File(name, data, t0.Add(-time.Duration(d*15+f)*time.Hour)))
			want[filepath.Join(dir.Name, name)] = data
		}
		root.Children = append(root.Children, dir)
	}
	return root, want
}

// A server that lets us have fewer connections than Parallel asks for
// (vsftpd max_per_ip, pure-ftpd -c/-C, proftpd MaxClientsPerUser) costs
// the run nothing: the workers that were refused bow out once each, and
// the others mirror everything.
func TestPoolShrinksOnTooManyConnections(t *testing.T) {
	const parallel, limit = 6, 2
	for _, tc := range []struct {
		name  string
		stage string
		reply string
	}{
		{"vsftpd greeting 421", "", "421 There are too many connected users, please try later."},
		{"pure-ftpd USER 421", "USER", "421 Too many users"},
		{"proftpd USER 530", "USER", "530 Sorry, the maximum number of clients (2) for this user are already connected."},
		{"proftpd PASS 530", "PASS", "530 Sorry, the maximum number of clients (2) for this user are already connected."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lim := &sessionLimit{max: limit, stage: tc.stage, reply: tc.reply}
			tree, want := poolTree()
			srv, db, dir := serverAndState(t, tree, lim.options())
			target := filepath.Join(dir, "target")

			sum, err := mirror.Run(t.Context(), &mirror.Options{
				Job: "pool", Addr: srv.Addr(), Root: "/", Target: target, State: db, Parallel: parallel, Retries: 3,
			})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if sum.Result != mirror.ResultOK || sum.Failed != 0 || sum.Fetched != int64(len(want)) {
				t.Fatalf("result %s, %d failed, %d fetched (want ok, 0, %d): %v", sum.Result, sum.Failed, sum.Fetched, len(want), sum.Errors)
			}
			got := treetest.Files(t, target)
			if len(got) != len(want) {
				t.Errorf("target has %d files, want %d: %v", len(got), len(want), got)
			}
			for name, data := range want {
				b, err := os.ReadFile(filepath.Join(target, name))
				if err != nil || !bytes.Equal(b, data) {
					t.Errorf("%s: %d bytes, %v; want the server's %d bytes", name, len(b), err, len(data))
				}
			}

			lim.mu.Lock()
			peak, refused := lim.peak, lim.refused
			lim.mu.Unlock()
			if peak > limit {
				t.Errorf("the server had %d sessions logged in at once, more than its limit %d", peak, limit)
			}
			// The run must have met the limit, or this test shows nothing;
			// and each worker over it must have given up after one refusal
			// instead of trying again for every task it picked up.
			if refused == 0 || refused > parallel-limit {
				t.Errorf("the server refused %d logins; want 1 to %d (one per worker over the limit)", refused, parallel-limit)
			}
		})
	}
}
