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

// Include/Exclude globs: doublestar's syntax with the base-name rule, a
// trailing "/**" that leaves the directory itself out, and backslashes
// taken literally.
func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, rel string
		want         bool
	}{
		{"*.iso", "a.iso", true},
		{"*.iso", "x/y/a.iso", true}, // no '/': base name at any depth
		{"/*.iso", "x/a.iso", false}, // rooted
		{"/*.iso", "a.iso", true},
		{"a/*.txt", "a/b/x.txt", false}, // '*' stops at '/'
		{"a/?.txt", "a/x.txt", true},
		{"[abc].log", "b.log", true},
		{"[!a].log", "a.log", false},
		{"{x,y}.txt", "y.txt", true},
		{"**", "a/b/c", true},
		{"**/x.txt", "x.txt", true},
		{"**/x.txt", "a/b/x.txt", true},
		{"a/**/x.txt", "a/x.txt", true},
		{"a/**/x.txt", "a/b/c/x.txt", true},
		{"a/**/x.txt", "b/a/x.txt", false},
		{"a/**", "a/b", true},
		{"a/**", "a/b/c.txt", true},
		{"a/**", "a", false}, // the directory itself is not below it
		{"a/**", "ab/c", false},
		{"/a/**/c/*.txt", "a/b/c/x.txt", true},
		{`back\slash`, `back\slash`, true}, // a backslash is a character
		{`\*`, `\x`, true},
	} {
		g, err := compileGlob(tc.pattern)
		if err != nil {
			t.Fatalf("%q: %v", tc.pattern, err)
		}
		if got := g.match(tc.rel); got != tc.want {
			t.Errorf("%q matches %q: %v, want %v", tc.pattern, tc.rel, got, tc.want)
		}
	}
	for _, bad := range []string{"", "/", "[x", "x[", "[]a]", "{a,b"} {
		if _, err := compileGlob(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
