package mirror_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/internal/ftpservers"
	"github.com/ftpmirror/ftpmirror/internal/hostileftp"
	"github.com/ftpmirror/ftpmirror/mirror"
	"github.com/ftpmirror/ftpmirror/state"
)

// The tests in this file run mirror.Run against internal/hostileftp, a
// server that misbehaves on demand (issue 7). Each one asserts what was
// written, the error text, the Summary, that nothing changed outside the
// target, and where it matters how long the run took.

var t0 = time.Date(2024, 3, 10, 12, 30, 0, 0, time.UTC)

// hostile is one test's server, target and surroundings:
//
//	dir/target     the mirror, with a planted symlink "planted" -> ../sentinel
//	dir/sentinel   must stay exactly as it was
//	dir/state.db
type hostile struct {
	t        *testing.T
	srv      *hostileftp.Server
	dir      string
	target   string
	sentinel string
	db       *state.DB
	before   string // snapshot of everything outside the target
	temps    int    // temporary files seen by the last files()
	noPlan   bool   // run without a dry run first (see dryrun_test.go)
}

func newHostile(t *testing.T, root *hostileftp.Node, opts *hostileftp.Options) *hostile {
	t.Helper()
	srv, err := hostileftp.Start(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	dir := t.TempDir()
	h := &hostile{t: t, srv: srv, dir: dir, target: filepath.Join(dir, "target"), sentinel: filepath.Join(dir, "sentinel")}
	for _, d := range []string{h.target, h.sentinel} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(h.sentinel, "x"), []byte("sentinel"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../sentinel", filepath.Join(h.target, "planted")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../sentinel/x", filepath.Join(h.target, "plantedfile")); err != nil {
		t.Fatal(err)
	}
	db, err := state.Open(filepath.Join(dir, "state.db"), &state.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h.db = db
	h.before = h.outside()
	t.Cleanup(h.checkOutside)
	return h
}

// outside describes every path outside the target, with contents and
// modes, and the planted links.
func (h *hostile) outside() string {
	var b strings.Builder
	filepath.WalkDir(filepath.Dir(h.dir), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if p == h.target {
			return filepath.SkipDir
		}
		if strings.HasPrefix(filepath.Base(p), "state.db") {
			return nil
		}
		fi, _ := d.Info()
		fmt.Fprintf(&b, "%s %v", p, d.Type())
		if fi != nil && d.Type().IsRegular() {
			data, _ := os.ReadFile(p)
			fmt.Fprintf(&b, " %v %q %d", fi.Mode(), data, fi.ModTime().UnixNano())
		}
		b.WriteByte('\n')
		return nil
	})
	for _, l := range []string{"planted", "plantedfile"} {
		target, err := os.Readlink(filepath.Join(h.target, l))
		fmt.Fprintf(&b, "link %s -> %s %v\n", l, target, err)
	}
	return b.String()
}

func (h *hostile) checkOutside() {
	if after := h.outside(); after != h.before {
		h.t.Errorf("something changed outside the target:\nbefore:\n%s\nafter:\n%s", h.before, after)
	}
}

func (h *hostile) opts() *mirror.Options {
	return &mirror.Options{
		Job: "hostile", Addr: h.srv.Addr(), Root: "/", Target: h.target, State: h.db,
		Parallel: 2, FTP: ftpcore.Config{Timeout: 2 * time.Second},
		Retries: 3, MaxDelete: defaultMaxDelete,
	}
}

// run runs one sync with o (h.opts() if nil), bounded to limit.
func (h *hostile) run(o *mirror.Options, limit time.Duration) (*mirror.Summary, error, time.Duration) {
	h.t.Helper()
	if o == nil {
		o = h.opts()
	}
	ctx, cancel := context.WithTimeout(h.t.Context(), limit+5*time.Second)
	defer cancel()
	var p *planned
	if !h.noPlan {
		p = dryRunFirst(h.t, ctx, o, h.dir)
	}
	start := time.Now()
	var sum *mirror.Summary
	var err error
	if p != nil {
		sum, err = p.runReal(ctx, o)
	} else {
		sum, err = mirror.Run(ctx, o)
	}
	d := time.Since(start)
	if d > limit {
		h.t.Errorf("run took %v, want at most %v", d.Round(time.Millisecond), limit)
	}
	if sum == nil {
		h.t.Fatalf("no summary; err = %v", err)
	}
	return sum, err, d
}

// files returns the target's entries (files with contents, dirs with a
// trailing slash, links with their target), without the planted links.
func (h *hostile) files() map[string]string {
	out := map[string]string{}
	h.temps = 0
	filepath.WalkDir(h.target, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == h.target {
			return nil
		}
		rel, _ := filepath.Rel(h.target, p)
		switch {
		case rel == "planted" || rel == "plantedfile":
		case rel == ".ftpmirror":
			// The staging directory: the temporary files are there,
			// and nowhere else.
			parts, _ := filepath.Glob(filepath.Join(p, "*.part"))
			h.temps = len(parts)
			return filepath.SkipDir
		case d.Type()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			out[rel] = "-> " + l
		case d.IsDir():
			out[rel+"/"] = ""
		default:
			data, _ := os.ReadFile(p)
			out[rel] = string(data)
		}
		return nil
	})
	return out
}

// wantFiles checks that the target holds exactly want and no temporary
// file.
func (h *hostile) wantFiles(want map[string]string) {
	h.t.Helper()
	h.wantFilesTemps(want, 0)
}

// wantFilesTemps checks that the target holds exactly want and temps
// temporary files (interrupted downloads kept for resuming); temps < 0
// means any number.
func (h *hostile) wantFilesTemps(want map[string]string, temps int) {
	h.t.Helper()
	got := h.files()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		h.t.Errorf("target holds\n  %s\nwant\n  %s", dump(got), dump(want))
	}
	if temps >= 0 && h.temps != temps {
		h.t.Errorf("%d temporary files in the target, want %d", h.temps, temps)
	}
}

func dump(m map[string]string) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := m[k]
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		fmt.Fprintf(&b, "%q=%q ", k, v)
	}
	return b.String()
}

// wantErrors checks that each wanted text is in some error of sum.
func wantErrors(t *testing.T, sum *mirror.Summary, want ...string) {
	t.Helper()
	all := strings.Join(sum.Errors, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("errors lack %q:\n%s", w, all)
		}
	}
}

func wantCounts(t *testing.T, sum *mirror.Summary, fetched, failed int64, result mirror.Result) {
	t.Helper()
	if sum.Fetched != fetched || sum.Failed != failed || sum.Result != result {
		t.Errorf("fetched %d, failed %d, result %s; want %d, %d, %s (errors: %q)",
			sum.Fetched, sum.Failed, sum.Result, fetched, failed, result, sum.Errors)
	}
}

func data(name string, n int) []byte {
	return bytes.Repeat([]byte(name+"\n"), n)[:n*(len(name)+1)]
}

func ok(name string) *hostileftp.Node { return hostileftp.File(name, data(name, 3), t0) }

// Names that cannot be one local path component are refused one by one,
// quoted, with the remote directory; odd but legal names (Latin-1,
// Telnet IAC, case and Unicode twins, and on POSIX backslashes and
// control bytes) are mirrored byte for byte, and quoted wherever they
// are shown.
func TestHostileNames(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX name rules")
	}
	long := strings.Repeat("n", 300)
	liar := &hostileftp.Node{Name: "esc\x1b]0;title\x07", Data: data("x", 3), ListSize: "2", Time: t0}
	root := hostileftp.Dir("",
		ok("good.txt"),
		hostileftp.Dir("sub", ok(`back\slash`), ok("ctl\x01x"), ok("esc\x1b[31m"), ok("del\x7f"), ok("tab\there.txt"),
			ok(long), ok(".ftpmirror-0123456789abcdef.part"), ok("fine"), liar),
		ok("caf\xe9"),              // Latin-1
		ok("iac\xffname"),          // Telnet IAC
		ok("Readme"), ok("README"), // case twins
		ok("\u00e9t\u00e9"), ok("e\u0301te\u0301"), // NFC and NFD twins
		ok("dup"), hostileftp.Dir("dup", ok("inner")), // a file and a dir of one name
		ok(strings.Repeat("m", 255)),
	)
	h := newHostile(t, root, nil)

	// The plan of a dry run quotes what needs it.
	var plan []string
	var mu sync.Mutex
	o := h.opts()
	o.DryRun = true
	o.Report = func(a mirror.Action) {
		mu.Lock()
		plan = append(plan, a.String())
		mu.Unlock()
	}
	if _, err, _ := h.run(o, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	wantClean(t, "plan", plan)
	all := strings.Join(plan, "\n")
	for _, w := range []string{` "sub/tab\there.txt" `, ` "sub/esc\x1b[31m" `, ` "sub/back\\slash" `, "fetch  good.txt (new)"} {
		if !strings.Contains(all, w) {
			t.Errorf("plan lacks %q:\n%s", w, all)
		}
	}

	sum, err, _ := h.run(nil, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, sum, 15, 4, mirror.ResultPartial)
	wantErrors(t, sum,
		"name of 300 bytes is longer than 255",
		`name ".ftpmirror-0123456789abcdef.part" looks like ftpmirror's temporary files`,
		`refuse /dup: in /: name "dup" listed twice`,
		`fetch "/sub/esc\x1b]0;title\a": server sent more bytes than the listing announced`,
	)
	wantClean(t, "errors", sum.Errors)
	want := map[string]string{"sub/": "", "sub/fine": string(data("fine", 3))}
	for _, n := range []string{`back\slash`, "ctl\x01x", "esc\x1b[31m", "del\x7f", "tab\there.txt"} {
		want["sub/"+n] = string(data(n, 3))
	}
	for _, n := range []string{"good.txt", "caf\xe9", "iac\xffname", "Readme", "README", "\u00e9t\u00e9",
		"e\u0301te\u0301", "dup", strings.Repeat("m", 255)} {
		want[n] = string(data(n, 3))
	}
	h.wantFiles(want)

	// Refused names never count as deletions, and nothing is fetched twice.
	o = h.opts()
	o.Delete = true
	sum, err, _ = h.run(o, 10*time.Second)
	if err != nil || sum.Deleted != 0 || sum.Fetched != 0 || sum.Unchanged != 15 {
		t.Errorf("second run: %v %+v", err, sum)
	}
	h.wantFiles(want)
}

// wantClean checks that no line holds a control byte.
func wantClean(t *testing.T, what string, lines []string) {
	t.Helper()
	for _, l := range lines {
		if strings.IndexFunc(l, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
			t.Errorf("%s: control byte in %q", what, l)
		}
	}
}

// A listing line that is unsafe (a name that is a path, a size past
// int64) or that no parser understands refuses that one entry, quoting
// the line, and counts as one failure: its siblings are mirrored, and
// -delete takes nothing from the directory whose listing was incomplete,
// while a complete listing elsewhere in the same run still deletes.
func TestHostileBadListingLine(t *testing.T) {
	mlsd := func(name string) string { return "type=file;size=3;modify=20240101000000; " + name }
	cases := []struct {
		name  string
		style hostileftp.Style
		line  string
	}{
		{"dotdot", hostileftp.StyleMLSD, mlsd("../x")},
		{"absolute", hostileftp.StyleMLSD, mlsd("/etc/x")},
		{"slash", hostileftp.StyleMLSD, mlsd("a/b")},
		{"NUL", hostileftp.StyleMLSD, mlsd("nul\x00x")},
		{"root", hostileftp.StyleMLSD, mlsd("/")},
		{"MLSD overflow", hostileftp.StyleMLSD, "type=file;size=18446744073709551616;modify=20240101000000; big"},
		{"LIST dotdot", hostileftp.StyleUnix, "-rw-r--r--    1 ftp      ftp             3 Jan 02  2024 ../x"},
		{"LIST overflow", hostileftp.StyleUnix, "-rw-r--r--    1 ftp      ftp  18446744073709551616 Jan 02  2024 big"},
		{"LIST unknown", hostileftp.StyleUnix, "?? what is this ??"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tree := func(evil ...*hostileftp.Node) *hostileftp.Node {
				return hostileftp.Dir("", hostileftp.Dir("good", ok("g1"), ok("g2")), hostileftp.Dir("evil", evil...))
			}
			var inject atomic.Bool
			h := newHostile(t, tree(ok("e1"), ok("e2"), ok("e3")), &hostileftp.Options{
				Style: tc.style,
				Listing: func(verb, dir, text string) string {
					if dir == "/evil" && inject.Load() && verb != "NLST" {
						return text + tc.line + "\r\n"
					}
					return text
				},
			})
			sum, err, _ := h.run(nil, 10*time.Second)
			if err != nil || sum.Fetched != 5 {
				t.Fatalf("clean run: %v %+v", err, sum)
			}

			// e3 and g2 are gone, new is new, and evil's listing has the
			// bad line.
			h.srv.SetTree(hostileftp.Dir("", hostileftp.Dir("good", ok("g1")), hostileftp.Dir("evil", ok("e1"), ok("e2"), ok("new"))))
			inject.Store(true)
			o := h.opts()
			o.Delete = true
			sum, err, _ = h.run(o, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			wantCounts(t, sum, 1, 1, mirror.ResultPartial)
			wantErrors(t, sum, "list /evil: ", strconv.Quote(tc.line))
			wantClean(t, "errors", sum.Errors)
			if sum.Deleted != 1 {
				t.Errorf("deleted %d, want 1 (good/g2)", sum.Deleted)
			}
			want := map[string]string{
				"good/": "", "good/g1": string(data("g1", 3)),
				"evil/": "", "evil/e1": string(data("e1", 3)), "evil/e2": string(data("e2", 3)),
				"evil/e3": string(data("e3", 3)), "evil/new": string(data("new", 3)),
			}
			h.wantFiles(want)

			// A complete listing again: e3 goes.
			inject.Store(false)
			sum, err, _ = h.run(o, 10*time.Second)
			if err != nil || sum.Failed != 0 || sum.Deleted != 1 {
				t.Errorf("third run: %v %+v", err, sum)
			}
			delete(want, "evil/e3")
			h.wantFiles(want)
		})
	}
}

// Remote links that leave the tree are not made; local links planted in
// the target are never written through.
func TestHostileSymlinks(t *testing.T) {
	root := hostileftp.Dir("",
		ok("file.txt"),
		&hostileftp.Node{Name: "out", Link: "/etc/passwd"},
		&hostileftp.Node{Name: "up", Link: "../../../sentinel/x"},
		&hostileftp.Node{Name: "in", Link: "file.txt"},
		&hostileftp.Node{Name: "self", Link: "."},
		hostileftp.Dir("planted", ok("through")), // a local link to ../sentinel is in the way
		ok("plantedfile"),                        // a local link to ../sentinel/x is in the way
	)
	for _, mode := range []mirror.SymlinkMode{mirror.SymlinksKeep, mirror.SymlinksSkip} {
		t.Run(mode.String(), func(t *testing.T) {
			h := newHostile(t, root, nil)
			o := h.opts()
			o.Symlinks = mode
			sum, err, _ := h.run(o, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			wantErrors(t, sum,
				"mkdir /planted: a local file or link that ftpmirror did not make is in the way of a directory",
				"fetch /plantedfile: a local directory or link that ftpmirror did not make is in the way")
			want := map[string]string{"file.txt": string(data("file.txt", 3))}
			if mode == mirror.SymlinksKeep {
				want["in"] = "-> file.txt"
				want["self"] = "-> ."                          // a loop, but inside the mirror
				wantCounts(t, sum, 3, 2, mirror.ResultPartial) // file.txt and the links "in" and "self"
			} else {
				wantCounts(t, sum, 1, 2, mirror.ResultPartial)
			}
			h.wantFiles(want)
		})
	}
}

// trap listens on 127.0.0.2 at port, and counts and poisons whatever
// connects: where a client that trusted a PASV address would go.
func trap(t *testing.T, port int) *atomic.Int32 {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.2", strconv.Itoa(port)))
	if err != nil {
		ftpservers.Unavailable(t, "cannot listen on 127.0.0.2: %v", err)
	}
	var n atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Write([]byte("POISON"))
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return &n
}

// Passive mode connects to the control connection's peer whatever the
// 227 or 229 reply names, and refuses privileged and impossible ports.
func TestHostilePassiveAddress(t *testing.T) {
	cases := []struct {
		name    string
		verb    string
		reply   func(port int) string
		wantErr string // "" means the mirror must succeed
	}{
		{"PASV other host", "PASV", func(p int) string {
			return fmt.Sprintf("227 Entering Passive Mode (127,0,0,2,%d,%d)", p>>8, p&0xff)
		}, ""},
		{"PASV public host", "PASV", func(p int) string {
			return fmt.Sprintf("227 Entering Passive Mode (8,8,8,8,%d,%d)", p>>8, p&0xff)
		}, ""},
		{"EPSV with address", "EPSV", func(p int) string {
			return fmt.Sprintf("229 Entering Extended Passive Mode (|1|127.0.0.2|%d|)", p)
		}, ""},
		{"PASV privileged port", "PASV", func(int) string { return "227 Entering Passive Mode (127,0,0,1,0,22)" },
			"privileged port 22"},
		{"PASV out of range", "PASV", func(int) string { return "227 Entering Passive Mode (127,0,0,1,300,1)" },
			`no address in PASV reply "Entering Passive Mode (127,0,0,1,300,1)"`},
		{"EPSV out of range", "EPSV", func(int) string { return "229 Entering Extended Passive Mode (|||70000|)" },
			`no port in EPSV reply "Entering Extended Passive Mode (|||70000|)"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var trapped *atomic.Int32
			root := hostileftp.Dir("", ok("a"), ok("b"))
			h := newHostile(t, root, &hostileftp.Options{
				Hook: func(s *hostileftp.Session, verb, _ string) bool {
					if verb != tc.verb {
						return false
					}
					port, err := s.ListenPassive()
					if err != nil {
						t.Error(err)
					}
					if trapped == nil {
						trapped = trap(t, port)
					}
					s.Reply("%s", tc.reply(port))
					return true
				},
			})
			o := h.opts()
			o.FTP.DisableEPSV = tc.verb == "PASV"
			o.Retries = 0
			sum, err, _ := h.run(o, 10*time.Second)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				wantCounts(t, sum, 2, 0, mirror.ResultOK)
				h.wantFiles(map[string]string{"a": string(data("a", 3)), "b": string(data("b", 3))})
			} else {
				if err == nil {
					t.Fatalf("no error; %+v", sum)
				}
				wantErrors(t, sum, "list /: ", tc.wantErr)
				h.wantFiles(map[string]string{})
			}
			if trapped != nil && trapped.Load() != 0 {
				t.Errorf("%d connections to 127.0.0.2", trapped.Load())
			}
		})
	}
}

// In active mode, a third party that connects to our port first is
// turned away and the server's own connection is taken.
func TestHostileActiveThirdParty(t *testing.T) {
	var intruders atomic.Int32
	root := hostileftp.Dir("", ok("a"), ok("b"))
	h := newHostile(t, root, &hostileftp.Options{
		Hook: func(s *hostileftp.Session, verb, _ string) bool {
			if verb == "RETR" || verb == "MLSD" {
				if c, err := hostileftp.DialFrom("127.0.0.2", s.ActiveAddr()); err == nil {
					intruders.Add(1)
					c.Write([]byte("type=file;size=6;modify=20240101000000; evil\r\nPOISON"))
					c.Close()
				}
			}
			return false
		},
	})
	o := h.opts()
	o.FTP.Active = true
	sum, err, _ := h.run(o, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if intruders.Load() == 0 {
		ftpservers.Unavailable(t, "could not connect from 127.0.0.2: no intruder was turned away")
	}
	wantCounts(t, sum, 2, 0, mirror.ResultOK)
	h.wantFiles(map[string]string{"a": string(data("a", 3)), "b": string(data("b", 3))})
}
