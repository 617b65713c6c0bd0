package main

import (
	"context"
	"encoding/json"
	"io"
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
		jobs.WriteReports(stdout, reports, now)
	}
	for _, r := range reports {
		if r.Stale {
			return &exitError{code: exitPartial}
		}
	}
	return nil
}
