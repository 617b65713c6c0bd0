package mirror_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/hostileftp"
)

// TestAdoptWithoutServerTime: a server whose listing gives no time (EPLF
// without its "m" fact) and a target that already holds the files (a
// tree another tool made, or a lost state): run 1 adopts them on their
// size, and run 2 finds them unchanged. The adopted record keeps the
// local file's time; with none (the listing's), run 2 fetched every
// adopted file again.
func TestAdoptWithoutServerTime(t *testing.T) {
	names := []string{"a.txt", "b.txt", "c.txt"}
	root := hostileftp.Dir("")
	for _, n := range names {
		root.Children = append(root.Children, ok(n))
	}
	h := newHostile(t, root, &hostileftp.Options{
		Style: hostileftp.StyleUnix,
		Listing: func(verb, dir, text string) string {
			if verb != "LIST" {
				return text
			}
			var b strings.Builder
			for _, n := range names {
				fmt.Fprintf(&b, "+s%d,r,\t%s\r\n", len(data(n, 3)), n)
			}
			return b.String()
		},
	})
	h.noPlan = true
	old := time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, n := range names {
		p := filepath.Join(h.target, n)
		if err := os.WriteFile(p, data(n, 3), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	for run, want := range []struct{ adopted, unchanged int64 }{{3, 0}, {0, 3}} {
		sum, err, _ := h.run(nil, 10*time.Second)
		if err != nil || sum.Failed != 0 || sum.Fetched != 0 || sum.Adopted != want.adopted || sum.Unchanged != want.unchanged {
			t.Fatalf("run %d: %v; fetched %d, adopted %d, unchanged %d; want adopted %d, unchanged %d",
				run+1, err, sum.Fetched, sum.Adopted, sum.Unchanged, want.adopted, want.unchanged)
		}
	}
}
