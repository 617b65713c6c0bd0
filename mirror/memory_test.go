package mirror_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/internal/hostileftp"
	"github.com/ftpmirror/ftpmirror/mirror"
	"github.com/ftpmirror/ftpmirror/state"
)

// maxEndlessRSS is what a run may cost in peak resident memory when
// every one of its four connections is fed an endless listing (issue
// 13, item 7: it was 415 MiB).
const maxEndlessRSS = 150 << 20

// TestEndlessListingsMemory runs, in a child process of its own (peak
// RSS is per process), a sync with -parallel 4 whose four connections
// are each fed an endless listing of distinct, valid entries, and checks
// the child's peak RSS (VmHWM). The listings are read as far as the
// budget and no further: each directory fails, the run ends.
func TestEndlessListingsMemory(t *testing.T) {
	if style := os.Getenv("FTPMIRROR_ENDLESS_CHILD"); style != "" {
		endlessListingsChild(t, style)
		return
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc/self/status (Linux) to read the peak RSS")
	}
	if testing.Short() {
		t.Skip("reads endless listings on 4 connections")
	}
	if raceEnabled {
		t.Skip("the race detector multiplies memory: run without -race")
	}
	for _, style := range []string{"MLSD", "LIST", "STAT"} {
		t.Run(style, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestEndlessListingsMemory$", "-test.v")
			cmd.Env = append(os.Environ(), "FTPMIRROR_ENDLESS_CHILD="+style, "GOMAXPROCS=2")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			var hwm, listed int64 = -1, -1
			for line := range strings.Lines(string(out)) {
				if v, ok := strings.CutPrefix(strings.TrimSpace(line), "peak-rss-bytes "); ok {
					hwm, _ = strconv.ParseInt(v, 10, 64)
				}
				if v, ok := strings.CutPrefix(strings.TrimSpace(line), "listing-bytes "); ok {
					listed, _ = strconv.ParseInt(v, 10, 64)
				}
			}
			if hwm < 0 {
				t.Fatalf("child printed no peak RSS:\n%s", out)
			}
			t.Logf("%s: peak RSS %d MiB after %d MiB of listings", style, hwm>>20, listed>>20)
			if hwm > maxEndlessRSS {
				t.Errorf("peak RSS %d MiB, want at most %d MiB", hwm>>20, maxEndlessRSS>>20)
			}
		})
	}
}

// endlessListingsChild is the child's side: style is MLSD, LIST (no
// MLSD, LIST over a data connection) or STAT (no MLSD, "STAT -a" lists
// on the control connection).
func endlessListingsChild(t *testing.T, style string) {
	var dirs []*hostileftp.Node
	for i := range 8 {
		dirs = append(dirs, hostileftp.Dir(fmt.Sprintf("d%d", i)))
	}
	opts := &hostileftp.Options{Style: hostileftp.StyleUnix}
	if style == "MLSD" {
		opts.Style = hostileftp.StyleMLSD
	}
	var sent atomic.Int64
	// One line after another, without garbage: the server shares the
	// process whose memory is measured.
	endless := func(w *bufio.Writer) {
		var line []byte
		for i := 0; ; i++ {
			line = line[:0]
			if style == "MLSD" {
				line = append(line, "type=file;size="...)
				line = strconv.AppendInt(line, int64(i), 10)
				line = append(line, ";modify=20240101000000; f"...)
			} else {
				line = append(line, "-rw-r--r-- 1 ftp ftp "...)
				line = strconv.AppendInt(line, int64(i), 10)
				line = append(line, " Jan  2  2024 f"...)
			}
			line = strconv.AppendInt(line, int64(1e9+i), 10)
			line = append(line, "\r\n"...)
			n, err := w.Write(line)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}
	opts.Hook = func(s *hostileftp.Session, verb, arg string) bool {
		if !strings.Contains(arg+" "+s.Dir(), "/d") {
			return false // the root lists normally (listed by CWD into it)
		}
		switch {
		case verb == "STAT" && style == "STAT":
			s.Reply("211-status of %s:", arg)
			s.Reply(" drwxr-xr-x 2 ftp ftp 4096 Jan  2  2024 .")
			endless(bufio.NewWriterSize(s.Conn(), 64<<10))
			return true
		case (verb == "MLSD" || verb == "LIST") && style != "STAT":
			s.Reply("150 here it comes")
			c, err := s.OpenData()
			if err != nil {
				s.Reply("425 %v", err)
				return true
			}
			endless(bufio.NewWriterSize(c, 64<<10))
			s.CloseData(c)
			s.Reply("426 aborted")
			return true
		}
		return false
	}
	if style == "STAT" {
		// The root's STAT listing, with its "." entry.
		prev := opts.Hook
		opts.Hook = func(s *hostileftp.Session, verb, arg string) bool {
			if verb == "STAT" && !strings.Contains(arg+" "+s.Dir(), "/d") {
				s.Reply("211-status of %s:", arg)
				s.Reply(" drwxr-xr-x 2 ftp ftp 4096 Jan  2  2024 .")
				for i := range 8 {
					s.Reply(" drwxr-xr-x 2 ftp ftp 4096 Jan  2  2024 d%d", i)
				}
				s.Reply("211 End of status")
				return true
			}
			return prev(s, verb, arg)
		}
	}
	srv, err := hostileftp.Start(hostileftp.Dir("", dirs...), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	db, err := state.Open(dir+"/state.db", &state.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sum, err := mirror.Run(t.Context(), &mirror.Options{
		Job: "endless", Addr: srv.Addr(), Root: "/", Target: dir + "/target", State: db,
		Parallel: 4, Retries: -1, FTP: ftpcore.Config{Timeout: 20 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failed != 8 {
		t.Errorf("failed %d, want the 8 endless directories: %q", sum.Failed, sum.Errors)
	}
	fmt.Printf("listing-bytes %d\n", sent.Load())
	fmt.Printf("peak-rss-bytes %d\n", peakRSS(t))
}

// peakRSS reads VmHWM from /proc/self/status.
func peakRSS(t *testing.T) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}
