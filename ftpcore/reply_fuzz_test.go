package ftpcore

import (
	"bufio"
	"bytes"
	"net/textproto"
	"strings"
	"testing"
)

// FuzzReadReply feeds arbitrary server bytes through the reply budget
// to textproto's reader, as the control connection does: no panic, and
// never more than the budget read for one reply.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{
		"220 ready\r\n", "211-Features:\r\n SIZE\r\n211 End\r\n", "211-a\r\n211-b\r\n211 c\r\n",
		"230\r\n", "2\r\n", "999 x\r\n", "123-no end\r\n", "200 \xff\xfb\x01 iac\r\n", "\r\n\r\n",
		"150-x\n 226 not the end\n150 end\n", strings.Repeat("211-x\r\n", 50),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// readAhead: the bytes of a reply that the buffer read while
		// the reply before it was read, and counted against that one's
		// budget (the input "150 \n150 " then 509 bytes of text has a
		// second reply of 513).
		const maxBytes, maxLines, readAhead = 512, 8, 16
		src := bytes.NewReader(data)
		b := &budgetReader{r: src, maxBytes: maxBytes, maxLines: maxLines}
		r := textproto.NewReader(bufio.NewReaderSize(b, readAhead))
		for range 4 {
			b.reset()
			code, msg, err := r.ReadResponse(0)
			if b.bytes > maxBytes {
				t.Fatalf("read %d bytes for one reply, budget %d", b.bytes, maxBytes)
			}
			if err != nil {
				return
			}
			if code < 100 || code > 999 {
				t.Fatalf("code %d accepted", code)
			}
			if len(msg) > maxBytes+readAhead {
				t.Fatalf("message of %d bytes", len(msg))
			}
		}
	})
}

// FuzzReadLine: a listing line is bounded and never holds LF; CR LF
// endings are gone.
func FuzzReadLine(f *testing.F) {
	for _, s := range []string{"a\r\nb\n", "no end", "\r\n", strings.Repeat("x", 70000) + "\n", "a\rb\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), 64)
		for {
			line, err := readLine(br)
			if err != nil {
				return
			}
			if len(line) > maxListLine+1 || strings.Contains(line, "\n") {
				t.Fatalf("line %q", line)
			}
		}
	})
}
