package jobs

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
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
		{"mode", j.Mode},
		{"tls", j.TLS},
		{"tls_ca_file", j.TLSCAFile},
		{"tls_insecure", fmt.Sprint(j.TLSInsecure)},
		{"timeout", j.Timeout.String()},
		{"parallel", j.ParallelString()},
		{"retries", fmt.Sprint(j.Retries)},
		{"segments", fmt.Sprint(j.Segments)},
		{"publish", j.Publish},
		{"keep_snapshots", fmt.Sprint(j.KeepSnapshots)},
		{"sentinel", j.Sentinel},
		{"delete", fmt.Sprint(j.Delete)},
		{"max_delete", j.MaxDelete},
		{"include", strings.Join(j.Include, " ")},
		{"exclude", strings.Join(j.Exclude, " ")},
		{"last", strings.Join(j.Last, " ")},
		{"max_size", sizeOrNone(j.MaxSize)},
		{"min_file_age", orNone(j.MinFileAge)},
		{"max_file_age", orNone(j.MaxFileAge)},
		{"symlinks", j.Symlinks},
		{"verify", j.Verify},
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

// WriteTable prints the jobs of the file as a table (what ftpmirror
// check shows): name, schedule, next run from now, source without a
// password, target; with verbose, then every setting of every job.
func (f *File) WriteTable(w io.Writer, now time.Time, verbose bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tSCHEDULE\tNEXT RUN\tSOURCE\tTARGET")
	for _, j := range f.Jobs {
		sched, next := "-", "- (sync -jobs only)"
		if j.Schedule != "" {
			sched = j.Schedule
			next = j.Next(now).Local().Format("2006-01-02 15:04:05 MST")
		}
		src := j.Source
		if s, err := ParseSource(j.Source); err == nil {
			src = s.String() // without a password
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", j.Name, sched, next, src, j.Target)
	}
	tw.Flush()
	if verbose {
		for _, j := range f.Jobs {
			fmt.Fprintln(w)
			j.WriteSettings(w)
		}
	}
}

// WriteSettings prints every setting of the job as it will run, as
// job-file keys; never a password.
func (j *Job) WriteSettings(w io.Writer) {
	fmt.Fprintf(w, "[[job]] # line %d\n", j.Line)
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	for _, s := range j.Settings() {
		fmt.Fprintf(tw, "  %s\t= %s\n", s.Key, s.Value)
	}
	tw.Flush()
}
