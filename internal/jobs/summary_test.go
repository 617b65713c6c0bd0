package jobs

import (
	"strings"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/mirror"
)

// TestSummaryLine: the line a run ends with says what a reader of the
// mirror needs to know: a published snapshot, or a run that the
// sentinel ended.
func TestSummaryLine(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		sum  mirror.Summary
		want string
	}{
		{mirror.Summary{Job: "pub", Result: mirror.ResultOK, Fetched: 2, Bytes: 2048, Start: t0, End: t0.Add(time.Second)},
			"pub: ok: 0 dirs, 0 files listed, 2 fetched (2.0 KiB), 0 adopted, 0 unchanged, 0 deleted, 0 skipped, 0 failed in 1s, 2.0 KiB/s"},
		{mirror.Summary{Job: "pub", Result: mirror.ResultOK, Snapshot: "20261130T020000Z", Start: t0, End: t0},
			"; published snapshots/20261130T020000Z"},
		{mirror.Summary{Job: "pub", Result: mirror.ResultOK, SentinelUnchanged: true, Start: t0, End: t0},
			"; sentinel unchanged since the last complete run: nothing to do"},
		{mirror.Summary{Job: "pub", Result: mirror.ResultOK, ClockLearned: "UTC+03:00", Start: t0, End: t0},
			"; server's LIST times learned to be UTC+03:00"},
	} {
		if got := SummaryLine(&c.sum); !strings.HasSuffix(got, c.want) {
			t.Errorf("SummaryLine(%+v) = %q, want it to end %q", c.sum, got, c.want)
		}
	}
}
