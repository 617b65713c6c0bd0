package ftpcore

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/hostileftp"
)

// TestGreetingFeaturesListLines: Greeting keeps the 220's text, FEAT's
// closing line is no feature, and ListLines returns a listing's lines
// as sent, lines no parser understands included; it sends nothing but
// a listing command.
func TestGreetingFeaturesListLines(t *testing.T) {
	when := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	srv, err := hostileftp.Start(hostileftp.Dir("", hostileftp.File("a b.txt", []byte("x"), when)), &hostileftp.Options{
		Style:    hostileftp.StyleUnix,
		Greeting: "220-Hello\r\n220 there",
		Listing: func(verb, dir, text string) string {
			return text + "what is this\r\n\r\n"
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c, err := Dial(t.Context(), srv.Addr(), &Config{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if g := c.Greeting(); g != "Hello\nthere" {
		t.Errorf("Greeting() = %q", g)
	}
	if _, ok := c.TLSState(); ok {
		t.Error("TLSState of a plain connection says TLS")
	}
	if err := c.Login(t.Context(), "", ""); err != nil {
		t.Fatal(err)
	}
	if c.HasFeature("END") || len(c.Features()) != 4 {
		t.Errorf("features %v, want EPSV, MDTM, REST, SIZE", c.Features())
	}
	lines, err := c.ListLines(t.Context(), "LIST", "/")
	want := []string{"-rw-r--r--    1 ftp      ftp             1 Jan  2  2020 a b.txt", "what is this"}
	if err != nil || !slices.Equal(lines, want) {
		t.Errorf("ListLines = %q, %v; want %q", lines, err, want)
	}
	if _, err := c.ListLines(t.Context(), "RETR", "/a b.txt"); err == nil || srv.Count("RETR") != 0 {
		t.Errorf("ListLines(RETR) = %v, %d RETR sent; want an error and none", err, srv.Count("RETR"))
	}
	if c.Err() != nil {
		t.Errorf("connection broken: %v", c.Err())
	}
	for _, cmd := range srv.Commands() {
		if strings.HasPrefix(cmd, "LIST") && cmd != "LIST" {
			t.Errorf("listing command with an argument: %q", cmd)
		}
	}
}
