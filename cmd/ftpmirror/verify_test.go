package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/jobs"
	"github.com/ftpmirror/ftpmirror/internal/treetest"
)

// verify's three forms, its exit statuses and -repair.
func TestVerifyCommand(t *testing.T) {
	f := newFixture(t)
	treetest.Make(t, f.src, 10, 1024, 5)
	jobsPath := f.jobsFile(t, "[[job]]\nname = \"pub\"\nsource = \"URL/\"\ntarget = \""+f.target("pub")+"\"\n")
	if code, out, errOut := runCmd(t, "verify", "-jobs", jobsPath); code != exitUsage || !strings.Contains(errOut, "never synced") {
		t.Errorf("before any sync: exit %d, %q %q", code, out, errOut)
	}
	if code, out, errOut := runCmd(t, "sync", "-jobs", jobsPath); code != 0 {
		t.Fatalf("sync -jobs: exit %d %s %s", code, out, errOut)
	}
	adhoc := f.target("adhoc")
	if code, out, errOut := runCmd(t, "sync", f.url+"/", adhoc); code != 0 {
		t.Fatalf("sync: exit %d %s %s", code, out, errOut)
	}
	for _, args := range [][]string{{"-jobs", jobsPath, "pub"}, {f.url + "/", adhoc}, {adhoc}} {
		code, out, errOut := runCmd(t, append([]string{"verify"}, args...)...)
		if code != 0 || !strings.Contains(out, "10 files, 10 checked by digest, 0 do not match") {
			t.Errorf("verify %q: exit %d, %q %q", args, code, out, errOut)
		}
	}

	// A rotten byte in each mirror, its time kept.
	name := treetest.Files(t, f.src)[0]
	for _, dir := range []string{f.target("pub"), adhoc} {
		p := filepath.Join(dir, name)
		fi, _ := os.Stat(p)
		b, _ := os.ReadFile(p)
		b[0] ^= 0x20
		os.WriteFile(p, b, 0o644)
		os.Chtimes(p, fi.ModTime(), fi.ModTime())
	}
	code, out, _ := runCmd(t, "verify", adhoc)
	if code != exitMismatch || !strings.Contains(out, name+": content differs") || !strings.Contains(out, "1 do not match, 0 marked") {
		t.Errorf("verify of a bad byte: exit %d, %q", code, out)
	}
	if code, out, _ = runCmd(t, "verify", "-repair", "-jobs", jobsPath); code != exitMismatch || !strings.Contains(out, "1 marked for the next sync") {
		t.Errorf("verify -repair: exit %d, %q", code, out)
	}
	if code, out, _ = runCmd(t, "sync", "-jobs", jobsPath); code != 0 || !strings.Contains(out, "1 fetched") {
		t.Errorf("sync after repair: exit %d, %q", code, out)
	}
	if code, out, _ = runCmd(t, "verify", "-jobs", jobsPath); code != 0 {
		t.Errorf("verify after the repairing sync: exit %d, %q", code, out)
	}

	// A sync holding the job's lock: -repair waits for no one.
	jf, err := jobs.Load(jobsPath)
	if err != nil {
		t.Fatal(err)
	}
	paths, _ := jf.Jobs[0].Paths()
	lock, err := jobs.AcquireLock(t.Context(), paths.Lock, "pub", "sync", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	if code, _, errOut := runCmd(t, "verify", "-repair", "-jobs", jobsPath); code != exitLocked {
		t.Errorf("verify -repair beside a sync: exit %d, %q", code, errOut)
	}
}
