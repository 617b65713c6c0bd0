package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/jobs"
)

const statusHelp = `status -jobs FILE [-json] [JOB...]

Shows, for each job of the job file (or the named ones): whether it is
running and since when, the last run (start, duration, result, files
fetched and deleted, bytes, failures), the last success, the next
scheduled time, and whether the job is STALE: its last success is older
than its max_age, or it never succeeded. It reads the status file each
run keeps beside the job's state database (NAME.status.json), so it
works while the daemon runs and for runs started from cron.

Exit status: 0; 1 if a job is stale; 2 for a bad job file or job name.
`

// cmdStatus is `ftpmirror status`.
func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("status", statusHelp)
	jobsPath := fs.String("jobs", "", "job file (required)")
	jsonOut := fs.Bool("json", false, "print a JSON array of job reports instead of a table")
	names, err := fs.parseArgs(args, stdout)
	if err != nil {
		return err
	}
	if *jobsPath == "" {
		return usagef("status: -jobs FILE is required (run \"ftpmirror help status\")")
	}
	f, err := jobs.Load(*jobsPath)
	if err != nil {
		return err
	}
	specs, err := f.Select(names)
	if err != nil {
		return err
	}
	now := time.Now()
	reports := make([]jobs.Report, len(specs))
	for i, spec := range specs {
		reports[i] = jobs.ReportOf(spec, now, spec.Next(now), time.Time{})
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(reports); err != nil {
			return err
		}
	} else {
		printReports(stdout, reports, now)
	}
	for _, r := range reports {
		if r.Stale {
			return &exitError{code: exitPartial}
		}
	}
	return nil
}

// printReports prints reports as a table, then the errors of failed runs.
func printReports(w io.Writer, reports []jobs.Report, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tLAST RUN\tDURATION\tRESULT\tFETCHED\tDELETED\tFAILED\tBYTES\tLAST SUCCESS\tNEXT\tFRESH")
	for _, r := range reports {
		last, dur, result, fetched, deleted, failed, bytes := "never", "-", "-", "-", "-", "-", "-"
		if s := r.LastRun; s != nil {
			last = ago(now, s.Start)
			dur = (time.Duration(s.DurationMS) * time.Millisecond).Round(time.Second / 10).String()
			result = string(s.Result)
			fetched = fmt.Sprint(s.Fetched + s.Resumed)
			deleted = fmt.Sprint(s.Deleted)
			failed = fmt.Sprint(s.Failed)
			bytes = jobs.FormatBytes(s.Bytes)
		}
		if r.Running {
			result = "running since " + ago(now, r.RunningSince)
			if r.LastRun != nil {
				result += " (last " + string(r.LastRun.Result) + ")"
			}
		}
		success := "never"
		if !r.LastSuccess.IsZero() {
			success = ago(now, r.LastSuccess)
		}
		next := "-"
		if !r.Next.IsZero() {
			next = r.Next.Local().Format("2006-01-02 15:04")
		}
		fresh := "ok"
		switch {
		case r.MaxAge == "":
			fresh = "-"
		case r.Stale:
			fresh = "STALE (max_age " + r.MaxAge + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			r.Job, last, dur, result, fetched, deleted, failed, bytes, success, next, fresh)
	}
	tw.Flush()
	for _, r := range reports {
		if r.Error != "" {
			fmt.Fprintf(w, "%s: %s\n", r.Job, r.Error)
		}
		if r.Running {
			fmt.Fprintf(w, "%s: running in %s\n", r.Job, r.RunningIn)
		}
		if r.LastRun != nil {
			for _, e := range r.LastRun.Errors {
				fmt.Fprintf(w, "%s: %s\n", r.Job, e)
			}
		}
	}
}

// ago formats t as a local time with how long ago it was.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "?"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		d = 0
	case d < time.Minute:
		d = d.Round(time.Second)
	default:
		d = d.Round(time.Minute)
	}
	return t.Local().Format("2006-01-02 15:04") + " (" + d.String() + " ago)"
}
