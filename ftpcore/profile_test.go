package ftpcore

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/hostileftp"
)

// TestStartFromProfile: a connection seeded with what an earlier one
// learned (Config.Listing, DisableEPSV) sends none of the commands known
// to fail, and one whose seed the server contradicts falls back and says
// what works now. The server lists with LIST only (STAT is refused; with
// noListA, "LIST -a" too; with noList, LIST too) and refuses EPSV.
func TestStartFromProfile(t *testing.T) {
	when := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name            string
		cfg             Config
		noListA, noList bool
		want            []string // listing and data commands sent, in order
		listing         string   // Conn.Listing after
		epsvRefused     bool
		nat             bool // PASV names 10.9.8.7
	}{
		{"unknown", Config{}, false, false, []string{"STAT -a .", "EPSV", "PASV", "LIST -a"}, "LIST -a", true, false},
		{"known LIST -a, EPSV refused", Config{Listing: "LIST -a", DisableEPSV: true}, false, false, []string{"PASV", "LIST -a"}, "LIST -a", false, false},
		{"known LIST", Config{Listing: "LIST", DisableEPSV: true}, true, false, []string{"PASV", "LIST"}, "LIST", false, false},
		{"known NLST", Config{Listing: "NLST", DisableEPSV: true}, true, true, []string{"PASV", "NLST"}, "NLST", false, false},
		// Stored STAT, but STAT no longer lists: relearned.
		{"known STAT, contradicted", Config{Listing: "STAT"}, false, false, []string{"STAT -a .", "EPSV", "PASV", "LIST -a"}, "LIST -a", true, false},
		// Stored LIST -a, but the server now takes "-a" as a name.
		{"known LIST -a, contradicted", Config{Listing: "LIST -a", DisableEPSV: true}, true, false, []string{"PASV", "LIST -a", "PASV", "LIST"}, "LIST", false, false},
		{"PASV behind NAT", Config{Listing: "LIST -a", DisableEPSV: true}, false, false, []string{"PASV", "LIST -a"}, "LIST -a", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := hostileftp.Start(hostileftp.Dir("", hostileftp.File("a.txt", []byte("x"), when)), &hostileftp.Options{
				Style: hostileftp.StyleUnix,
				Hook: func(s *hostileftp.Session, verb, arg string) bool {
					switch {
					case verb == "EPSV":
						s.Reply("500 EPSV not understood")
					case verb == "PASV" && tc.nat:
						port, err := s.ListenPassive()
						if err != nil {
							s.Reply("425 %v", err)
							break
						}
						s.Reply("227 Entering Passive Mode (10,9,8,7,%d,%d)", port>>8, port&0xff)
					case verb == "LIST" && tc.noList:
						s.Reply("502 LIST not implemented")
					case verb == "LIST" && tc.noListA && strings.HasPrefix(arg, "-a"):
						s.Reply("550 -a: no such file")
					default:
						return false
					}
					return true
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Close() })
			cfg := tc.cfg
			cfg.Timeout = 10 * time.Second
			c, err := Dial(t.Context(), srv.Addr(), &cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Login(t.Context(), "", ""); err != nil {
				t.Fatal(err)
			}
			entries, err := c.List(t.Context(), "/")
			if err != nil || len(entries) != 1 || entries[0].Name != "a.txt" {
				t.Fatalf("List = %v, %v", entries, err)
			}
			var got []string
			for _, cmd := range srv.Commands() {
				verb, _, _ := strings.Cut(cmd, " ")
				switch verb {
				case "STAT", "EPSV", "PASV", "NLST":
					got = append(got, cmd)
				case "LIST":
					got = append(got, strings.TrimSuffix(cmd, " "))
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("sent %q, want %q", got, tc.want)
			}
			if l := c.Listing(); l != tc.listing {
				t.Errorf("Listing() = %q, want %q", l, tc.listing)
			}
			if refused, _ := c.EPSV(); refused != tc.epsvRefused {
				t.Errorf("EPSV refused = %v, want %v", refused, tc.epsvRefused)
			}
			if c.PASVElsewhere() != tc.nat {
				t.Errorf("PASVElsewhere() = %v, want %v", c.PASVElsewhere(), tc.nat)
			}
		})
	}
}

// TestAssumedSTAT: a connection told that STAT lists (Config.Listing
// "STAT") lists several directories in one write from its first
// listing. Where STAT then gives no listing, LIST decides: entries mean
// STAT stopped listing (LIST from then on); an empty LIST proves nothing
// and the directory counts as not listed, never as empty.
func TestAssumedSTAT(t *testing.T) {
	dirLine := "drwxr-xr-x 2 ftp ftp 4096 Jan 02  2024 .\r\n"
	fileLine := "-rw-r--r-- 1 ftp ftp 3 Jan 02  2024 a\r\n"
	tests := []struct {
		name     string
		statList bool // STAT lists
		listText string
		writes   int // writes up to the end of the STAT replies' round trip
		wantErr  error
		listing  string
	}{
		{"STAT lists: one write for both", true, "", 1, nil, "STAT"},
		{"STAT stopped listing, LIST lists", false, fileLine, 0, nil, "LIST -a"},
		{"STAT stopped listing, LIST empty", false, "", 0, ErrNotListed, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := listHandlers(t, tc.listText)
			h["CWD"] = func(s *fakeSession, arg string) { s.reply("250 ok\r\n") }
			h["STAT"] = func(s *fakeSession, arg string) {
				if !tc.statList {
					s.reply("211 FTP server status: all fine\r\n")
					return
				}
				s.reply("213-Status follows:\r\n" + dirLine + fileLine + "213 End of status\r\n")
			}
			f := newFakeServer(t, h)
			c := dialFake(t, f, &Config{Listing: "STAT", Timeout: 10 * time.Second})
			if err := c.Login(t.Context(), "", ""); err != nil {
				t.Fatal(err)
			}
			before := len(f.gotWrites())
			lists, errs := c.ListMany(t.Context(), []string{"/d1", "/d2"})
			for i := range lists {
				switch {
				case tc.wantErr != nil && !errors.Is(errs[i], tc.wantErr):
					t.Errorf("dir %d: %v, %v; want %v", i, lists[i], errs[i], tc.wantErr)
				case tc.wantErr == nil && (errs[i] != nil || len(lists[i]) != 1):
					t.Errorf("dir %d: %v, %v; want the one file", i, lists[i], errs[i])
				}
			}
			if tc.writes > 0 {
				if n := len(f.gotWrites()) - before; n != tc.writes {
					t.Errorf("%d writes, want %d: %q", n, tc.writes, f.gotWrites()[before:])
				}
			}
			if got := c.Listing(); got != tc.listing {
				t.Errorf("Listing() = %q, want %q", got, tc.listing)
			}
		})
	}
}

// TestPipelineFirst: a connection told that the server answers pipelined
// transfers in order (Config.PipelineFirst) sends its first listing's
// commands in one write; without, one at a time. Either way a pipelined
// transfer answered in order is reported (PipelinedInOrder), for the
// next connections.
func TestPipelineFirst(t *testing.T) {
	for _, first := range []bool{false, true} {
		t.Run(fmt.Sprintf("PipelineFirst=%v", first), func(t *testing.T) {
			h := listHandlers(t, "-rw-r--r-- 1 ftp ftp 3 Jan 02  2024 a\r\n")
			h["CWD"] = func(s *fakeSession, _ string) { s.reply("250 ok\r\n") }
			f := newFakeServer(t, h)
			c := dialFake(t, f, &Config{Listing: "LIST", PipelineFirst: first, Timeout: 10 * time.Second})
			if err := c.Login(t.Context(), "", ""); err != nil {
				t.Fatal(err)
			}
			before := len(f.gotWrites())
			for i := range 2 {
				if entries, err := c.List(t.Context(), "/d"); err != nil || len(entries) != 1 {
					t.Fatalf("List %d = %v, %v", i, entries, err)
				}
				if i == 0 {
					w := f.gotWrites()[before:]
					if want := map[bool]int{false: 3, true: 1}[first]; len(w) != want {
						t.Errorf("first listing in %d writes %q, want %d", len(w), w, want)
					}
				}
			}
			if !c.PipelinedInOrder() {
				t.Error("PipelinedInOrder false after a pipelined listing")
			}
		})
	}
}
