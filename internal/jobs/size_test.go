package jobs

import "testing"

func TestParseSizes(t *testing.T) {
	for _, bad := range []string{"NaN", "-1", "1e400", "x", "Inf"} {
		if _, err := ParseBytes(bad); err == nil {
			t.Errorf("ParseBytes(%q) accepted", bad)
		}
	}
	for in, want := range map[string]int64{"10M": 10 << 20, "512k": 512 << 10, "1.5G": 3 << 29, "100": 100, "": 0} {
		if got, err := ParseBytes(in); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v", in, got, err)
		}
	}
}
