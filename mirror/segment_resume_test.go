package mirror_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/ftpservers"
	"github.com/ftpmirror/ftpmirror/internal/treetest"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// TestRealServersSegmentResume: a download in segments that is
// interrupted records how far each segment got; the next run fetches
// only the holes, each from its own REST offset (seen in the server's
// log), and the file comes out byte-identical.
func TestRealServersSegmentResume(t *testing.T) {
	for _, name := range ftpservers.Names() {
		t.Run(name, func(t *testing.T) {
			e, srv := newReal(t, name, false)
			big := make([]byte, 40<<20)
			for i := range big {
				big[i] = byte(i*29 ^ i>>10)
			}
			if err := os.WriteFile(filepath.Join(e.src, "image.iso"), big, 0o644); err != nil {
				t.Fatal(err)
			}
			o := e.opts()
			o.Parallel, o.Segments = 4, 4
			o.LimitRate = 16 << 20
			runInterrupted(t, o, 12<<20)
			parts, _ := e.db.Job("test").Partials()
			p := parts["image.iso"]
			var have int64
			for _, sg := range p.Segments {
				have += sg.Done
			}
			if len(p.Segments) != 4 || have == 0 || have >= int64(len(big)) {
				t.Fatalf("partial record %+v: want 4 segments, some done", p)
			}
			seen := len(srv.Commands())

			o = e.opts()
			o.Parallel, o.Segments = 4, 4
			sum := e.run(o)
			if sum.Resumed != 1 || sum.Fetched != 1 || sum.Bytes != int64(len(big))-have {
				t.Errorf("second run: resumed %d, fetched %d, %d bytes; want 1, 1, %d", sum.Resumed, sum.Fetched, sum.Bytes, int64(len(big))-have)
			}
			treetest.Equal(t, e.src, e.target, true)
			if parts, _ := e.db.Job("test").Partials(); len(parts) != 0 {
				t.Errorf("partials left: %v", parts)
			}
			var want []int64
			for _, sg := range p.Segments {
				if off := sg.Start + sg.Done; sg.Done > 0 && off < sg.End {
					want = append(want, off)
				}
			}
			_, args := count(srv, "REST")
			got := map[int64]bool{}
			for _, a := range args[min(len(args), restsBefore(srv, seen)):] {
				if n, err := strconv.ParseInt(a, 10, 64); err == nil {
					got[n] = true
				}
			}
			for _, off := range want {
				if !got[off] {
					t.Errorf("second run sent no REST %d; it sent %v (segments %+v)", off, args, p.Segments)
				}
			}
		})
	}
}

// restsBefore counts the REST commands among the first n logged.
func restsBefore(srv *ftpservers.Server, n int) int {
	cmds := srv.Commands()
	k := 0
	for _, c := range cmds[:min(n, len(cmds))] {
		if len(c) > 5 && c[:5] == "REST " {
			k++
		}
	}
	return k
}

// runInterrupted runs o and cancels it once it has fetched n bytes.
func runInterrupted(t *testing.T, o *mirror.Options, n int64) {
	t.Helper()
	o.Progress = &mirror.Progress{}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		for o.Progress.BytesDone.Load() < n && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	if _, err := mirror.Run(ctx, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
}
