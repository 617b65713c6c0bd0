package mirror

import (
	"errors"
	"testing"
)

// TestAheadClaimOrder: whichever comes first, the parent's claim or the
// listing ahead, the directory is compared from a listing that worked,
// and one that failed is listed again as a listing of its own (no
// listing result attached), never compared as a failure; an unclaimed
// result queues nothing.
func TestAheadClaimOrder(t *testing.T) {
	ok := &listing{}
	failed := &listing{err: errors.New("450 try again")}
	tests := []struct {
		name       string
		result     *listing
		claimFirst bool
		claim      bool
		want       *listing // the listing the queued task carries; nil: a listing of its own
		queued     bool
	}{
		{"done, then claimed", ok, false, true, ok, true},
		{"claimed, then done", ok, true, true, ok, true},
		{"failed, then claimed", failed, false, true, nil, true},
		{"claimed, then failed", failed, true, true, nil, true},
		{"done, never claimed", ok, false, false, nil, false},
		{"failed, never claimed", failed, false, false, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &runner{q: newQueue(), ahead: &aheadSet{dirs: map[string]*ahead{"a/b": {}}}}
			if tc.claimFirst {
				r.claimAhead("a/b", 0)
			}
			r.aheadDone("a/b", tc.result)
			if tc.claim && !tc.claimFirst {
				r.claimAhead("a/b", 0)
			}
			r.q.mu.Lock()
			tasks := append(append([]*task(nil), r.q.ready...), r.q.lists...)
			r.q.mu.Unlock()
			if !tc.queued {
				if len(tasks) != 0 {
					t.Fatalf("queued %d tasks for an unclaimed listing", len(tasks))
				}
				return
			}
			if len(tasks) != 1 || tasks[0].rel != "a/b" || tasks[0].kind != taskList {
				t.Fatalf("queued %+v, want one listing of a/b", tasks)
			}
			if tasks[0].listed != tc.want {
				t.Errorf("the task carries %+v, want %+v", tasks[0].listed, tc.want)
			}
		})
	}
}
