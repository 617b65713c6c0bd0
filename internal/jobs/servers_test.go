package jobs

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/state"
)

// TestWriteServers: `state show` describes each server, with its clock
// offset as a zone where one was learned.
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
	out := b.String()
	for _, want := range []string{
		"server 127.0.0.1:21 anonymous (what runs learned of it):\n",
		"  LIST times: UTC+03:00, learned ",
		"(1h0m0s ago) from 5 files\n",
		"server 127.0.0.1:2121 u (what runs learned of it):\n",
		"  LIST times: UTC-05:30, learned ",
		"server 127.0.0.1:21 other (what runs learned of it):\n",
		"  connections: -parallel auto settled at 4\n",
		"  LIST times: offset not learned",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("WriteServers lacks %q:\n%s", want, out)
		}
	}
}
