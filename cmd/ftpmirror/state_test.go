package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftpmirror/ftpmirror/internal/embedftp"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// snapshot is every path under root with its type, size, time and bytes.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		v := fmt.Sprintf("%v %d %d", fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += " " + string(b)
		}
		out[p] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameSnapshot(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for p, v := range before {
		if w, ok := after[p]; !ok {
			t.Errorf("%s: %s vanished", what, p)
		} else if w != v {
			t.Errorf("%s: %s changed", what, p)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s: %s appeared", what, p)
		}
	}
}

// A corrupt state database stops sync before it touches the target, with
// a message that names the file and the way out; `state rebuild` moves
// it aside, and the next sync adopts the mirror as it is instead of
// fetching it again. `state show` lists the job.
func TestStateCorruptRebuild(t *testing.T) {
	src, url := serveTree(t, 60)
	dir := t.TempDir()
	target := filepath.Join(dir, "mirror")
	statePath := filepath.Join(dir, "state.db")

	code, out, errOut := runCLI(t, "sync", "-json", "-state", statePath, url, target)
	var first mirror.Summary
	if code != 0 || json.Unmarshal([]byte(out), &first) != nil {
		t.Fatalf("first sync: exit %d, %s %s", code, out, errOut)
	}
	// Paths the state knows: the files and the directories below the root.
	var files, paths int
	filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		switch {
		case p == src:
		case d.IsDir():
			paths++
		default:
			files++
			paths++
		}
		return nil
	})
	if first.Fetched != int64(files) {
		t.Fatalf("first sync fetched %d, want %d", first.Fetched, files)
	}

	garbage := make([]byte, 64<<10)
	rand.NewChaCha8([32]byte{7}).Read(garbage)
	if err := os.WriteFile(statePath, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, target)

	code, out, errOut = runCLI(t, "sync", "-state", statePath, url, target)
	if code != exitPartial {
		t.Errorf("sync over a corrupt state: exit %d, want %d (stdout %q)", code, exitPartial, out)
	}
	if !strings.Contains(errOut, statePath) || !strings.Contains(errOut, "rebuild") {
		t.Errorf("sync over a corrupt state: stderr %q should name %s and `state rebuild`", errOut, statePath)
	}
	sameSnapshot(t, "target after a sync over a corrupt state", before, snapshot(t, target))
	if b, err := os.ReadFile(statePath); err != nil || !bytes.Equal(b, garbage) {
		t.Errorf("the corrupt state file was changed or removed: %v", err)
	}

	code, out, errOut = runCLI(t, "state", "show", "-state", statePath)
	if code == exitOK || !strings.Contains(errOut, statePath) {
		t.Errorf("state show of a corrupt file: exit %d, stderr %q; want a failure naming the file", code, errOut)
	}

	code, out, errOut = runCLI(t, "state", "rebuild", "-state", statePath)
	if code != exitOK {
		t.Fatalf("state rebuild: exit %d, %s %s", code, out, errOut)
	}
	aside, _ := filepath.Glob(statePath + ".corrupt-*")
	if len(aside) != 1 {
		t.Fatalf("files moved aside: %v, want one %s.corrupt-*", aside, statePath)
	}
	if b, err := os.ReadFile(aside[0]); err != nil || !bytes.Equal(b, garbage) {
		t.Errorf("%s does not hold the corrupt bytes: %v", aside[0], err)
	}
	if !strings.Contains(out, aside[0]) {
		t.Errorf("rebuild output %q should say where the file went", out)
	}
	code, out, errOut = runCLI(t, "state", "show", "-state", statePath)
	if code != exitOK || out != "" {
		t.Errorf("state show after rebuild: exit %d, %q %q; want no jobs", code, out, errOut)
	}
	sameSnapshot(t, "target after rebuild", before, snapshot(t, target))

	code, out, errOut = runCLI(t, "sync", "-json", "-state", statePath, url, target)
	var sum mirror.Summary
	if code != 0 || json.Unmarshal([]byte(out), &sum) != nil {
		t.Fatalf("sync after rebuild: exit %d, %s %s", code, out, errOut)
	}
	if sum.Adopted != int64(files) || sum.Fetched != 0 || sum.Result != "ok" {
		t.Errorf("sync after rebuild: %s, adopted %d, fetched %d; want ok, %d and 0", sum.Result, sum.Adopted, sum.Fetched, files)
	}
	sameSnapshot(t, "target after adoption", before, snapshot(t, target))

	code, out, errOut = runCLI(t, "state", "show", "-state", statePath)
	want := fmt.Sprintf("%s: %d paths; last run ", sum.Job, paths)
	line1, rest, _ := strings.Cut(out, "\n")
	if code != exitOK || !strings.HasPrefix(line1, want) || !strings.Contains(line1, ": ok, 0 fetched, 0 failed") {
		t.Errorf("state show: exit %d, %q %q; want a first line starting %q", code, out, errOut, want)
	}
	// Then the server's profile, in words.
	if !strings.HasPrefix(rest, "server 127.0.0.1:") || !strings.Contains(rest, "\n  listing: MLSD\n") || !strings.Contains(rest, "\n  pipelining: on") {
		t.Errorf("state show: the server's profile is missing:\n%s", out)
	}
}

// A refused login is one line on stderr that names the server and
// carries its 530, and exit status 1.
func TestLsRefusedLogin(t *testing.T) {
	srv, err := embedftp.Start(t.TempDir(), &embedftp.Options{User: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	t.Setenv("NETRC", filepath.Join(t.TempDir(), "none"))

	code, out, errOut := runCLI(t, "ls", "-timeout", "10s", "ftp://u:wrong@"+srv.Addr()+"/")
	if code != exitPartial {
		t.Errorf("exit %d, want %d", code, exitPartial)
	}
	if out != "" {
		t.Errorf("stdout %q, want nothing", out)
	}
	if strings.Count(errOut, "\n") != 1 || !strings.HasSuffix(errOut, "\n") {
		t.Errorf("stderr is not one line: %q", errOut)
	}
	if !strings.Contains(errOut, srv.Addr()) || !strings.Contains(errOut, "530") {
		t.Errorf("stderr %q should name %s and the 530 reply", errOut, srv.Addr())
	}
	if strings.Contains(errOut, "wrong") {
		t.Errorf("stderr %q shows the password", errOut)
	}
	t.Log(strings.TrimSpace(errOut))
}
