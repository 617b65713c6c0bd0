package jobs

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/state"
)

// WriteServers writes, for `state show`, what runs learned of each
// server of db: its profile in plain words (state.Server.Describe) and
// the clock offset of its LIST times.
func WriteServers(w io.Writer, db *state.DB, now time.Time) error {
	servers, err := db.Servers()
	if err != nil {
		return err
	}
	for _, key := range slices.Sorted(maps.Keys(servers)) {
		s := servers[key]
		fmt.Fprintf(w, "server %s (what runs learned of it):\n", key)
		for _, line := range s.Describe() {
			fmt.Fprintf(w, "  %s\n", line)
		}
		if s.ClockLearned.IsZero() {
			fmt.Fprintf(w, "  LIST times: offset not learned (MLSD gives UTC, or no LIST with recent files yet)\n")
			continue
		}
		fmt.Fprintf(w, "  LIST times: %s, learned %s from %d files\n",
			ftpcore.ZoneName(s.ClockOffset), ago(now, s.ClockLearned), s.ClockSamples)
	}
	return nil
}
