package jobs

import (
	"fmt"
	"strings"
	"time"
)

// Setting is one setting of a job, as a job-file key and its value.
type Setting struct{ Key, Value string }

// Settings returns every setting of the job as it will run, defaults
// included, as job-file keys; never a password (only where it comes
// from).
func (j *Job) Settings() []Setting {
	src := j.Source
	if s, err := ParseSource(j.Source); err == nil {
		src = s.String()
	}
	mode := "passive"
	if j.Active {
		mode = "active"
	}
	password := "from the URL, $FTPMIRROR_PASSWORD or ~/.netrc"
	switch {
	case j.PasswordEnv != "":
		password = "from $" + j.PasswordEnv
	case j.PasswordFile != "":
		password = "from " + j.PasswordFile
	}
	state := j.StatePath
	if paths, err := j.Paths(); err == nil {
		state = paths.DB
	} else if state == "" {
		state = "? (" + err.Error() + ")"
	}
	orNone := func(d time.Duration) string {
		if d == 0 {
			return "0 (none)"
		}
		return d.String()
	}
	return []Setting{
		{"name", j.Name},
		{"schedule", j.Schedule},
		{"source", src},
		{"target", j.Target},
		{"user", j.User},
		{"password", password},
		{"mode", mode},
		{"tls", j.TLS},
		{"tls_ca_file", j.TLSCAFile},
		{"tls_insecure", fmt.Sprint(j.TLSInsecure)},
		{"timeout", j.Timeout.String()},
		{"parallel", j.ParallelString()},
		{"retries", fmt.Sprint(j.Retries)},
		{"segments", fmt.Sprint(j.Segments)},
		{"delete", fmt.Sprint(j.Delete)},
		{"max_delete", j.MaxDelete},
		{"include", strings.Join(j.Include, " ")},
		{"exclude", strings.Join(j.Exclude, " ")},
		{"max_size", sizeOrNone(j.MaxSize)},
		{"min_file_age", orNone(j.MinFileAge)},
		{"max_file_age", orNone(j.MaxFileAge)},
		{"symlinks", j.Symlinks},
		{"limit_rate", sizeOrNone(j.LimitRate)},
		{"state", state},
		{"dry_run", fmt.Sprint(j.DryRun)},
		{"quiet", fmt.Sprint(j.Quiet)},
		{"pipelining", fmt.Sprint(j.Pipelining)},
		{"jitter", orNone(j.Jitter)},
		{"catch_up", fmt.Sprint(j.CatchUp)},
		{"max_age", orNone(j.Freshness)},
		{"on_success", strings.Join(j.OnSuccess, " ")},
		{"on_failure", strings.Join(j.OnFailure, " ")},
		{"on_change", strings.Join(j.OnChange, " ")},
		{"hook_timeout", j.HookTimeout.String()},
	}
}

func sizeOrNone(n int64) string {
	if n == 0 {
		return "0 (none)"
	}
	return FormatBytes(n)
}
