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

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSyncPublishSnapshot: -publish snapshot reaches mirror.Run: the tree
// is under TARGET/current, and the JSON summary names the version.
func TestSyncPublishSnapshot(t *testing.T) {
	src, url := serveTree(t, 10)
	dir := t.TempDir()
	target := filepath.Join(dir, "mirror")
	code, out, errOut := runCLI(t, "sync", "-json", "-publish", "snapshot", "-keep-snapshots", "1",
		"-state", filepath.Join(dir, "state.db"), url, target)
	var sum mirror.Summary
	if code != 0 || json.Unmarshal([]byte(out), &sum) != nil || sum.Snapshot == "" {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if l, err := os.Readlink(filepath.Join(target, "current")); err != nil || l != "snapshots/"+sum.Snapshot {
		t.Fatalf("current -> %q (%v), want snapshots/%s", l, err, sum.Snapshot)
	}
	treetest.Equal(t, src, filepath.Join(target, "snapshots", sum.Snapshot), true)
	if code, _, errOut := runCLI(t, "sync", "-publish", "atomic", url, target); code != exitUsage || !strings.Contains(errOut, "publish") {
		t.Errorf("-publish atomic: exit %d, %q", code, errOut)
	}
}
