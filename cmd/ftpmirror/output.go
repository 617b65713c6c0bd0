package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/jobs"
	"github.com/ftpmirror/ftpmirror/internal/termbar"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// What sync (and demo) print: the log's writer, a dry run's plan, a
// run's summary line or JSON.

// logWriter is where log lines go: on a terminal, each clears the line
// first, so that it does not run into the progress bar.
func logWriter(stderr io.Writer) io.Writer {
	if termbar.IsTerminal(stderr) {
		return termbar.ClearLine{W: stderr}
	}
	return stderr
}

// runError is the error of a run that returned sum and err: err, or
// errPartial when files failed.
func runError(sum *mirror.Summary, err error) error {
	if err == nil && sum != nil && sum.Failed > 0 {
		return errPartial
	}
	return err
}

// runOutput prints what a run has to say: the dry run's plan, the
// summary (a line or JSON), on stdout.
type runOutput struct {
	stdout, stderr io.Writer
	json           bool
	indent         bool // JSON over several lines (one job), not one line per job

	mu sync.Mutex
}

// planReporter returns the mirror.Options.Report that prints a dry
// run's plan, one line per action, names quoted.
func (o *runOutput) planReporter() func(mirror.Action) {
	return func(a mirror.Action) {
		if a.Verb == mirror.VerbSkip && a.Reason == "unchanged" {
			return
		}
		o.mu.Lock()
		defer o.mu.Unlock()
		fmt.Fprintln(o.stdout, a) // paths quoted where they need it
	}
}

// summary prints how a job's run ended: with -q, only if it did not
// succeed.
func (o *runOutput) summary(job string, sum *mirror.Summary, err error, quiet bool) {
	if exitCode(context.Background(), err) == exitLocked {
		sum = nil // not a run: another one has the job or the target
	}
	if sum == nil {
		result := mirror.ResultFailed
		if exitCode(context.Background(), err) == exitLocked {
			result = mirror.ResultLocked
		}
		sum = &mirror.Summary{Job: job, Result: result}
		if err != nil {
			sum.Errors = []string{err.Error()}
		}
	}
	if quiet && err == nil && (sum.Result == mirror.ResultOK || sum.Result == mirror.ResultDryRun) {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.json {
		enc := json.NewEncoder(o.stdout)
		enc.SetEscapeHTML(false)
		if o.indent {
			enc.SetIndent("", "  ")
		}
		enc.Encode(sum)
		return
	}
	var le *jobs.LockedError
	var tle *mirror.TargetLockedError
	switch {
	case errors.As(err, &le):
		fmt.Fprintf(o.stdout, "%s: locked, skipped: running in %v\n", job, le.Holder)
		return
	case errors.As(err, &tle):
		fmt.Fprintf(o.stdout, "%s: locked, skipped: target %s is being written by %v\n", job, tle.Target, tle.Holder)
		return
	case sum.End.IsZero(), errors.Is(err, mirror.ErrNotStarted):
		fmt.Fprintf(o.stdout, "%s: %s: %v\n", job, sum.Result, describe(err))
		return
	}
	fmt.Fprintln(o.stdout, summaryLine(sum))
	if err != nil {
		fmt.Fprintf(o.stdout, "%s: %s: %v\n", job, sum.Result, describe(err))
	}
}

// summaryLine is the one line a run ends with.
func summaryLine(s *mirror.Summary) string {
	d := s.End.Sub(s.Start)
	rate := ""
	if secs := d.Seconds(); secs > 0 && s.Bytes > 0 {
		rate = fmt.Sprintf(", %s/s", jobs.FormatBytes(int64(float64(s.Bytes)/secs)))
	}
	if s.Snapshot != "" {
		rate += "; published snapshots/" + s.Snapshot
	}
	return fmt.Sprintf("%s: %s: %d dirs, %d files listed, %d fetched (%s), %d adopted, %d unchanged, %d deleted, %d skipped, %d failed in %s%s",
		mirror.QuotePath(s.Job), s.Result, s.Dirs, s.Listed, s.Fetched, jobs.FormatBytes(s.Bytes), s.Adopted, s.Unchanged, s.Deleted, s.Skipped, s.Failed,
		d.Round(10*time.Millisecond), rate)
}

// describe is err's text, or "" for none.
func describe(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
