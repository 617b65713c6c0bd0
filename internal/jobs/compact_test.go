package jobs

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/state"
)

// TestCompactAfterRun: a run that wrote state.CompactChanges records in
// the order a parallel mirror finishes them leaves the state sparse;
// compact rewrites it and says so. A dry run's read-only state is only
// closed.
func TestCompactAfterRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	open := func(o *state.Options) *state.DB {
		db, err := state.Open(path, o)
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	fill := func(db *state.DB) {
		var changes []state.Change
		for _, i := range rand.New(rand.NewPCG(3, 4)).Perm(state.CompactChanges + 5000) {
			changes = append(changes, state.Change{Path: fmt.Sprintf("pub/releases/d%02d/a-file-name-as-long-as-a-real-one-%06d.tar.gz", i%40, i),
				Record: state.Record{Size: int64(i), Fetched: time.Unix(1_800_000_000, int64(i)), Digest: make([]byte, 32)}})
			if len(changes) == 64 {
				if err := db.Job("j").Apply(changes); err != nil {
					t.Fatal(err)
				}
				changes = changes[:0]
			}
		}
		if err := db.Job("j").Apply(changes); err != nil {
			t.Fatal(err)
		}
	}
	var log bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&log, nil))

	db := open(&state.Options{NoSync: true})
	fill(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	compact(open(&state.Options{ReadOnly: true}), logger, "j")
	if log.Len() != 0 {
		t.Fatalf("a read-only state was compacted: log %q", log.String())
	}
	if _, err := os.Stat(path + ".compact"); !os.IsNotExist(err) {
		t.Fatalf("a read-only state's compaction wrote its copy: %v", err)
	}

	db = open(nil)
	fill(db)
	compact(db, logger, "j")
	t.Logf("log %q", log.String())
	if !strings.Contains(log.String(), "state compacted") {
		t.Errorf("not compacted: log %q", log.String())
	}
}
