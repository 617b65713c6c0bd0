package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/hostileftp"
)

// ls quotes names with control bytes, and a listing with a line no
// parser understands shows its other entries, then fails quoting it.
func TestLsQuotesNames(t *testing.T) {
	t0 := time.Date(2024, 3, 10, 12, 30, 0, 0, time.UTC)
	root := hostileftp.Dir("", hostileftp.File("esc\x1b[31mred", []byte("x"), t0), hostileftp.File("plain.txt", []byte("y"), t0))
	srv, err := hostileftp.Start(root, &hostileftp.Options{Listing: func(verb, dir, text string) string {
		return text + "?? \x1b]0;title\x07 ??\r\n"
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	code, out, errOut := runCLI(t, "ls", "ftp://"+srv.Addr()+"/")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(out, ` "esc\x1b[31mred"`) || !strings.Contains(out, " plain.txt") {
		t.Errorf("stdout:\n%s", out)
	}
	if !strings.Contains(errOut, `"?? \x1b]0;title\a ??"`) {
		t.Errorf("stderr:\n%s", errOut)
	}
	if strings.ContainsAny(out+errOut, "\x1b\x07") {
		t.Errorf("control bytes in the output:\n%q\n%q", out, errOut)
	}
}
