package mirror_test

import (
	"path/filepath"
	"slices"
	"testing"

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
