package mirror

import (
	"fmt"
	"testing"
)

// TestMoreListsShares: workers that each pop a listing and take their
// share of the rest, while the others wait, leave none of a level's
// directories for a second round trip, and none takes more than it may.
func TestMoreListsShares(t *testing.T) {
	tests := []struct{ dirs, workers, most int }{
		{1, 8, 7}, {4, 8, 7}, {8, 8, 7}, {9, 8, 7}, {11, 8, 7}, {12, 8, 7}, {16, 8, 7},
		{17, 8, 7}, {40, 8, 7}, {64, 8, 7}, {100, 8, 7}, {5, 1, 7}, {3, 2, 7}, {100, 16, 7},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d dirs %d workers", tc.dirs, tc.workers), func(t *testing.T) {
			q := newQueue()
			for i := range tc.dirs {
				q.push(&task{kind: taskList, rel: fmt.Sprintf("d%03d", i)})
			}
			taken, most := 0, 0
			for w := range tc.workers {
				if taken == tc.dirs {
					break
				}
				if q.pop(t.Context()) == nil {
					t.Fatal("pop found nothing")
				}
				// The workers yet to pop are waiting in pop.
				q.mu.Lock()
				q.sleepers = tc.workers - 1 - w
				q.mu.Unlock()
				more := q.moreLists(tc.most)
				if len(more) > tc.most {
					t.Fatalf("worker %d took %d more, most %d", w, len(more), tc.most)
				}
				taken += 1 + len(more)
				most = max(most, 1+len(more))
			}
			// One round trip can list at most workers×(most+1).
			if want := min(tc.dirs, tc.workers*(tc.most+1)); taken != want {
				t.Fatalf("one round of %d workers took %d of %d directories, want %d", tc.workers, taken, tc.dirs, want)
			}
			// Shared evenly: nobody lists more than its part rounded up.
			if fair := min(tc.most+1, (tc.dirs+tc.workers-1)/tc.workers); most > fair {
				t.Fatalf("one worker listed %d directories, its part is %d", most, fair)
			}
		})
	}
}
