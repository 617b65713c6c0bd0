package mirror

import (
	"strings"
	"testing"
)

// POSIX targets take every byte but '/' and NUL; Windows targets keep
// the strict rules.
func TestCheckNameFor(t *testing.T) {
	tests := []struct {
		name           string
		posix, windows bool // accepted
	}{
		{"plain.txt", true, true},
		{`back\slash.txt`, true, false},
		{"tab\there.txt", true, false},
		{"esc\x1b[31m", true, false},
		{"cr\rlf\n", true, false},
		{"del\x7f", true, false},
		{"caf\xe9", true, true},
		{"a:b", true, false},
		{"what?", true, false},
		{"trail.", true, false},
		{"trail ", true, false},
		{"CON", true, false},
		{"nul.txt", true, false},
		{"com1", true, false},
		{"console", true, true},
		{"a/b", false, false},
		{"nul\x00", false, false},
		{"", false, false},
		{".", false, false},
		{"..", false, false},
		{strings.Repeat("n", 256), false, false},
		{strings.Repeat("n", 255), true, true},
		{".ftpmirror-0123456789abcdef.part", false, false},
	}
	for _, tt := range tests {
		if got := checkNameFor(false, tt.name) == nil; got != tt.posix {
			t.Errorf("POSIX: checkNameFor(%q) accepts: %v, want %v", tt.name, got, tt.posix)
		}
		if got := checkNameFor(true, tt.name) == nil; got != tt.windows {
			t.Errorf("Windows: checkNameFor(%q) accepts: %v, want %v", tt.name, got, tt.windows)
		}
	}
}

func TestQuotePath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a/b c.txt", "a/b c.txt"},
		{"été", "été"},
		{"tab\there", `"tab\there"`},
		{"esc\x1b[31m", `"esc\x1b[31m"`},
		{`back\slash`, `"back\\slash"`},
		{`quote"d`, `"quote\"d"`},
		{"caf\xe9", `"caf\xe9"`},
		{" lead", `" lead"`},
		{"c1\u009b", `"c1\u009b"`},
		{"", `""`},
	}
	for _, tt := range tests {
		if got := QuotePath(tt.in); got != tt.want {
			t.Errorf("QuotePath(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	for _, tt := range []struct{ in, want string }{
		{`in "x": said 550 été`, `in "x": said 550 été`},
		{"said \x1b[2J", `said \x1b[2J`},
		{"bad \xff byte, tab\t", `bad \xff byte, tab\t`},
		{"c1 \u009b", `c1 \u009b`},
	} {
		if got := escapeText(tt.in); got != tt.want {
			t.Errorf("escapeText(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	a := Action{Verb: VerbFetch, Path: "tab\there", Reason: "new \x1b"}
	if got, want := a.String(), `fetch  "tab\there" (new \x1b)`; got != want {
		t.Errorf("Action.String() = %s, want %s", got, want)
	}
}
