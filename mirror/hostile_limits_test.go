package mirror_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/internal/hostileftp"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// A file is committed only when the bytes that arrived are the bytes
// the listing announced; absurd sizes are never allocated.
func TestHostileSizes(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	cases := []struct {
		name    string
		node    *hostileftp.Node
		content func(p string, offset int64, data []byte) io.Reader
		want    string // error text; "" means the file arrives
	}{
		{name: "more than listed", node: &hostileftp.Node{Name: "f", Data: data("f", 10), ListSize: "5", Time: t0},
			want: "fetch /f: server sent more bytes than the listing announced (5 bytes)"},
		{name: "less than listed", node: &hostileftp.Node{Name: "f", Data: data("f", 10), ListSize: "50", Time: t0},
			want: "fetch /f: short transfer: got 20 of 50 bytes, yet the server confirmed the transfer"},
		{name: "SIZE lies", node: &hostileftp.Node{Name: "f", Data: data("f", 10), SizeReply: "1", Time: t0}},
		{name: "10 TiB", node: &hostileftp.Node{Name: "f", Data: data("f", 10), ListSize: "10995116277760", Time: t0},
			want: "fetch /f: not enough free space: 10995116277760 bytes to fetch"},
		{name: "negative", node: &hostileftp.Node{Name: "f", Data: data("f", 10), ListSize: "-5", Time: t0},
			want: `list /: MLSD /: ftp protocol violation: bad size "-5" in line "type=file;size=-5;`},
		{name: "overflow", node: &hostileftp.Node{Name: "f", Data: data("f", 10), ListSize: "99999999999999999999", Time: t0},
			want: `list /: MLSD /: ftp protocol violation: bad size "99999999999999999999" in line`},
		{name: "endless file", node: &hostileftp.Node{Name: "f", Data: data("f", 10), Time: t0},
			content: func(p string, _ int64, d []byte) io.Reader {
				if p == "/f" {
					return hostileftp.Endless('x')
				}
				return bytes.NewReader(d)
			},
			want: "fetch /f: server sent more bytes than the listing announced (20 bytes)"},
		{
			// The first attempt is cut at half; the retry asks REST
			// and gets the file from 0: more bytes than announced.
			name: "REST ignored", node: &hostileftp.Node{Name: "f", Data: big, Time: t0},
			content: func() func(string, int64, []byte) io.Reader {
				var n atomic.Int32
				return func(p string, off int64, d []byte) io.Reader {
					if p != "/f" {
						return bytes.NewReader(d)
					}
					if n.Add(1) == 1 {
						return io.MultiReader(bytes.NewReader(d[:len(d)/2]), errReader{})
					}
					return bytes.NewReader(d) // offset ignored
				}
			}(),
			want: "fetch /f: server sent more bytes than the listing announced (1048576 bytes)",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHostile(t, hostileftp.Dir("", tc.node, ok("other")), &hostileftp.Options{Content: tc.content})
			var ms0, ms1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms0)
			o := h.opts()
			o.Retries = 1
			sum, err, _ := h.run(o, 10*time.Second)
			runtime.ReadMemStats(&ms1)
			if grew := int64(ms1.TotalAlloc - ms0.TotalAlloc); grew > 64<<20 {
				t.Errorf("allocated %d MiB", grew>>20)
			}
			want := map[string]string{"other": string(data("other", 3))}
			switch {
			case tc.want == "":
				if err != nil {
					t.Fatal(err)
				}
				wantCounts(t, sum, 2, 0, mirror.ResultOK)
				want["f"] = string(tc.node.Data)
			case strings.HasPrefix(tc.want, "fetch"):
				if err != nil {
					t.Fatal(err)
				}
				wantCounts(t, sum, 1, 1, mirror.ResultPartial)
				wantErrors(t, sum, tc.want)
			case strings.HasPrefix(tc.want, "list"):
				// The line is refused, its sibling is mirrored.
				if err != nil {
					t.Fatal(err)
				}
				wantCounts(t, sum, 1, 1, mirror.ResultPartial)
				wantErrors(t, sum, tc.want)
			default:
				if err == nil {
					t.Fatalf("no error: %+v", sum)
				}
				wantErrors(t, sum, tc.want)
				want = map[string]string{}
			}
			// No half file under a final name, and no temporary file
			// left: a short transfer keeps its temporary file for a
			// retry to resume, and after the last retry the run's end
			// removes it from the staging directory, since no partial
			// record names it (TestStagingCleanedAtEnd).
			h.wantFilesTemps(want, 0)
		})
	}
}

// slowReader gives one byte every 200ms: no read times out.
type slowReader struct{ d []byte }

func (r *slowReader) Read(p []byte) (int, error) {
	if len(r.d) == 0 {
		return 0, io.EOF
	}
	time.Sleep(200 * time.Millisecond)
	p[0] = r.d[0]
	r.d = r.d[1:]
	return 1, nil
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("cut") }

// Endless replies, listings and files cost bounded memory and end with
// a clear error.
func TestHostileEndless(t *testing.T) {
	line := []byte("type=file;size=1;modify=20240101000000; x\r\n")
	cases := []struct {
		name string
		hook func(s *hostileftp.Session, verb, arg string) bool
		want string
	}{
		{"reply line", func(s *hostileftp.Session, verb, _ string) bool {
			if verb != "FEAT" {
				return false
			}
			s.Raw([]byte("211-"))
			s.Raw(bytes.Repeat([]byte("A"), 4<<20))
			return true
		}, "login as anonymous: FEAT: ftp protocol violation: reply longer than 262144 bytes"},
		{"multi-line reply", func(s *hostileftp.Session, verb, _ string) bool {
			if verb != "FEAT" {
				return false
			}
			s.Raw([]byte("211-Features:\r\n"))
			s.Raw(bytes.Repeat([]byte(" X\r\n"), 1<<20))
			return true
		}, "login as anonymous: FEAT: ftp protocol violation: reply longer than 4096 lines"},
		{"listing", func(s *hostileftp.Session, verb, _ string) bool {
			if verb != "MLSD" {
				return false
			}
			s.Reply("150 here")
			c, err := s.OpenData()
			if err != nil {
				return true
			}
			defer s.CloseData(c)
			for {
				if _, err := c.Write(bytes.Repeat(line, 1000)); err != nil {
					break
				}
			}
			s.Reply("426 aborted")
			return true
		}, "list /: MLSD /: ftp protocol violation: listing longer than 4194304 bytes"},
		{"listing line", func(s *hostileftp.Session, verb, _ string) bool {
			if verb != "MLSD" {
				return false
			}
			s.Reply("150 here")
			c, err := s.OpenData()
			if err != nil {
				return true
			}
			defer s.CloseData(c)
			io.Copy(c, hostileftp.Endless('y'))
			s.Reply("426 aborted")
			return true
		}, "list /: MLSD /: ftp protocol violation: listing line longer than 16384 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHostile(t, hostileftp.Dir("", ok("a")), &hostileftp.Options{Hook: tc.hook})
			h.noPlan = true // the allocation measured is one run's
			o := h.opts()
			o.FTP.MaxListBytes = 4 << 20
			var ms0, ms1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms0)
			sum, err, _ := h.run(o, 10*time.Second)
			runtime.ReadMemStats(&ms1)
			// The server's writes and the client's reads share this
			// process; 4 MiB of listing makes at most about 100k
			// entries.
			if grew := int64(ms1.TotalAlloc - ms0.TotalAlloc); grew > 96<<20 {
				t.Errorf("allocated %d MiB", grew>>20)
			}
			if err == nil {
				t.Fatalf("no error: %+v", sum)
			}
			wantErrors(t, sum, tc.want)
			h.wantFiles(map[string]string{})
		})
	}
}

// A server that trickles, never answers, or never opens or closes a data
// connection ends the run quickly, non-zero: each operation is bounded
// by Timeout, and retries by two timeouts without progress.
func TestHostileSlow(t *testing.T) {
	const timeout = time.Second
	silent := func(verbs ...string) func(s *hostileftp.Session, verb, _ string) bool {
		return func(s *hostileftp.Session, verb, _ string) bool {
			for _, v := range verbs {
				if v == verb {
					s.Wait()
					return true
				}
			}
			return false
		}
	}
	many := hostileftp.Dir("")
	for i := range 40 {
		many.Children = append(many.Children, ok(strings.Repeat("f", i+1)))
	}
	cases := []struct {
		name    string
		opts    hostileftp.Options
		active  bool
		wantErr string
		want    []string
	}{
		{name: "trickle", opts: hostileftp.Options{Rate: 4},
			wantErr: "the server made no progress", want: []string{"list /: MLSD /: MLSD: data connection: transfer too slow"}},
		{name: "trickle file", opts: hostileftp.Options{Content: func(_ string, _ int64, d []byte) io.Reader {
			return &slowReader{d: d}
		}}, wantErr: "the server made no progress", want: []string{"RETR: data connection: transfer too slow"}},
		{name: "silent listing", opts: hostileftp.Options{Hook: silent("MLSD")},
			wantErr: "the server made no progress", want: []string{"list /: MLSD: read tcp"}},
		{name: "silent login", opts: hostileftp.Options{Hook: silent("USER")},
			wantErr: "login as anonymous: USER: read tcp"},
		{name: "silent RETR", opts: hostileftp.Options{Hook: silent("RETR")},
			wantErr: "the server made no progress", want: []string{"fetch /"}},
		{name: "data never closes", opts: hostileftp.Options{HoldData: true},
			wantErr: "the server made no progress", want: []string{"i/o timeout"}},
		{name: "active never connects", active: true, opts: hostileftp.Options{Hook: func(s *hostileftp.Session, verb, _ string) bool {
			if verb != "RETR" {
				return false
			}
			s.Reply("150 will not connect")
			s.Wait()
			return true
		}}, wantErr: "the server made no progress", want: []string{"active: no data connection from 127.0.0.1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHostile(t, many, &tc.opts)
			o := h.opts()
			o.FTP.Timeout = timeout
			o.FTP.Active = tc.active
			o.Parallel = 4
			// Two timeouts without progress, one more for the attempts
			// under way, and slack for -race.
			sum, err, _ := h.run(o, 4*timeout+2*time.Second)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			wantErrors(t, sum, tc.want...)
			if sum.Result != mirror.ResultFailed || sum.Fetched != 0 {
				t.Errorf("summary %+v", sum)
			}
			if strings.HasPrefix(tc.name, "trickle") || tc.name == "data never closes" {
				// Nothing under a final name; stalled transfers keep
				// their temporary files, as above.
				h.wantFilesTemps(map[string]string{}, -1)
			}
		})
	}
}

// "Could not list" is never "empty": a root that lists empty, short, or
// fails after a good run deletes nothing.
func TestHostileGlitches(t *testing.T) {
	full := hostileftp.Dir("")
	for i := range 40 {
		full.Children = append(full.Children, ok(strings.Repeat("g", i+1)))
	}
	full.Children = append(full.Children, hostileftp.Dir("sub", ok("s1"), ok("s2")))
	cases := []struct {
		name    string
		listing func(verb, dir, text string) string
		hook    func(s *hostileftp.Session, verb, arg string) bool
		guard   bool   // the run ends with ErrSafetyGuard
		wantErr string // the run's error or a failure
	}{
		{name: "empty root", listing: func(_, dir, text string) string {
			if dir == "/" {
				return ""
			}
			return text
		}, guard: true, wantErr: "would delete 43 of 43 known paths"},
		{name: "truncated root", listing: func(_, dir, text string) string {
			if dir == "/" {
				return strings.Join(strings.SplitAfter(text, "\n")[:5], "")
			}
			return text
		}, guard: true, wantErr: "would delete 38 of 43 known paths"},
		{name: "550 on the root", hook: func(s *hostileftp.Session, verb, arg string) bool {
			if verb == "MLSD" && s.Dir() == "/" && (arg == "/" || arg == "") {
				s.Reply("550 Permission denied.")
				return true
			}
			return false
		}, wantErr: "list /: MLSD: server said 550 Permission denied."},
		{name: "450 on a directory", hook: func(s *hostileftp.Session, verb, arg string) bool {
			if verb == "MLSD" && (arg == "/sub" || arg == "" && s.Dir() == "/sub") {
				s.Reply("450 Try again later.")
				return true
			}
			return false
		}, wantErr: "list /sub: MLSD: server said 450 Try again later."},
		{name: "421 on every listing", hook: func(s *hostileftp.Session, verb, arg string) bool {
			if verb == "MLSD" {
				s.Reply("421 Service not available, closing control connection.")
				s.Conn().Close()
				return true
			}
			return false
		}, wantErr: "list /: MLSD: server said 421 Service not available"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var broken atomic.Bool
			opts := &hostileftp.Options{}
			if tc.listing != nil {
				opts.Listing = func(verb, dir, text string) string {
					if broken.Load() {
						return tc.listing(verb, dir, text)
					}
					return text
				}
			}
			if tc.hook != nil {
				opts.Hook = func(s *hostileftp.Session, verb, arg string) bool {
					return broken.Load() && tc.hook(s, verb, arg)
				}
			}
			h := newHostile(t, full, opts)
			sum, err, _ := h.run(nil, 10*time.Second)
			if err != nil || sum.Fetched != 42 {
				t.Fatalf("clean run: %v %+v", err, sum)
			}
			before := h.files()
			broken.Store(true)
			o := h.opts()
			o.Delete = true
			o.Retries = 1
			sum, err, _ = h.run(o, 10*time.Second)
			if tc.guard != errors.Is(err, mirror.ErrSafetyGuard) {
				t.Errorf("err = %v, guard %v", err, tc.guard)
			}
			if sum.Deleted != 0 || sum.Result == mirror.ResultOK {
				t.Errorf("summary %+v", sum)
			}
			wantErrors(t, sum, tc.wantErr)
			h.wantFiles(before)
		})
	}
}

// A 421 in the middle of a run costs a reconnection, not the run.
func TestHostile421MidRun(t *testing.T) {
	root := hostileftp.Dir("")
	for i := range 20 {
		root.Children = append(root.Children, ok(strings.Repeat("r", i+1)))
	}
	var retrs atomic.Int32
	h := newHostile(t, root, &hostileftp.Options{Hook: func(s *hostileftp.Session, verb, _ string) bool {
		if verb == "RETR" && retrs.Add(1)%7 == 3 {
			s.Reply("421 Timeout.")
			s.Conn().Close()
			return true
		}
		return false
	}})
	sum, err, _ := h.run(nil, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, sum, 20, 0, mirror.ResultOK)
	if h.srv.Count("USER") < 2 {
		t.Errorf("no reconnection: %d logins", h.srv.Count("USER"))
	}
}

// With TLS required, a refused AUTH TLS or replies injected after 234
// end the connection before USER and PASS.
func TestHostileTLSDowngrade(t *testing.T) {
	cases := []struct {
		name string
		auth func(s *hostileftp.Session)
		want string
	}{
		{"refused", func(s *hostileftp.Session) { s.Reply("502 AUTH not understood") },
			"server refused TLS, not sending credentials: AUTH: server said 502 AUTH not understood"},
		{"injected after 234", func(s *hostileftp.Session) { s.Raw([]byte("234 Go ahead\r\n230 Logged in (injected)\r\n")) },
			"bytes after 234 before the TLS handshake"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHostile(t, hostileftp.Dir("", ok("a")), &hostileftp.Options{Hook: func(s *hostileftp.Session, verb, _ string) bool {
				if verb == "AUTH" {
					tc.auth(s)
					return true
				}
				return false
			}})
			o := h.opts()
			o.FTP.TLS = ftpcore.TLSExplicit
			o.User, o.Password = "me", "secret"
			_, err, _ := h.run(o, 5*time.Second)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			for _, c := range h.srv.Commands() {
				if !strings.HasPrefix(c, "AUTH") {
					t.Errorf("server got %q after AUTH", c)
				}
			}
			h.wantFiles(map[string]string{})
		})
	}
}

// Control bytes in a path are refused before they reach the wire: a
// root with CR LF cannot smuggle a second command.
func TestHostileCommandInjection(t *testing.T) {
	h := newHostile(t, hostileftp.Dir("", ok("a")), nil)
	o := h.opts()
	o.Root = "/a\r\nDELE a"
	sum, err, _ := h.run(o, 5*time.Second)
	if err == nil {
		t.Fatalf("no error: %+v", sum)
	}
	wantErrors(t, sum, `CWD: refusing to send an argument holding CR, LF or NUL: "CWD /a\r\nDELE a"`)
	for _, c := range h.srv.Commands() {
		if strings.HasPrefix(c, "DELE") {
			t.Errorf("server got %q", c)
		}
	}
}

// Times that do not parse, or are absurd, are unknown or kept as they
// are: the file is mirrored and compared by size afterwards.
func TestHostileTimes(t *testing.T) {
	facts := map[string]string{
		"garbage":   "type=file;size=6;modify=garbage;",
		"month 13":  "type=file;size=6;modify=20241301000000;",
		"year 1":    "type=file;size=6;modify=00010101000000;",
		"year 9999": "type=file;size=6;modify=99991231235959;",
		"none":      "type=file;size=6;",
	}
	root := hostileftp.Dir("")
	for name, f := range facts {
		root.Children = append(root.Children, &hostileftp.Node{Name: name, Data: []byte("abcdef"), Facts: f})
	}
	h := newHostile(t, root, &hostileftp.Options{Hook: func(s *hostileftp.Session, verb, _ string) bool {
		if verb == "MDTM" {
			s.Reply("213 19100101000000") // the old "19" + tm_year bug
			return true
		}
		return false
	}})
	sum, err, _ := h.run(nil, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, sum, 5, 0, mirror.ResultOK)
	want := map[string]string{}
	for name := range facts {
		want[name] = "abcdef"
	}
	h.wantFiles(want)
	// Absurd times are unknown: the file keeps the time it was written.
	for _, name := range []string{"year 1", "year 9999"} {
		fi, err := os.Stat(filepath.Join(h.target, name))
		if err != nil || time.Since(fi.ModTime()) > time.Minute {
			t.Errorf("%s: %v %v", name, fi.ModTime(), err)
		}
	}
	sum, err, _ = h.run(nil, 10*time.Second)
	if err != nil || sum.Fetched != 0 || sum.Unchanged != 5 {
		t.Errorf("second run: %v %+v", err, sum)
	}
}

// DOS and unusual Unix LIST dialects mirror like MLSD does.
func TestHostileDialects(t *testing.T) {
	recent := time.Now().Add(-48 * time.Hour).Truncate(time.Minute).UTC()
	tree := func() *hostileftp.Node {
		return hostileftp.Dir("",
			hostileftp.File("plain.txt", []byte("plain"), recent),
			hostileftp.File("  two leading", []byte("spaces"), recent),
			hostileftp.File("old file", []byte("old"), time.Date(2019, 2, 3, 0, 0, 0, 0, time.UTC)),
			hostileftp.Dir("dir", hostileftp.File("in dir", []byte("in"), recent)),
		)
	}
	odd := map[string]string{
		// ls -l with an ACL marker, no group, numeric ids, and a device.
		"/": "total 12\r\n" +
			"-rw-r--r--+   1 0 3 Feb  3  2019 old file\r\n" +
			"-rw-r--r--    1 ftp  5 " + recent.Format("Jan _2 15:04") + " plain.txt\r\n" +
			"-rw-r--r--    1 0        0      6 " + recent.Format("Jan _2 15:04") + "   two leading\r\n" +
			"crw-rw-rw-    1 0        0   1,   3 Jan  1  2020 null\r\n" +
			"drwxr-xr-x    2 0        0   4096 " + recent.Format("Jan _2 15:04") + " dir\r\n",
	}
	cases := []struct {
		name    string
		opts    hostileftp.Options
		want    map[string]string
		skipped int64
	}{
		{name: "unix", opts: hostileftp.Options{Style: hostileftp.StyleUnix}},
		{name: "dos", opts: hostileftp.Options{Style: hostileftp.StyleDOS}},
		{name: "odd unix", opts: hostileftp.Options{Style: hostileftp.StyleUnix, Listing: func(_, dir, text string) string {
			if o, ok := odd[dir]; ok {
				return o
			}
			return text
		}}, skipped: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHostile(t, tree(), &tc.opts)
			sum, err, _ := h.run(nil, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"plain.txt": "plain", "old file": "old", "dir/": "", "dir/in dir": "in"}
			if tc.name == "dos" {
				// DOS listings pad the size column: leading spaces are lost,
				// and the server has no such file.
				wantCounts(t, sum, 3, 1, mirror.ResultPartial)
				wantErrors(t, sum, "fetch /two leading: RETR: server said 550")
			} else {
				want["  two leading"] = "spaces"
				wantCounts(t, sum, 4, 0, mirror.ResultOK)
			}
			if sum.Skipped != tc.skipped {
				t.Errorf("skipped %d, want %d", sum.Skipped, tc.skipped)
			}
			h.wantFiles(want)
			sum, err, _ = h.run(nil, 10*time.Second)
			if err != nil || sum.Fetched != 0 {
				t.Errorf("second run: %v %+v", err, sum)
			}
		})
	}
}

// A file that becomes a directory, and back, between runs replaces the
// old entry each time.
func TestHostileTypeChange(t *testing.T) {
	asFile := hostileftp.Dir("", hostileftp.File("x", []byte("file x"), t0), ok("keep"))
	asDir := hostileftp.Dir("", hostileftp.Dir("x", hostileftp.File("y", []byte("y in x"), t0), hostileftp.Dir("z", ok("deep"))), ok("keep"))
	h := newHostile(t, asFile, nil)
	steps := []struct {
		tree *hostileftp.Node
		want map[string]string
	}{
		{asFile, map[string]string{"x": "file x"}},
		{asDir, map[string]string{"x/": "", "x/y": "y in x", "x/z/": "", "x/z/deep": string(data("deep", 3))}},
		{asFile, map[string]string{"x": "file x"}},
		{asDir, map[string]string{"x/": "", "x/y": "y in x", "x/z/": "", "x/z/deep": string(data("deep", 3))}},
	}
	for i, st := range steps {
		h.srv.SetTree(st.tree)
		o := h.opts()
		o.Delete = true
		o.MaxDelete = mirror.DeleteLimit{None: true}
		sum, err, _ := h.run(o, 10*time.Second)
		if err != nil || sum.Failed != 0 {
			t.Fatalf("step %d: %v %+v", i, err, sum)
		}
		st.want["keep"] = string(data("keep", 3))
		h.wantFiles(st.want)
	}
}
