package mirror_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/internal/ftpservers"
	"github.com/ftpmirror/ftpmirror/internal/treetest"
	"github.com/ftpmirror/ftpmirror/mirror"
	"github.com/ftpmirror/ftpmirror/state"
)

// TestVerifyCost measures what verified transfers cost: full syncs of a
// 5,000-file tree (n/25 directories, 0-32 KiB files) from proftpd with
// mod_digest on loopback (active mode: ftpservers gives proftpd 50
// passive ports, which 5,000 transfers a run leave in TIME_WAIT), 8
// connections, -verify off and on interleaved, medians of
// FTPMIRROR_VERIFY_COST_RUNS (3). Opt-in, as it takes a minute and its
// figures mean something only on a quiet machine; each run waits for the
// previous one's TIME_WAIT sockets to drain first:
//
//	FTPMIRROR_VERIFY_COST=1 go test -count=1 -v -run TestVerifyCost ./mirror
func TestVerifyCost(t *testing.T) {
	if os.Getenv("FTPMIRROR_VERIFY_COST") == "" {
		t.Skip("set FTPMIRROR_VERIFY_COST=1 to measure")
	}
	runs := 3
	fmt.Sscan(os.Getenv("FTPMIRROR_VERIFY_COST_RUNS"), &runs)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	treetest.Make(t, src, 5000, 32<<10, 15)
	srv := ftpservers.Start(t, "proftpd", src, &ftpservers.Options{Digest: true})
	times := map[mirror.VerifyMode][]time.Duration{}
	for i := range runs {
		for _, mode := range []mirror.VerifyMode{mirror.VerifyOff, mirror.VerifyOn} {
			run := filepath.Join(dir, fmt.Sprintf("%s-%d", mode, i))
			db, err := state.Open(run+".db", &state.Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			settle(t, 90*time.Second)
			start := time.Now()
			sum, err := mirror.Run(t.Context(), &mirror.Options{Job: "cost", Addr: srv.Addr, Root: "/", Target: run,
				State: db, Parallel: 8, Retries: 3, Verify: mode, FTP: ftpcore.Config{Active: true, Timeout: 30 * time.Second}})
			d := time.Since(start)
			db.Close()
			if err != nil || sum.Failed != 0 || sum.Fetched != 5000 || (mode == mirror.VerifyOn) != (sum.Verified == 5000) {
				t.Fatalf("%s: %v %+v", mode, err, sum)
			}
			times[mode] = append(times[mode], d)
			t.Logf("run %d verify=%s: %v", i, mode, d.Round(time.Millisecond))
			os.RemoveAll(run)
		}
	}
	for _, mode := range []mirror.VerifyMode{mirror.VerifyOff, mirror.VerifyOn} {
		ds := times[mode]
		slices.Sort(ds)
		t.Logf("verify=%s: median %v of %v", mode, ds[len(ds)/2].Round(time.Millisecond), ds)
	}
}

// settle waits, at most max, until loopback holds fewer than 100 sockets
// in TIME_WAIT: each run leaves 5,000 data connections' worth, and the
// kernel's search for a free port among them (active mode: a listening
// port per file) costs more than what is measured.
func settle(t *testing.T, max time.Duration) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile("/proc/net/tcp")
		if err != nil {
			return
		}
		n := 0
		for _, line := range strings.Split(string(b), "\n")[1:] {
			if f := strings.Fields(line); len(f) > 3 && f[3] == "06" { // TCP_TIME_WAIT
				n++
			}
		}
		if n < 100 {
			return
		}
		time.Sleep(time.Second)
	}
	t.Logf("TIME_WAIT sockets did not drain within %v", max)
}
