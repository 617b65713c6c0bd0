package mirror

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A remote name may hold any byte but '/' and NUL: tabs, escape
// sequences, bytes that are not UTF-8. Whatever this package writes
// about a path (Summary.Errors, Action.String, log attributes) goes
// through QuotePath or escapeText, so that such bytes never reach a
// terminal or a log unescaped. log/slog quotes attribute values itself.

// QuotePath returns p as it is when every byte of it shows as itself
// (printable UTF-8, no backslash or double quote, no space at either
// end), and quoted like strconv.Quote otherwise: "tab\there.txt".
func QuotePath(p string) string {
	if p == "" || p[0] == ' ' || p[len(p)-1] == ' ' || strings.ContainsAny(p, `"\`) {
		return strconv.Quote(p)
	}
	for _, r := range p {
		if r == utf8.RuneError || !strconv.IsPrint(r) && r != ' ' {
			return strconv.Quote(p)
		}
	}
	return p
}

// escapeText returns s with control bytes, and bytes that are not
// UTF-8, written as Go escapes (\t, \x1b), for messages that hold a
// server's words or a quoted name already: readable text stays as it is.
func escapeText(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[:n])
		}
		s = s[n:]
	}
	return b.String()
}

// String formats a as one line of a plan: the verb, the path (quoted
// when it needs to be) and the reason.
func (a Action) String() string {
	if a.Reason != "" {
		return fmt.Sprintf("%-6s %s (%s)", a.Verb, QuotePath(a.Path), escapeText(a.Reason))
	}
	return fmt.Sprintf("%-6s %s", a.Verb, QuotePath(a.Path))
}
