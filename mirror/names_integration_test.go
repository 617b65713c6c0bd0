package mirror_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/ftpmirror/ftpmirror/internal/ftpservers"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// oddNames are legal POSIX names that lftp, rclone and wget mirror
// (issue 13): a backslash, a tab, an escape sequence, other control
// bytes.
var oddNames = []string{`back\slash.txt`, "tab\there.txt", "esc\x1b[1mbold.txt", "ctl\x01\x02.txt", "bell\a", "del\x7f"}

// TestRealServersOddNames mirrors names with backslashes and control
// bytes from the real servers, byte for byte, with their contents. The
// servers decide what they serve: vsftpd and proftpd serve them all;
// pure-ftpd 1.0.50 leaves names with control bytes out of its listings
// (testdata/listings/README.md in ftpcore) and refuses RETR of a name
// with a backslash ("553 Prohibited file name"), which is a failure of
// that file, quoted.
func TestRealServersOddNames(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX name rules")
	}
	for _, name := range ftpservers.Names() {
		t.Run(name, func(t *testing.T) {
			e, _ := newReal(t, name, false)
			for i, n := range oddNames {
				if err := os.WriteFile(filepath.Join(e.src, n), []byte(n+" content"), 0o644); err != nil {
					t.Fatal(err)
				}
				sub := filepath.Join(e.src, "dir\\"+strconv.Itoa(i))
				if err := os.MkdirAll(sub, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(sub, n), []byte("in dir"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			sum, err := mirror.Run(t.Context(), e.opts())
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case name == "pure-ftpd":
				wantErrors(t, sum, `fetch "/back\\slash.txt": RETR: server said 553`, `fetch "/dir\\0/back\\slash.txt": RETR: server said 553`)
				if sum.Failed != 2 {
					t.Errorf("failed %d: %q", sum.Failed, sum.Errors)
				}
			case sum.Failed != 0:
				t.Fatalf("failed %d: %q", sum.Failed, sum.Errors)
			}
			wantClean(t, "errors", sum.Errors)
			for i, n := range oddNames {
				if name == "pure-ftpd" {
					continue
				}
				for _, p := range []string{n, filepath.Join("dir\\"+strconv.Itoa(i), n)} {
					got, err := os.ReadFile(filepath.Join(e.target, p))
					want, _ := os.ReadFile(filepath.Join(e.src, p))
					if err != nil || string(got) != string(want) {
						t.Errorf("%q: %q, %v; want %q", p, got, err, want)
					}
				}
			}
			// Nothing is fetched twice.
			if sum, err := mirror.Run(t.Context(), e.opts()); err != nil || sum.Fetched != 0 || sum.Unchanged < int64(2*len(oddNames)) && name != "pure-ftpd" {
				t.Errorf("second run: %+v", sum)
			}
		})
	}
}
