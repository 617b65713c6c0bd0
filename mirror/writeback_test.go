package mirror

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteback: a download's bytes are handed to writeback in chunks as
// they are written, each range once and in order, from the offset the
// download started at; a file smaller than a chunk asks nothing; and the
// bytes land where they belong.
func TestWriteback(t *testing.T) {
	tests := []struct {
		name   string
		off    int64
		size   int
		writes int  // how many writes the size is cut into
		asks   bool // whether any range is started
	}{
		{"small file", 0, 1 << 20, 4, false},
		{"two chunks and a rest", 0, 2*writebackChunk + 5, 7, true},
		{"resumed at an offset", 3 << 20, writebackChunk, 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got [][2]int64
			old := startWriteback
			startWriteback = func(_ *os.File, off, n int64) { got = append(got, [2]int64{off, n}) }
			t.Cleanup(func() { startWriteback = old })
			f, err := os.Create(filepath.Join(t.TempDir(), "f"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			data := bytes.Repeat([]byte("0123456789abcdef"), tc.size/16+1)[:tc.size]
			wb := newWriteback(f, io.NewOffsetWriter(f, tc.off), tc.off)
			step := (tc.size + tc.writes - 1) / tc.writes
			for i := 0; i < tc.size; i += step {
				if _, err := wb.Write(data[i:min(i+step, tc.size)]); err != nil {
					t.Fatal(err)
				}
			}
			// The ranges follow each other from the start offset, none
			// empty, each at least a chunk, and cover all but a rest
			// smaller than a chunk.
			next := tc.off
			for _, r := range got {
				if r[0] != next || r[1] < writebackChunk {
					t.Fatalf("ranges %v: want consecutive chunks from %d", got, tc.off)
				}
				next += r[1]
			}
			if rest := tc.off + int64(tc.size) - next; rest < 0 || rest >= writebackChunk {
				t.Fatalf("ranges %v leave %d bytes of %d unstarted", got, rest, tc.size)
			}
			if tc.asks != (got != nil) {
				t.Fatalf("ranges %v, want some: %v", got, tc.asks)
			}
			back := make([]byte, tc.size)
			if _, err := f.ReadAt(back, tc.off); err != nil || !bytes.Equal(back, data) {
				t.Fatalf("the file does not hold what was written: %v", err)
			}
		})
	}
}
