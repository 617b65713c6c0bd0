package ftpcore

import (
	"testing"
	"time"
)

func TestZoneOffset(t *testing.T) {
	const h, m = time.Hour, time.Minute
	for _, tc := range []struct {
		name    string
		offsets []time.Duration
		want    time.Duration
		ok      bool
	}{
		{"none", nil, 0, false},
		{"UTC+3", []time.Duration{3 * h, 3 * h, 3 * h}, 3 * h, true},
		{"UTC-5:30", []time.Duration{-5*h - 30*m, -5*h - 30*m}, -5*h - 30*m, true},
		{"a file written across a minute", []time.Duration{3 * h, 3*h - m, 3 * h}, 3 * h, true},
		{"summer and winter files", []time.Duration{3 * h, 2 * h, 3 * h}, 3 * h, false},
		{"changed between LIST and MDTM", []time.Duration{2 * h, 2*h - 7*m, 2 * h}, 2 * h, false},
		{"off the quarter hour", []time.Duration{2*h + 7*m, 2*h + 7*m, 2*h + 7*m}, 2 * h, false},
	} {
		got, ok := ZoneOffset(tc.offsets)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: ZoneOffset = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestListOffset(t *testing.T) {
	mdtm := time.Date(2026, 11, 30, 1, 2, 59, 0, time.UTC)
	list := time.Date(2026, 11, 30, 4, 2, 0, 0, time.UTC) // UTC+3, read as UTC
	if got := ListOffset(list, mdtm); got != 3*time.Hour {
		t.Errorf("ListOffset = %v", got)
	}
}
