package jobs

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseRate parses a byte rate: "500k", "10M", "1.5G" (powers of 1024),
// or a plain number of bytes per second. "" and "0" mean no limit.
func ParseRate(s string) (int64, error) {
	return ParseBytes(strings.TrimSuffix(strings.TrimSuffix(s, "/s"), "B"))
}

// ParseBytes parses a size: "100", "64k", "10M", "2G", "1T" (powers of
// 1024). "" is 0; NaN, infinities and negative sizes are errors.
func ParseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	mult := float64(1)
	switch strings.ToUpper(s[len(s)-1:]) {
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	case "T":
		mult = 1 << 40
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v >= 0 && v*mult <= 1<<62) { // NaN fails too
		return 0, fmt.Errorf("bad size %q", s)
	}
	return int64(v * mult), nil
}

// FormatBytes writes n bytes for people: "512 B", "1.5 MiB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
