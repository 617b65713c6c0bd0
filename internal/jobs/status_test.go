package jobs

import (
	"testing"
	"time"
)

func TestStale(t *testing.T) {
	now := time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)
	h := time.Hour
	tests := []struct {
		maxAge             time.Duration
		lastSuccess, grace time.Time
		want               bool
	}{
		{0, time.Time{}, time.Time{}, false},
		{36 * h, now.Add(-35 * h), time.Time{}, false},
		{36 * h, now.Add(-37 * h), now, true},
		{36 * h, time.Time{}, time.Time{}, true},
		{36 * h, time.Time{}, now.Add(-h), false},
		{36 * h, time.Time{}, now.Add(-40 * h), true},
	}
	for _, tt := range tests {
		if got := stale(tt.maxAge, tt.lastSuccess, tt.grace, now); got != tt.want {
			t.Errorf("stale(%v, %v, %v) = %v", tt.maxAge, tt.lastSuccess, tt.grace, got)
		}
	}
}
