package jobs

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestExampleJobFile loads the repository's jobs.toml, which the README
// tells users to copy: it must stay valid, and say what it says.
func TestExampleJobFile(t *testing.T) {
	t.Setenv("VENDOR_FTP_PASSWORD", "x")
	f, err := Load("../../jobs.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Warnings) != 0 {
		t.Errorf("warnings: %q", f.Warnings)
	}
	if len(f.Jobs) != 2 {
		t.Fatalf("%d jobs, want 2", len(f.Jobs))
	}
	docs, fw := f.Job("debian-docs"), f.Job("vendor-firmware")
	if docs == nil || fw == nil {
		t.Fatalf("jobs: %v %v", docs, fw)
	}
	// From [defaults].
	if docs.Schedule != "CRON_TZ=UTC 30 2 * * *" || !docs.CatchUp || docs.Freshness != 36*time.Hour || docs.Jitter != 10*time.Minute {
		t.Errorf("debian-docs defaults not applied: %+v", docs)
	}
	// Own keys win.
	if fw.Schedule != "@every 6h" || fw.Freshness != 13*time.Hour || fw.Jitter != 30*time.Minute {
		t.Errorf("vendor-firmware own keys: %+v", fw)
	}
	if !docs.Delete || docs.MaxDelete != "10%" || docs.MaxSize != 500<<20 || docs.LimitRate != 20<<20 || docs.Symlinks != "keep" {
		t.Errorf("debian-docs: %+v", docs)
	}
	if fw.MinFileAge != time.Hour || fw.MaxFileAge != 8760*time.Hour || fw.TLS != "explicit" || fw.Segments != 8 {
		t.Errorf("vendor-firmware: %+v", fw)
	}
	if fw.PasswordEnv != "VENDOR_FTP_PASSWORD" || fw.StatePath != "/srv/mirror/.ftpmirror/vendor-firmware.db" {
		t.Errorf("vendor-firmware: %+v", fw)
	}
	next := docs.Next(time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC))
	if want := time.Date(2030, 1, 2, 2, 30, 0, 0, time.UTC); !next.Equal(want) {
		t.Errorf("next run %v, want %v", next, want)
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

func TestJobFileDefaultsAndPaths(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "pw"), "s3cret\nignored\n")
	path := writeFile(t, filepath.Join(dir, "jobs.toml"), `
[defaults]
parallel = 8
max_delete = 100      # a number works too
include = ["*.iso"]

[[job]]
name = "a"
source = "ftp://h/pub"
target = "mirror/a"
password_file = "pw"

[[job]]
name = "b"
source = "ftp://user@h:2121/"
target = "/abs/b"
parallel = 2
include = []
state = "st/b.db"
schedule = "*/5 * * * *"
on_change = ["true", "arg with spaces"]
`)
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	a, b := f.Job("a"), f.Job("b")
	if a.Parallel != 8 || b.Parallel != 2 {
		t.Errorf("parallel %d %d", a.Parallel, b.Parallel)
	}
	if a.MaxDelete != "100" || b.MaxDelete != "100" {
		t.Errorf("max_delete %q %q", a.MaxDelete, b.MaxDelete)
	}
	if !reflect.DeepEqual(a.Include, []string{"*.iso"}) || len(b.Include) != 0 {
		t.Errorf("include %q %q", a.Include, b.Include)
	}
	if a.Target != filepath.Join(dir, "mirror/a") || b.Target != "/abs/b" || b.StatePath != filepath.Join(dir, "st/b.db") {
		t.Errorf("paths: %q %q %q", a.Target, b.Target, b.StatePath)
	}
	if a.Retries != 3 || a.Timeout != time.Minute || a.Symlinks != "skip" || a.HookTimeout != defaultHookTimeout {
		t.Errorf("defaults from Default not kept: %+v", a)
	}
	if !reflect.DeepEqual(b.OnChange, []string{"true", "arg with spaces"}) {
		t.Errorf("on_change %q", b.OnChange)
	}
	jc, err := a.ResolvePassword()
	if err != nil || jc.Password != "s3cret" {
		t.Errorf("password_file: %q %v", jc.Password, err)
	}
	if a.Password != "" {
		t.Error("ResolvePassword changed the job")
	}
	pb, _ := b.Paths()
	if pb.Lock != filepath.Join(dir, "st", "b.lock") || pb.Status != filepath.Join(dir, "st", "b.status.json") {
		t.Errorf("paths %+v", pb)
	}
}

func TestPasswordEnv(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, filepath.Join(dir, "jobs.toml"), `
[[job]]
name = "a"
source = "ftp://u@h/"
target = "t"
password_env = "FTPMIRROR_TEST_PW"
`)
	t.Setenv("FTPMIRROR_TEST_PW", "")
	os.Unsetenv("FTPMIRROR_TEST_PW")
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Warnings) != 1 || !strings.Contains(f.Warnings[0], "jobs.toml:6: job \"a\": password_env: $FTPMIRROR_TEST_PW is not set") {
		t.Errorf("warnings %q", f.Warnings)
	}
	var ce *ConfigError
	if _, err := f.Jobs[0].ResolvePassword(); err == nil || !errors.As(err, &ce) {
		t.Errorf("unset password_env: %v", err)
	}
	t.Setenv("FTPMIRROR_TEST_PW", "pw")
	jc, err := f.Jobs[0].ResolvePassword()
	if err != nil || jc.Password != "pw" {
		t.Errorf("%q %v", jc.Password, err)
	}
}

// TestJobFileErrors: each kind of bad file, with its message and line.
func TestJobFileErrors(t *testing.T) {
	const ok = "source = \"ftp://h/\"\ntarget = \"t\"\n"
	tests := []struct {
		name string
		file string
		want []string // each must appear in one error line
	}{
		{"syntax", "[[job]\nname = \"a\"\n", []string{"jobs.toml:2: expected end of table array name delimiter"}},
		{"type", "[[job]]\nname = \"a\"\n" + ok + "parallel = \"4\"\n", []string{`jobs.toml:5: job.parallel: "4": want an integer or "auto"`}},
		{"parallel type", "[[job]]\nname = \"a\"\n" + ok + "parallel = 4.5\n", []string{`jobs.toml:5: job.parallel: incompatible types`}},
		{"unknown key", "[[job]]\nname = \"a\"\n" + ok + "\n[[job]]\nname = \"b\"\n" + ok + "paralel = 4\n",
			[]string{`jobs.toml:10: job "b": unknown key "paralel" (did you mean "parallel"?)`}},
		{"unknown key in defaults", "[defaults]\nshedule = \"@daily\"\n[[job]]\nname = \"a\"\n" + ok,
			[]string{`jobs.toml:2: [defaults]: unknown key "shedule"`}},
		{"unknown table", "[default]\nparallel = 2\n[[job]]\nname = \"a\"\n" + ok,
			[]string{`jobs.toml:1: unknown key or table "default"`}},
		{"no jobs", "[defaults]\nparallel = 2\n", []string{"jobs.toml: no [[job]] in the file"}},
		{"missing name", "[[job]]\n" + ok, []string{`jobs.toml:1: job "#1": name: missing`}},
		{"bad name", "[[job]]\nname = \"a b\"\n" + ok, []string{`jobs.toml:2: job "a b": name: "a b": use letters`}},
		{"name in defaults", "[defaults]\nname = \"x\"\n[[job]]\nname = \"a\"\n" + ok, []string{`jobs.toml:2: [defaults]: name: a name belongs to one job`}},
		{"duplicate", "[[job]]\nname = \"a\"\n" + ok + "[[job]]\nname = \"a\"\n" + ok,
			[]string{`jobs.toml:6: job "a": name: duplicate job name (first at line 1)`}},
		{"bad cron", "[[job]]\nname = \"a\"\n" + ok + "schedule = \"61 * * * *\"\n", []string{`jobs.toml:5: job "a": schedule: "61 * * * *": `}},
		{"bad cron tz", "[[job]]\nname = \"a\"\n" + ok + "schedule = \"CRON_TZ=Mars/Olympus 0 * * * *\"\n", []string{`jobs.toml:5: job "a": schedule:`}},
		{"bad url", "[[job]]\nname = \"a\"\nsource = \"http://h/\"\ntarget = \"t\"\n", []string{`jobs.toml:3: job "a": source: bad URL "http://h/": scheme must be ftp:// or ftps://`}},
		{"missing source and target", "[[job]]\nname = \"a\"\n", []string{`jobs.toml:1: job "a": source: missing`, `jobs.toml:1: job "a": target: missing`}},
		{"password file", "[[job]]\nname = \"a\"\n" + ok + "password_file = \"/nonexistent/pw\"\n",
			[]string{`jobs.toml:5: job "a": password_file: open /nonexistent/pw: no such file or directory`}},
		{"both passwords", "[[job]]\nname = \"a\"\n" + ok + "password_file = \"/etc/hostname\"\npassword_env = \"X\"\n",
			[]string{`job "a": password_env: set password_env or password_file, not both`}},
		{"bad durations", "[[job]]\nname = \"a\"\n" + ok + "timeout = \"10\"\njitter = \"1d\"\nmax_age = \"-1h\"\nmin_file_age = \"x\"\n",
			[]string{`jobs.toml:5: job "a": timeout: bad duration "10"`, `jobs.toml:6: job "a": jitter: bad duration "1d"`,
				`jobs.toml:7: job "a": max_age: bad duration "-1h"`, `jobs.toml:8: job "a": min_file_age: bad duration "x"`}},
		{"bad duration in defaults", "[defaults]\nhook_timeout = \"soon\"\n[[job]]\nname = \"a\"\n" + ok,
			[]string{`jobs.toml:2: job "a": hook_timeout: bad duration "soon"`}},
		{"bad sizes", "[[job]]\nname = \"a\"\n" + ok + "max_size = \"10Q\"\nlimit_rate = \"fast\"\n",
			[]string{`jobs.toml:5: job "a": max_size: bad size "10Q"`, `jobs.toml:6: job "a": limit_rate: bad size "fast"`}},
		{"NaN size", "[[job]]\nname = \"a\"\n" + ok + "max_size = \"NaN\"\nlimit_rate = \"-1\"\n",
			[]string{`jobs.toml:5: job "a": max_size: bad size "NaN"`, `jobs.toml:6: job "a": limit_rate: bad size "-1"`}},
		{"bad sentinel", "[[job]]\nname = \"a\"\n" + ok + "sentinel = \"/trace/../master\"\n",
			[]string{`jobs.toml:5: job "a": sentinel: sentinel "/trace/../master": want a file's path relative to the source's root`}},
		{"sentinel with ..", "[[job]]\nname = \"a\"\n" + ok + "sentinel = \"trace/../master\"\n",
			[]string{`jobs.toml:5: job "a": sentinel: sentinel "trace/../master": name ".." is a path`}},
		{"table type", "job = 3\n", []string{`jobs.toml:1: job: type mismatch: want [[job]] tables, not Integer`}},
		{"defaults table type", "defaults = \"x\"\n[[job]]\nname = \"a\"\n" + ok,
			[]string{`jobs.toml:1: defaults: type mismatch: want a [defaults] table, not String`}},
		{"bool type", "[[job]]\nname = \"a\"\n" + ok + "delete = 1\n",
			[]string{`jobs.toml:5: job.delete: incompatible types: TOML value has type int64; destination has type boolean`}},
		{"list element type", "[[job]]\nname = \"a\"\n" + ok + "include = [1]\n",
			[]string{`jobs.toml:5: job.include: incompatible types: TOML value has type int64; destination has type string`}},
		{"list type", "[[job]]\nname = \"a\"\n" + ok + "exclude = \"x\"\n",
			[]string{`jobs.toml:5: job.exclude: incompatible types: TOML value has type string; destination has type slice`}},
		{"string type", "[[job]]\nname = \"a\"\ntarget = \"t\"\nsource = 2\n",
			[]string{`jobs.toml:4: job.source: incompatible types: TOML value has type int64; destination has type string`}},
		{"defaults type", "[defaults]\nretries = true\n[[job]]\nname = \"a\"\n" + ok,
			[]string{`jobs.toml:2: defaults.retries: incompatible types: TOML value has type bool; destination has type integer`}},
		{"bad enums", "[[job]]\nname = \"a\"\n" + ok + "mode = \"pasv\"\ntls = \"yes\"\nsymlinks = \"copy\"\nverify = \"yes\"\n",
			[]string{`jobs.toml:5: job "a": mode: want passive, active or auto`, `jobs.toml:6: job "a": tls: want none, explicit or implicit`, `jobs.toml:7: job "a": symlinks: want skip, follow or keep`, `jobs.toml:8: job "a": verify: want auto, on or off`}},
		{"tls contradicts ftps", "[[job]]\nname = \"a\"\nsource = \"ftps://h/\"\ntarget = \"t\"\ntls = \"explicit\"\n", []string{`jobs.toml:5: job "a": tls: -tls explicit contradicts`}},
		{"bad numbers", "[[job]]\nname = \"a\"\n" + ok + "parallel = 0\nretries = -1\nsegments = 100\nmax_delete = \"120%\"\n",
			[]string{`jobs.toml:5: job "a": parallel: 0: want 1 to 64`, `jobs.toml:6: job "a": retries`, `jobs.toml:7: job "a": segments`, `jobs.toml:8: job "a": max_delete`}},
		{"bad publish", "[[job]]\nname = \"a\"\n" + ok + "publish = \"atomic\"\nkeep_snapshots = 0\n",
			[]string{`jobs.toml:5: job "a": publish: want inplace or snapshot, not "atomic"`, `jobs.toml:6: job "a": keep_snapshots: 0: want 1 to 100`}},
		{"bad last", "[[job]]\nname = \"a\"\n" + ok + "last = [\"@debian\"]\n",
			[]string{`jobs.toml:5: job "a": last: no preset @debian (there is [@archive])`}},
		{"bad hook", "[[job]]\nname = \"a\"\n" + ok + "on_success = [\"/nonexistent/hook\"]\non_failure = [\"\"]\n",
			[]string{`jobs.toml:5: job "a": on_success: program "/nonexistent/hook"`, `jobs.toml:6: job "a": on_failure: empty program name`}},
		{"multi-line array before a bad key", "[[job]]\nname = \"a\"\n" + ok + "exclude = [\n  \"[x]\",\n  \"y = 1\",\n]\nbogus = 1\n",
			[]string{`jobs.toml:9: job "a": unknown key "bogus"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("jobs.toml", []byte(tt.file))
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FileError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("errors:\n%v\nwant one containing %q", err, w)
				}
			}
		})
	}
}

func TestScanKeyLines(t *testing.T) {
	kl := scanKeyLines([]byte(`# comment
[defaults]
a = 1
s = """
[[job]]
b = 2
"""
[[job]]
name = "one" # c
b = [ "x", # ] in a comment
  "]", ]
c = 3
[[ job ]]
name = 'two'
[other]
d = 4
`))
	if kl.defaults["a"] != 3 || kl.defaults["s"] != 4 || kl.defaults["b"] != 0 {
		t.Errorf("defaults %v", kl.defaults)
	}
	if len(kl.jobs) != 2 {
		t.Fatalf("jobs %+v", kl.jobs)
	}
	if j := kl.jobs[0]; j.line != 8 || j.nameText != "one" || j.keys["b"] != 10 || j.keys["c"] != 12 {
		t.Errorf("job 0 %+v", j)
	}
	if j := kl.jobs[1]; j.line != 13 || j.nameText != "two" {
		t.Errorf("job 1 %+v", j)
	}
	if kl.tables["other"] != 15 {
		t.Errorf("tables %v", kl.tables)
	}
}
