package mirror_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ftpmirror/ftpmirror/internal/treetest"
)

// A large file that is the last thing left is fetched in segments over
// several connections, each from its own REST offset, and comes out
// byte-identical with the remote time.
func TestSegmentedDownload(t *testing.T) {
	for _, name := range []string{"vsftpd", "proftpd"} {
		t.Run(name, func(t *testing.T) {
			e, srv := newReal(t, name, false)
			big := make([]byte, 40<<20)
			for i := range big {
				big[i] = byte(i*13 ^ i>>11)
			}
			if err := os.WriteFile(filepath.Join(e.src, "image.iso"), big, 0o644); err != nil {
				t.Fatal(err)
			}
			o := e.opts()
			o.Parallel, o.Segments = 4, 4
			sum := e.run(o)
			if sum.Fetched != 1 || sum.Bytes != int64(len(big)) {
				t.Fatalf("fetched %d files, %d bytes", sum.Fetched, sum.Bytes)
			}
			treetest.Equal(t, e.src, e.target, true)
			_, args := count(srv, "REST")
			seen := map[int64]bool{}
			for _, a := range args {
				if n, err := strconv.ParseInt(a, 10, 64); err == nil {
					seen[n] = true
				}
			}
			for _, off := range []int64{10 << 20, 20 << 20, 30 << 20} {
				if !seen[off] {
					t.Errorf("no REST %d; REST commands: %v", off, args)
				}
			}
			if sum := e.run(e.opts()); sum.Fetched != 0 || sum.Unchanged != 1 {
				t.Errorf("second run: %+v", sum)
			}
			if left, _ := filepath.Glob(filepath.Join(e.target, ".ftpmirror*")); len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}
