package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/jobs"
)

const checkHelp = `check -jobs FILE [-v]

Validates a job file without connecting anywhere: TOML syntax, unknown
keys, missing or duplicate job names, cron schedules, source URLs,
durations, sizes, modes, globs, hook programs, and password files that
cannot be read. Every problem is reported on its own line, as
FILE:LINE: job "NAME": KEY: message. Warnings (a password in a URL, a
password_env variable not set in this environment, a password file
others can read) do not fail the check.

On success it prints each job with its schedule and next run time.

Exit status: 0 if the file is valid; 2 if not.
`

// cmdCheck is `ftpmirror check`.
func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check", checkHelp)
	jobsPath := fs.String("jobs", "", "job file (required)")
	verbose := fs.Bool("v", false, "print every setting of every job, defaults included")
	if err := fs.parse(args, stdout); err != nil {
		return err
	}
	if *jobsPath == "" {
		return usagef("check: -jobs FILE is required (run \"ftpmirror help check\")")
	}
	f, err := jobs.Load(*jobsPath)
	var fe *jobs.FileError
	if errors.As(err, &fe) {
		for _, e := range fe.Errs {
			fmt.Fprintln(stderr, e)
		}
		n := len(fe.Errs)
		return &exitError{code: exitUsage, err: fmt.Errorf("%s: %d problem%s", *jobsPath, n, plural(n))}
	}
	if err != nil {
		return err
	}
	for _, w := range f.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	fmt.Fprintf(stdout, "%s: %d job%s, OK\n", f.Path, len(f.Jobs), plural(len(f.Jobs)))
	f.WriteTable(stdout, time.Now(), *verbose)
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
