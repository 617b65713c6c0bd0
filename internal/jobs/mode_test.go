package jobs

import (
	"path/filepath"
	"testing"
)

// mode = "auto" is one setting with -mode auto: it reaches
// mirror.Options.ActiveAuto (and not FTP.Active); "active" reaches
// FTP.Active; Settings shows the mode as written, passive by default.
func TestMode(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, filepath.Join(dir, "jobs.toml"), `
[defaults]
mode = "auto"

[[job]]
name = "auto"
source = "ftp://h/pub"
target = "a"

[[job]]
name = "active"
source = "ftp://h/pub"
target = "b"
mode = "active"

[[job]]
name = "passive"
source = "ftp://h/pub"
target = "c"
mode = "passive"
`)
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		job          string
		auto, active bool
	}{{"auto", true, false}, {"active", false, true}, {"passive", false, false}} {
		j := f.Job(tc.job)
		o, _, err := j.Options()
		if err != nil {
			t.Fatal(err)
		}
		if o.ActiveAuto != tc.auto || o.FTP.Active != tc.active {
			t.Errorf("job %s: ActiveAuto %v, FTP.Active %v; want %v, %v", tc.job, o.ActiveAuto, o.FTP.Active, tc.auto, tc.active)
		}
		var shown string
		for _, s := range j.Settings() {
			if s.Key == "mode" {
				shown = s.Value
			}
		}
		if shown != tc.job {
			t.Errorf("job %s: Settings shows mode %q", tc.job, shown)
		}
	}
	j := Default()
	if j.Mode != "auto" {
		t.Errorf("default mode %q, want auto", j.Mode)
	}
	for _, bad := range []string{"", "Auto", "pasv"} {
		if err := j.SetMode(bad); err == nil {
			t.Errorf("SetMode(%q) took it", bad)
		}
	}
	for _, tc := range []struct {
		from, set, want string
	}{{"passive", "true", "active"}, {"active", "false", "passive"}, {"auto", "false", "auto"}} {
		j.Mode = tc.from
		if err := (ActiveFlag{&j}).Set(tc.set); err != nil || j.Mode != tc.want {
			t.Errorf("-active=%s after mode %s: mode %q, %v; want %q", tc.set, tc.from, j.Mode, err, tc.want)
		}
	}
}
