package mirror_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/treetest"
	"github.com/ftpmirror/ftpmirror/state"
)

// TestModeAutoVsftpd: against vsftpd on loopback, where active mode
// works, run 1 of mode auto tests it and stores "works" with both costs
// and the listing command (STAT), going active after the test where
// active was no slower; run 2 starts from the profile: active
// mode (PORT, no EPSV) where the test found it no slower, passive (no
// PORT) otherwise, and no second test either way.
func TestModeAutoVsftpd(t *testing.T) {
	e, srv := newReal(t, "vsftpd", false)
	treetest.Make(t, e.src, 30, 2048, 3)
	var log bytes.Buffer
	o := e.opts()
	o.ActiveAuto = true
	o.Logger = slog.New(slog.NewTextHandler(&log, nil))
	e.run(o)
	treetest.Equal(t, e.src, e.target, true)
	key := state.ServerKey(e.addr, "anonymous")
	rec, ok, err := e.db.Server(key)
	if !ok || err != nil || rec.Active != state.ActiveWorks || rec.PassiveCost <= 0 || rec.ActiveCost <= 0 || rec.Listing != "STAT" {
		t.Fatalf("stored after run 1: %+v %v %v; want active works, both costs, listing STAT\n%s", rec, ok, err, log.String())
	}
	t.Logf("stored: passive %v, active %v, listing %s", rec.PassiveCost, rec.ActiveCost, rec.Listing)
	ports1, _ := count(srv, "PORT")
	eprts1, _ := count(srv, "EPRT")
	epsv1, _ := count(srv, "EPSV")
	// On loopback the round trip is far under 2 ms: active mode is
	// never worth it there, whatever the two listings took.
	wantActive := rec.RTT >= 2*time.Millisecond && rec.ActiveCost <= rec.PassiveCost-rec.RTT/2
	if rec.RTT <= 0 {
		t.Errorf("no round trip stored: %+v", rec)
	}
	// Run 1 goes active after its test where active was no slower.
	if n := ports1 + eprts1; n < 3 || (!wantActive && n != 3) {
		t.Errorf("run 1: %d PORT/EPRT, want the test's 3 (and more where active won: %v)", n, wantActive)
	}

	treetest.Mutate(t, e.src, 5, 9) // something to fetch and delete
	o.Delete = true
	log.Reset()
	e.run(o)
	treetest.Equal(t, e.src, e.target, true)
	ports2, _ := count(srv, "PORT")
	eprts2, _ := count(srv, "EPRT")
	epsv2, _ := count(srv, "EPSV")
	active := ports2+eprts2 > ports1+eprts1
	if active != wantActive || (wantActive && epsv2 != epsv1) {
		t.Errorf("run 2: active %v (PORT/EPRT %d, EPSV %d); the stored test (passive %v, active %v) wants active %v",
			active, ports2+eprts2-ports1-eprts1, epsv2-epsv1, rec.PassiveCost, rec.ActiveCost, wantActive)
	}
	if !strings.Contains(log.String(), "using the stored server profile") || strings.Contains(log.String(), "mode auto: active mode works") {
		t.Errorf("run 2 did not start from the profile, or tested again:\n%s", log.String())
	}
	if rec2, _, _ := e.db.Server(key); !rec2.ActiveTested.Equal(rec.ActiveTested) {
		t.Errorf("run 2 tested active mode again: %v, was %v", rec2.ActiveTested, rec.ActiveTested)
	}
}
