package main

import (
	"flag"
	"io"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/jobs"
)

// TestSyncFlagsOverrideJobKeys: every sync flag given with -jobs sets
// that job setting for the run, over the job file's key: a flag and the
// job key of the same name are one setting. A flag that sync gains
// without a row here fails the test.
func TestSyncFlagsOverrideJobKeys(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ca.pem"), "")
	jobsPath := writeFile(t, filepath.Join(dir, "jobs.toml"), `
[[job]]
name = "pub"
source = "ftp://127.0.0.1:2121/pub"
target = "mirror"
user = "filekey"
mode = "passive"
tls = "none"
timeout = "10s"
parallel = 2
retries = 5
delete = true
max_delete = "10%"
include = ["*.iso", "*.txt"]
exclude = ["tmp/**"]
last = ["@archive"]
max_size = "1M"
min_file_age = "1h"
max_file_age = "48h"
symlinks = "keep"
limit_rate = "1M"
segments = 2
publish = "snapshot"
keep_snapshots = 3
verify = "on"
state = "file.db"
dry_run = false
quiet = false
pipelining = true
tls_insecure = false
sentinel = "trace/master"
`)
	// Settings that are flags of sync but not of a job.
	commandFlags := []string{"jobs", "json", "v", "log-format", "cpuprofile"}
	for _, tc := range []struct {
		flag string
		args []string
		want func(jc *jobs.Job) any
		is   any
	}{
		{"active", []string{"-active"}, func(jc *jobs.Job) any { return jc.Mode }, "active"},
		{"mode", []string{"-mode", "auto"}, func(jc *jobs.Job) any { return jc.Mode }, "auto"},
		{"mode", []string{"-mode", "active"}, func(jc *jobs.Job) any { return jc.Mode }, "active"},
		{"tls", []string{"-tls", "explicit"}, func(jc *jobs.Job) any { return jc.TLS }, "explicit"},
		{"tls-insecure", []string{"-tls-insecure"}, func(jc *jobs.Job) any { return jc.TLSInsecure }, true},
		{"tls-ca-file", []string{"-tls-ca-file", "/etc/ca.pem"}, func(jc *jobs.Job) any { return jc.TLSCAFile }, "/etc/ca.pem"},
		{"timeout", []string{"-timeout", "3s"}, func(jc *jobs.Job) any { return jc.Timeout }, 3 * time.Second},
		{"user", []string{"-user", "flaguser"}, func(jc *jobs.Job) any { return jc.User }, "flaguser"},
		{"parallel", []string{"-parallel", "9"}, func(jc *jobs.Job) any { return jc.Parallel }, 9},
		{"parallel", []string{"-parallel", "auto"}, func(jc *jobs.Job) any { return jc.ParallelAuto }, true},
		{"retries", []string{"-retries", "0"}, func(jc *jobs.Job) any { return jc.Retries }, 0},
		{"delete", []string{"-delete=false"}, func(jc *jobs.Job) any { return jc.Delete }, false},
		{"max-delete", []string{"-max-delete", "0"}, func(jc *jobs.Job) any { return jc.MaxDelete }, "0"},
		{"include", []string{"-include", "*.nothing"}, func(jc *jobs.Job) any { return jc.Include }, []string{"*.nothing"}},
		{"exclude", []string{"-exclude", "a", "-exclude", "b"}, func(jc *jobs.Job) any { return jc.Exclude }, []string{"a", "b"}},
		{"last", []string{"-last", "*.idx", "-last", "@archive"}, func(jc *jobs.Job) any { return jc.Last }, []string{"*.idx", "@archive"}},
		{"max-size", []string{"-max-size", "2k"}, func(jc *jobs.Job) any { return jc.MaxSize }, int64(2048)},
		{"min-age", []string{"-min-age", "5m"}, func(jc *jobs.Job) any { return jc.MinFileAge }, 5 * time.Minute},
		{"max-age", []string{"-max-age", "0s"}, func(jc *jobs.Job) any { return jc.MaxFileAge }, time.Duration(0)},
		{"symlinks", []string{"-symlinks", "follow"}, func(jc *jobs.Job) any { return jc.Symlinks }, "follow"},
		{"limit-rate", []string{"-limit-rate", "0"}, func(jc *jobs.Job) any { return jc.LimitRate }, int64(0)},
		{"segments", []string{"-segments", "1"}, func(jc *jobs.Job) any { return jc.Segments }, 1},
		{"publish", []string{"-publish", "inplace"}, func(jc *jobs.Job) any { return jc.Publish }, "inplace"},
		{"keep-snapshots", []string{"-keep-snapshots", "5"}, func(jc *jobs.Job) any { return jc.KeepSnapshots }, 5},
		{"verify", []string{"-verify", "off"}, func(jc *jobs.Job) any { return jc.Verify }, "off"},
		{"state", []string{"-state", "/tmp/flag.db"}, func(jc *jobs.Job) any { return jc.StatePath }, "/tmp/flag.db"},
		{"dry-run", []string{"-dry-run"}, func(jc *jobs.Job) any { return jc.DryRun }, true},
		{"quiet", []string{"-quiet"}, func(jc *jobs.Job) any { return jc.Quiet }, true},
		{"q", []string{"-q"}, func(jc *jobs.Job) any { return jc.Quiet }, true},
		{"no-pipelining", []string{"-no-pipelining"}, func(jc *jobs.Job) any { return jc.Pipelining }, false},
		{"sentinel", []string{"-sentinel", "project/trace/master"}, func(jc *jobs.Job) any { return jc.Sentinel }, "project/trace/master"},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			// The flag alone, and after the job's name (flags may
			// follow arguments).
			for _, args := range [][]string{
				append(append([]string{"-jobs", jobsPath}, tc.args...), "pub"),
				append([]string{"-jobs", jobsPath, "pub"}, tc.args...),
			} {
				specs, err := jobsToSync(jobsPath, []string{"pub"}, args, io.Discard)
				if err != nil {
					t.Fatalf("%q: %v", args, err)
				}
				if got := tc.want(specs[0]); !reflect.DeepEqual(got, tc.is) {
					t.Errorf("%q: setting is %#v, want %#v", args, got, tc.is)
				}
			}
		})
	}

	// Every flag of sync is covered above or is a command flag.
	covered := map[string]bool{}
	for _, f := range commandFlags {
		covered[f] = true
	}
	var sf syncFlags
	jc := jobs.Default()
	fs := newSyncFlags(&jc, &sf)
	rows := []string{"active", "mode", "tls", "tls-insecure", "tls-ca-file", "timeout", "user", "parallel", "retries", "delete",
		"max-delete", "include", "exclude", "last", "max-size", "min-age", "max-age", "symlinks", "limit-rate", "segments",
		"publish", "keep-snapshots", "verify", "state", "dry-run", "quiet", "q", "no-pipelining", "sentinel"}
	for _, r := range rows {
		covered[r] = true
	}
	fs.VisitAll(func(f *flag.Flag) {
		if !covered[f.Name] {
			t.Errorf("sync flag -%s has no row in TestSyncFlagsOverrideJobKeys", f.Name)
		}
	})

	// Without flags the job's keys stand; an unknown flag is an error,
	// never ignored.
	specs, err := jobsToSync(jobsPath, nil, []string{"-jobs", jobsPath}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if jc := specs[0]; jc.Parallel != 2 || !slices.Equal(jc.Include, []string{"*.iso", "*.txt"}) || jc.MaxDelete != "10%" {
		t.Errorf("job keys lost: %+v", jc)
	}
	code, _, errOut := runCLI(t, "sync", "-jobs", jobsPath, "-max-deletes", "0", "pub")
	if code != exitUsage || !strings.Contains(errOut, "-max-deletes") || strings.Count(errOut, "max-deletes") != 1 {
		t.Errorf("unknown flag with -jobs: exit %d, %q", code, errOut)
	}
}

// TestJobKeysMatchSyncFlags: every job key either is a sync flag's name
// (with '_' for '-'), or is listed here with why not.
func TestJobKeysMatchSyncFlags(t *testing.T) {
	jc := jobs.Default()
	fs := newFlagSet("sync", "")
	addSyncFlags(fs, &jc)
	notFlags := map[string]string{
		"name": "", "schedule": "", "source": "an argument", "target": "an argument",
		"password_env": "", "password_file": "", "mode": "-active", "min_file_age": "-min-age", "max_file_age": "-max-age",
		"jitter": "", "catch_up": "", "max_age": "freshness", "pipelining": "-no-pipelining", "on_success": "", "on_failure": "", "on_change": "", "hook_timeout": "",
	}
	keys := map[string]bool{}
	for _, k := range jobs.Keys {
		keys[k] = true
		if _, ok := notFlags[k]; ok {
			continue
		}
		if fs.Lookup(strings.ReplaceAll(k, "_", "-")) == nil {
			t.Errorf("job key %s has no sync flag", k)
		}
	}
	fs.VisitAll(func(f *flag.Flag) {
		k := strings.ReplaceAll(f.Name, "-", "_")
		switch f.Name {
		case "active":
			k = "mode"
		case "min-age":
			k = "min_file_age"
		case "max-age":
			k = "max_file_age"
		case "q":
			k = "quiet"
		case "no-pipelining":
			k = "pipelining"
		}
		if !keys[k] {
			t.Errorf("sync flag -%s has no job key", f.Name)
		}
	})
}
