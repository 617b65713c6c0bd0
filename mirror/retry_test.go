package mirror

import (
	"testing"
	"time"
)

// The backoff doubles from 500ms to at most 10s, and is jittered: a
// random half of it, so that workers failed together by one hiccup do
// not retry together.
func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		attempt int
		full    time.Duration
	}{
		{1, 500 * time.Millisecond},
		{2, time.Second},
		{3, 2 * time.Second},
		{5, 8 * time.Second},
		{6, 10 * time.Second},
		{40, 10 * time.Second}, // no overflow
	} {
		seen := map[time.Duration]bool{}
		for range 50 {
			d := backoff(tc.attempt)
			if d < tc.full/2 || d > tc.full {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", tc.attempt, d, tc.full/2, tc.full)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("backoff(%d) gave %v 50 times: no jitter", tc.attempt, seen)
		}
	}
}
