// Package promtest reads samples out of Prometheus text exposition, for
// the tests of /metrics (internal/daemon, cmd/ftpmirror).
package promtest

import (
	"strconv"
	"strings"
)

// Value finds a sample in Prometheus text format: name with the given
// label pairs (in the order the exposition sorts them: by name).
func Value(text, name string, labels ...string) (float64, bool) {
	var b strings.Builder
	b.WriteString(name)
	if len(labels) > 0 {
		b.WriteString("{")
		for i := 0; i < len(labels); i += 2 {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(labels[i] + `="` + labels[i+1] + `"`)
		}
		b.WriteString("}")
	}
	prefix := b.String() + " "
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}
