package mirror

import "testing"

// TestDeleteLimit: 0 and 0% allow no deletion at all, "none" any number;
// a count and a percentage bound as written.
func TestDeleteLimit(t *testing.T) {
	for _, tc := range []struct {
		limit    string
		n, known int
		want     bool
	}{
		{"0", 1, 100, false},
		{"0", 0, 100, true},
		{"0%", 1, 100, false},
		{"0%", 0, 0, true},
		{"none", 1000, 10, true},
		{"10", 10, 10, true},
		{"10", 11, 1000, false},
		{"50%", 50, 100, true},
		{"50%", 51, 100, false},
		{"100%", 3, 3, true},
		{"12.5%", 1, 8, true},
		{"12.5%", 2, 8, false},
		{"50%", 1, 0, false}, // nothing known: a percentage allows nothing
	} {
		l, err := ParseDeleteLimit(tc.limit)
		if err != nil {
			t.Fatalf("%q: %v", tc.limit, err)
		}
		if got := l.allows(tc.n, tc.known); got != tc.want {
			t.Errorf("%s allows %d of %d = %v, want %v", tc.limit, tc.n, tc.known, got, tc.want)
		}
		if l.String() != tc.limit {
			t.Errorf("%q prints as %q", tc.limit, l.String())
		}
	}
	for _, bad := range []string{"", "x", "-1", "101%", "-5%", "NaN%", "1.5", "unlimited", "2147483648"} {
		if _, err := ParseDeleteLimit(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
