package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftpmirror/ftpmirror/internal/embedftp"
	"github.com/ftpmirror/ftpmirror/internal/treetest"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// runCLI runs ftpmirror with args and returns the exit status and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func serveTree(t *testing.T, n int) (src, url string) {
	t.Helper()
	src = t.TempDir()
	treetest.Make(t, src, n, 1024, 21)
	srv, err := embedftp.Start(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return src, "ftp://" + srv.Addr() + "/"
}

func TestSyncCommand(t *testing.T) {
	src, url := serveTree(t, 40)
	dir := t.TempDir()
	target := filepath.Join(dir, "mirror")
	statePath := filepath.Join(dir, "state.db")

	code, out, errOut := runCLI(t, "sync", "-state", statePath, url, target)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if !strings.Contains(out, "ok: ") || !strings.Contains(out, "40 fetched") {
		t.Errorf("summary line: %q", out)
	}
	treetest.Equal(t, src, target, true)

	code, out, _ = runCLI(t, "sync", "-json", "-state", statePath, url, target)
	var sum mirror.Summary
	if code != 0 || json.Unmarshal([]byte(out), &sum) != nil || sum.Fetched != 0 || sum.Unchanged != 40 {
		t.Fatalf("second run: exit %d, %q", code, out)
	}

	// -dry-run prints the plan and changes nothing.
	os.Remove(filepath.Join(src, treetest.Files(t, src)[0]))
	code, out, _ = runCLI(t, "sync", "-dry-run", "-delete", "-state", statePath, url, target)
	if code != 0 || !strings.Contains(out, "delete ") {
		t.Fatalf("dry run: exit %d, %q", code, out)
	}
	if len(treetest.Files(t, target)) != 40 {
		t.Fatal("dry run deleted a file")
	}

	// Emptying the source trips the deletion guard: exit 3.
	entries, _ := os.ReadDir(src)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(src, e.Name()))
	}
	code, _, errOut = runCLI(t, "sync", "-delete", "-state", statePath, url, target)
	if code != exitGuard || !strings.Contains(errOut, "nothing deleted") {
		t.Fatalf("guard: exit %d, %q", code, errOut)
	}
	if len(treetest.Files(t, target)) != 40 {
		t.Fatal("the guard let files be deleted")
	}
}

func TestExitStatuses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no args", []string{"sync"}, exitUsage, "takes a URL"},
		{"bad scheme", []string{"sync", "http://x/", t.TempDir()}, exitUsage, "scheme"},
		{"no host", []string{"ls", "ftp:///x"}, exitUsage, "no host"},
		{"bad flag", []string{"sync", "-parallel", "x", "ftp://h/", "d"}, exitUsage, "invalid value"},
		{"bad max-delete", []string{"sync", "-max-delete", "abc", "ftp://127.0.0.1:1/", t.TempDir()}, exitUsage, "max-delete"},
		{"bad glob", []string{"sync", "-exclude", "[x", "ftp://127.0.0.1:1/", t.TempDir()}, exitUsage, "glob"},
		{"unreachable", []string{"ls", "-timeout", "2s", "ftp://" + closed + "/"}, exitPartial, "connection refused"},
		{"unreachable sync", []string{"sync", "-timeout", "2s", "-state", filepath.Join(t.TempDir(), "s.db"), "ftp://" + closed + "/", t.TempDir()}, exitNotStarted, "connection refused"},
		{"port out of range", []string{"sync", "ftp://127.0.0.1:99999/", t.TempDir()}, exitUsage, "port 99999"},
		{"unknown command", []string{"frobnicate"}, exitUsage, "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.msg) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errOut, tc.code, tc.msg)
			}
		})
	}
}

func TestLsCommand(t *testing.T) {
	src, url := serveTree(t, 5)
	code, out, errOut := runCLI(t, "ls", url)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	entries, _ := os.ReadDir(src)
	for _, e := range entries {
		if !strings.Contains(out, e.Name()) {
			t.Errorf("ls output lacks %q:\n%s", e.Name(), out)
		}
	}
}

func TestDemoCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	code, out, errOut := runCLI(t, "demo", "-dir", dir, "-files", "60")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "verified:") || !strings.Contains(out, "2 deleted") {
		t.Errorf("demo output:\n%s", out)
	}
}

func TestParseSource(t *testing.T) {
	for _, tc := range []struct {
		in               string
		addr, path, user string
		pass             string
		implicit         bool
		bad              bool
	}{
		// RFC 1738: the path is relative to the login directory; %2F
		// (or an empty first segment, as lftp takes it) makes it absolute.
		{in: "ftp://ftp.example.org/pub/x", addr: "ftp.example.org:21", path: "pub/x"},
		{in: "ftp://ftp.example.org/%2Fpub/x", addr: "ftp.example.org:21", path: "/pub/x"},
		{in: "ftp://ftp.example.org/%2fpub/x/", addr: "ftp.example.org:21", path: "/pub/x"},
		{in: "ftp://ftp.example.org//pub/x", addr: "ftp.example.org:21", path: "/pub/x"},
		{in: "ftp://h/a%20b/c%2Fd", addr: "h:21", path: "a b/c/d"},
		{in: "ftp://h/%2F", addr: "h:21", path: "/"},
		{in: "ftp://u:p%40ss@h:2121/", addr: "h:2121", path: "", user: "u", pass: "p@ss"},
		{in: "ftp://h", addr: "h:21", path: ""},
		{in: "ftps://h/d", addr: "h:990", path: "d", implicit: true},
		{in: "ftp://[::1]:21/x", addr: "[::1]:21", path: "x"},
		{in: "sftp://h/", bad: true},
		{in: "ftp://h/x?y=1", bad: true},
		{in: "ftp://h/a%0d%0aDELE", bad: true},
		{in: "ftp://h:99999/", bad: true},
		{in: "ftp://h:0/", bad: true},
		{in: "ftp://h:ftp/", bad: true},
	} {
		s, err := parseSource(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("%s: no error", tc.in)
			}
			continue
		}
		if err != nil || s.Addr != tc.addr || s.Path != tc.path || s.User != tc.user || s.Password != tc.pass || s.Implicit != tc.implicit {
			t.Errorf("%s: %+v %v", tc.in, s, err)
			continue
		}
		// String gives a URL that parses back to the same place.
		if back, err := parseSource(s.String()); err != nil || back.Path != s.Path || back.Addr != s.Addr {
			t.Errorf("%s: String() = %s parses back to %+v, %v", tc.in, s.String(), back, err)
		}
	}
}

func TestNetrc(t *testing.T) {
	f := filepath.Join(t.TempDir(), "netrc")
	// A macdef (its body ends at a blank line) does not hide the entries
	// after it, as it did with the hand-written parser.
	os.WriteFile(f, []byte("machine other login a password b\nmacdef init\ncd /pub\nbinary\n\nmachine h.example login bob password s3cret\ndefault login anonymous password guest\n"), 0o600)
	t.Setenv("NETRC", f)
	for _, tc := range []struct{ host, user, wantUser, wantPass string }{
		{"h.example", "", "bob", "s3cret"},
		{"h.example", "bob", "bob", "s3cret"},
		{"h.example", "alice", "alice", ""},
		{"elsewhere", "", "anonymous", "guest"},
	} {
		s := &source{Host: tc.host}
		l := s.credentials(tc.user)
		if l.User != tc.wantUser || l.Password != tc.wantPass {
			t.Errorf("%s/%s: got %s/%s", tc.host, tc.user, l.User, l.Password)
		}
		if len(l.Warnings) > 0 {
			t.Errorf("%s/%s: warnings %q for a mode-600 netrc", tc.host, tc.user, l.Warnings)
		}
	}
	// A netrc that others can read works, with a warning.
	os.Chmod(f, 0o644)
	if l := (&source{Host: "h.example"}).credentials(""); l.Password != "s3cret" || len(l.Warnings) != 1 || !strings.Contains(l.Warnings[0], "readable by others") {
		t.Errorf("mode 644: %+v", l)
	}
}

func TestParseSizes(t *testing.T) {
	for _, bad := range []string{"NaN", "-1", "1e400", "x", "Inf"} {
		if _, err := parseBytes(bad); err == nil {
			t.Errorf("parseBytes(%q) accepted", bad)
		}
	}
	for in, want := range map[string]int64{"10M": 10 << 20, "512k": 512 << 10, "1.5G": 3 << 29, "100": 100, "": 0} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v", in, got, err)
		}
	}
}
