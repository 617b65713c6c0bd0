package main

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestVersion: version, -version and --version print the same line.
func TestVersion(t *testing.T) {
	var first string
	for _, args := range [][]string{{"version"}, {"-version"}, {"--version"}} {
		code, out, errOut := runCLI(t, args...)
		if code != 0 || errOut != "" || !strings.HasPrefix(out, "ftpmirror ") || !strings.Contains(out, runtime.Version()) || !strings.Contains(out, "commit ") {
			t.Errorf("%q: exit %d, %q %q", args, code, out, errOut)
		}
		if first == "" {
			first = out
		} else if out != first {
			t.Errorf("%q: %q, want %q", args, out, first)
		}
	}
}

// TestHelp: help goes to stdout (so "| less" works); "help CMD" is
// "CMD -h"; each command's help has a synopsis, and sync's has examples
// and every exit status.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"help"}, {"--help"}} {
		code, out, errOut := runCLI(t, args...)
		if code != 0 || errOut != "" || !strings.Contains(out, "Commands:") || !strings.Contains(out, "Exit status") {
			t.Errorf("%q: exit %d, %q %q", args, code, out, errOut)
		}
	}
	for _, c := range commands() {
		if c.run == nil {
			continue
		}
		code, viaHelp, errOut := runCLI(t, "help", c.name)
		if code != 0 || errOut != "" || !strings.HasPrefix(viaHelp, "Usage: ftpmirror "+c.name) {
			t.Errorf("help %s: exit %d, %q %q", c.name, code, viaHelp, errOut)
		}
		if _, viaFlag, _ := runCLI(t, c.name, "-h"); viaFlag != viaHelp {
			t.Errorf("%s -h differs from help %s", c.name, c.name)
		}
	}
	_, out, _ := runCLI(t, "help", "sync")
	for _, want := range []string{"Examples:", "-jobs", "0    all done", "1    partial", "2    usage", "3    a safety guard", "4    locked", "5    nothing could be done", "130", "143"} {
		if !strings.Contains(out, want) {
			t.Errorf("sync's help lacks %q", want)
		}
	}
}

// TestFlagConventions: flags may follow the arguments; "--" ends them;
// a bad flag is reported once, on one line.
func TestFlagConventions(t *testing.T) {
	_, url := serveTree(t, 4)
	dir := t.TempDir()
	target := filepath.Join(dir, "m")
	code, out, errOut := runCLI(t, "sync", url, target, "-dry-run", "-state", filepath.Join(dir, "s.db"))
	if code != 0 || !strings.Contains(out, "fetch ") {
		t.Fatalf("flags after arguments: exit %d, %q %q", code, out, errOut)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Errorf("-dry-run after the arguments was not a dry run: %v", err)
	}
	code, _, errOut = runCLI(t, "sync", "-state", filepath.Join(dir, "s.db"), "--", url, target, "-dry-run")
	if code != exitUsage {
		t.Errorf("-- then three arguments: exit %d, %q", code, errOut)
	}
	code, out, errOut = runCLI(t, "sync", "-frobnicate", url, target)
	if code != exitUsage || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "-frobnicate") {
		t.Errorf("unknown flag: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestStateCommandConventions: state -h and state help print help; the
// -state flag may come before the subcommand.
func TestStateCommandConventions(t *testing.T) {
	for _, args := range [][]string{{"state", "-h"}, {"state", "help"}, {"help", "state"}} {
		code, out, errOut := runCLI(t, args...)
		if code != 0 || errOut != "" || !strings.Contains(out, "rebuild") {
			t.Errorf("%q: exit %d, %q %q", args, code, out, errOut)
		}
	}
	_, url := serveTree(t, 2)
	dir := t.TempDir()
	db := filepath.Join(dir, "s.db")
	if code, _, errOut := runCLI(t, "sync", "-state", db, url, filepath.Join(dir, "m")); code != 0 {
		t.Fatal(errOut)
	}
	for _, args := range [][]string{{"state", "-state", db, "show"}, {"state", "show", "-state", db}} {
		code, out, errOut := runCLI(t, args...)
		if code != 0 || !strings.Contains(out, "2 paths") {
			t.Errorf("%q: exit %d, %q %q", args, code, out, errOut)
		}
	}
	if code, _, errOut := runCLI(t, "state", "show"); code != exitUsage || !strings.Contains(errOut, "-state PATH is required") {
		t.Errorf("no -state: exit %d, %q", code, errOut)
	}
}

// TestREADMEFlagTables: README's table under "### `ftpmirror CMD`"
// lists exactly the flags that CMD -h lists.
func TestREADMEFlagTables(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	helpFlag := regexp.MustCompile(`(?m)^  -([a-z][a-z0-9-]*)`)
	tableFlag := regexp.MustCompile("`-([a-z][a-z0-9-]*)")
	for _, c := range commands() {
		if c.run == nil {
			continue
		}
		_, help, _ := runCLI(t, c.name, "-h")
		var want []string
		for _, m := range helpFlag.FindAllStringSubmatch(help, -1) {
			want = append(want, m[1])
		}
		if len(want) == 0 {
			continue
		}
		section := readmeSection(string(readme), "### `ftpmirror "+c.name+"`")
		if section == "" {
			t.Errorf("README has no section ### `ftpmirror %s`", c.name)
			continue
		}
		var got []string
		for _, line := range strings.Split(section, "\n") {
			if !strings.HasPrefix(line, "| `-") {
				continue
			}
			first := strings.SplitN(line[1:], "|", 2)[0]
			for _, m := range tableFlag.FindAllStringSubmatch(first, -1) {
				got = append(got, m[1])
			}
		}
		sort.Strings(want)
		sort.Strings(got)
		got = slices.Compact(got)
		if !slices.Equal(got, want) {
			t.Errorf("README's %s flags %q, want %q", c.name, got, want)
		}
	}
}

// readmeSection returns the text from heading to the next heading of the
// same or a higher level.
func readmeSection(doc, heading string) string {
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		return ""
	}
	rest := doc[i+len(heading)+2:]
	if j := regexp.MustCompile(`(?m)^#{2,3} `).FindStringIndex(rest); j != nil {
		rest = rest[:j[0]]
	}
	return rest
}
