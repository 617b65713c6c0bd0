package jobs

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/state"
)

// TestWriteServers: `state show` names each server whose clock offset
// was learned, with the offset as a zone; servers without one are left
// out.
func TestWriteServers(t *testing.T) {
	db, err := state.Open(filepath.Join(t.TempDir(), "s.db"), &state.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 11, 30, 4, 0, 0, 0, time.UTC)
	for key, s := range map[string]state.Server{
		state.ServerKey("127.0.0.1:21", "anonymous"): {ClockOffset: 3 * time.Hour, ClockLearned: now.Add(-time.Hour), ClockSamples: 5},
		state.ServerKey("127.0.0.1:2121", "u"):       {ClockOffset: -(5*time.Hour + 30*time.Minute), ClockLearned: now, ClockSamples: 3},
		state.ServerKey("127.0.0.1:21", "other"):     {Parallel: 4},
	} {
		if err := db.PutServer(key, s); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	if err := WriteServers(&b, db, now); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 2 ||
		!strings.HasPrefix(lines[0], "server 127.0.0.1:21 anonymous: LIST times in UTC+03:00, learned ") || !strings.HasSuffix(lines[0], "(1h0m0s ago) from 5 files") ||
		!strings.HasPrefix(lines[1], "server 127.0.0.1:2121 u: LIST times in UTC-05:30, learned ") {
		t.Errorf("WriteServers:\n%s", b.String())
	}
}
