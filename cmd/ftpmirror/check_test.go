package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ftpmirror/ftpmirror/internal/jobs"
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
		`max_file_age +\= 8760h0m0s`, `password +\= from \$VENDOR_FTP_PASSWORD`, `last +\= @archive ls-lR\*`} {
		if !regexp.MustCompile(want).MatchString(out) { // keys are aligned: the widest sets the column
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
	if !strings.Contains(stdout.String(), "FILE:LINE") || !strings.Contains(stdout.String(), "-jobs") || stderr.Len() > 0 {
		t.Errorf("-h: stdout %q, stderr %q", stdout.String(), stderr.String())
	}
}

// TestDeployExamples checks the job files inside the deployment examples
// and that their commands name jobs the files have.
func TestDeployExamples(t *testing.T) {
	t.Setenv("VENDOR_FTP_PASSWORD", "x")
	read := func(path string) string {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	// indented returns the lines after the line ending with start that are
	// indented deeper than it, dedented.
	indented := func(text, start string) string {
		var out []string
		in, indent := false, 0
		for _, line := range strings.Split(text, "\n") {
			switch {
			case !in && strings.HasSuffix(line, start):
				in, indent = true, len(line)-len(strings.TrimLeft(line, " "))+2
			case in && strings.TrimSpace(line) == "":
				out = append(out, "")
			case in && len(line)-len(strings.TrimLeft(line, " ")) >= indent && !strings.HasPrefix(strings.TrimSpace(line), "EOT"):
				out = append(out, line[indent:])
			case in:
				return strings.Join(out, "\n")
			}
		}
		return strings.Join(out, "\n")
	}
	for _, ex := range []struct {
		file, start string
		jobs        []string
	}{
		{"../../deploy/kubernetes/cronjob.yaml", "jobs.toml: |", []string{"debian-docs", "vendor-firmware"}},
		{"../../deploy/nomad/ftpmirror.nomad.hcl", "data        = <<-EOT", []string{"vendor-firmware"}},
	} {
		text := read(ex.file)
		f, err := jobs.Parse(ex.file, []byte(indented(text, ex.start)))
		if err != nil {
			t.Errorf("%s: %v", ex.file, err)
			continue
		}
		for _, name := range ex.jobs {
			if f.Job(name) == nil {
				t.Errorf("%s: no job %s", ex.file, name)
			}
			if !strings.Contains(text, `"-log-format", "json", "`+name+`"]`) {
				t.Errorf("%s: no command runs %s", ex.file, name)
			}
		}
	}
	// The crontab and systemd examples use the repository's jobs.toml's names and real flags.
	cron := read("../../contrib/crontab.example")
	for _, name := range []string{"debian-docs", "vendor-firmware"} {
		if !strings.Contains(cron, "jobs.toml "+name) {
			t.Errorf("crontab.example: no line for %s", name)
		}
	}
	// The systemd units' command lines parse: with a job file that does
	// not exist, each fails on the file, not on a flag.
	missing := filepath.Join(t.TempDir(), "jobs.toml")
	checked := 0
	for _, unit := range []string{"../../contrib/ftpmirror.service", "../../contrib/ftpmirror@.service"} {
		for _, line := range strings.Split(read(unit), "\n") {
			_, cmdline, ok := strings.Cut(line, "=/usr/local/bin/ftpmirror ")
			if !ok || !strings.HasPrefix(line, "Exec") {
				continue
			}
			cmdline = strings.ReplaceAll(cmdline, "/etc/ftpmirror/jobs.toml", missing)
			cmdline = strings.ReplaceAll(cmdline, "%i", "debian-docs")
			checked++
			code, _, stderr := runCmd(t, strings.Fields(cmdline)...)
			if code != exitUsage || !strings.Contains(stderr, missing+": open") {
				t.Errorf("%s: %s: exit %d: %s", unit, cmdline, code, stderr)
			}
		}
	}
	if checked != 3 {
		t.Errorf("checked %d command lines of the units, want 3", checked)
	}
}
