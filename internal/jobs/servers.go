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

// WriteServers writes one line for each server of db whose clock
// offset a run learned (state.Server.ClockOffset), for `state show`.
func WriteServers(w io.Writer, db *state.DB, now time.Time) error {
	servers, err := db.Servers()
	if err != nil {
		return err
	}
	for _, key := range slices.Sorted(maps.Keys(servers)) {
		s := servers[key]
		if s.ClockLearned.IsZero() {
			continue
		}
		fmt.Fprintf(w, "server %s: LIST times in %s, learned %s from %d files\n",
			key, ftpcore.ZoneName(s.ClockOffset), ago(now, s.ClockLearned), s.ClockSamples)
	}
	return nil
}
