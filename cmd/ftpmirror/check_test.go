package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckExampleJobFile(t *testing.T) {
	t.Setenv("VENDOR_FTP_PASSWORD", "x")
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"check", "-jobs", "../../jobs.toml", "-v"}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"jobs.toml: 2 jobs, OK", "debian-docs", "vendor-firmware", "@every 6h",
		"max_file_age = 8760h0m0s", "password     = from $VENDOR_FTP_PASSWORD"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr: %s", stderr.String())
	}
}

func TestCheckBadJobFile(t *testing.T) {
	path := writeFile(t, filepath.Join(t.TempDir(), "jobs.toml"), `
[[job]]
name = "a"
source = "ftp://user:pw@h/"
target = "t"
schedule = "@every"

[[job]]
name = "a"
source = "ftp://h/"
target = "t"
password_file = "/nonexistent"
`)
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"check", "-jobs", path}, &stdout, &stderr)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	want := []string{
		path + `:6: job "a": schedule: "@every": `,
		path + `:12: job "a": password_file: open /nonexistent`,
		"ftpmirror: " + path + ": 2 problems",
	}
	if len(lines) != len(want) {
		t.Fatalf("stderr:\n%s\nwant %d lines", stderr.String(), len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d: %q, want prefix %q", i, lines[i], w)
		}
	}
}

func TestCheckUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"check"}, &stdout, &stderr); code != exitUsage {
		t.Errorf("no -jobs: exit %d", code)
	}
	stderr.Reset()
	if code := run(t.Context(), []string{"check", "-h"}, &stdout, &stderr); code != exitOK {
		t.Errorf("-h: exit %d", code)
	}
	if !strings.Contains(stderr.String(), "FILE:LINE") || !strings.Contains(stderr.String(), "-jobs") {
		t.Errorf("-h: %s", stderr.String())
	}
}
