package jobs

import (
	"path/filepath"
	"testing"
)

// parallel = "auto" is one setting with -parallel auto: it reaches
// mirror.Options.ParallelAuto, a number in a job overrides it, and
// Settings shows it as written.
func TestParallelAuto(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, filepath.Join(dir, "jobs.toml"), `
[defaults]
parallel = "auto"

[[job]]
name = "a"
source = "ftp://h/pub"
target = "a"

[[job]]
name = "b"
source = "ftp://h/pub"
target = "b"
parallel = 3
`)
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		job      string
		auto     bool
		parallel int
		shown    string
	}{{"a", true, 4, "auto"}, {"b", false, 3, "3"}} {
		j := f.Job(tc.job)
		o, _, err := j.Options()
		if err != nil {
			t.Fatal(err)
		}
		if o.ParallelAuto != tc.auto || o.Parallel != tc.parallel || j.ParallelString() != tc.shown {
			t.Errorf("job %s: auto %v, parallel %d, shown %q; want %v, %d, %q", tc.job, o.ParallelAuto, o.Parallel, j.ParallelString(), tc.auto, tc.parallel, tc.shown)
		}
	}
	j := Default()
	for _, bad := range []string{"0", "65", "Auto", "", "-1"} {
		if err := j.SetParallel(bad); err == nil {
			t.Errorf("SetParallel(%q) took it", bad)
		}
	}
	if err := j.SetParallel("auto"); err != nil || !j.ParallelAuto {
		t.Fatal(err)
	}
	if err := j.SetParallel("9"); err != nil || j.ParallelAuto || j.Parallel != 9 {
		t.Errorf("a number after auto: %+v %v", j, err)
	}
}
