package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/renameio/v2"

	"github.com/ftpmirror/ftpmirror/mirror"
	"github.com/ftpmirror/ftpmirror/state"
)

// How `status` gets its data while the daemon runs: a job's state
// database is locked exclusively by bbolt for as long as a run has it
// open, so status cannot read the run history then. Instead every run
// started from a job file (daemon or `sync -jobs`) keeps a small status
// file, NAME.status.json beside the database, replaced atomically
// (write a temporary file, rename) when the run starts and when it ends.
// status reads those files, which needs no lock and no running daemon,
// and works the same for runs from cron. Whether a run is going on right
// now is decided by probing the job's lock (lock.go), so a run killed
// with SIGKILL is not shown as running forever. A job with no status
// file yet (its runs predate it, or came from ad-hoc syncs) falls back
// to the database's run history, read-only, if it is not locked.
// The daemon's /status serves the same reports, plus live progress.

// jobStatus is the content of NAME.status.json.
type jobStatus struct {
	Job          string          `json:"job"`
	Running      bool            `json:"running"`
	RunStart     time.Time       `json:"run_start,omitzero"` // start of the run going on (or cut short)
	PID          int             `json:"pid,omitempty"`      // of the process running it
	LastRun      *mirror.Summary `json:"last_run,omitempty"` // the last finished run
	LastSuccess  time.Time       `json:"last_success,omitzero"`
	HookFailures int64           `json:"hook_failures,omitempty"` // since the file was created
}

// jobPaths are the files of one job: its state database, and beside it
// its lock and status files, named after the job (not the database, which
// jobs may share).
type jobPaths struct {
	db, lock, status string
}

func (s *jobSpec) paths() (jobPaths, error) {
	db, err := s.statePath(s.Name)
	if err != nil {
		return jobPaths{}, err
	}
	dir := filepath.Dir(db)
	base := strings.TrimSuffix(stateFileName(s.Name), ".db")
	return jobPaths{
		db:     db,
		lock:   filepath.Join(dir, base+".lock"),
		status: filepath.Join(dir, base+".status.json"),
	}, nil
}

// readStatusFile reads a status file; a missing one is not an error
// (ok is false).
func readStatusFile(path string) (st jobStatus, ok bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return jobStatus{}, false, nil
	}
	if err != nil {
		return jobStatus{}, false, err
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return jobStatus{}, false, fmt.Errorf("%s: %w", path, err)
	}
	return st, true, nil
}

// writeStatusFile replaces path with st atomically.
func writeStatusFile(path string, st jobStatus) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	// renameio writes a temporary file, fsyncs it and renames it into
	// place: a reader sees the old status or the new one, even after a
	// crash, never a torn one.
	if err := renameio.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("status file: %w", err)
	}
	return nil
}

// statusFromDB builds a status from the run history in the state
// database, for a job without a status file. It gives up at once if the
// database is locked. No database, or no runs in it, is not an error.
func statusFromDB(path, job string) (jobStatus, bool, error) {
	if !fileExists(path) {
		return jobStatus{}, false, nil
	}
	db, err := state.Open(path, &state.Options{ReadOnly: true, Timeout: 50 * time.Millisecond})
	if err != nil {
		return jobStatus{}, false, err
	}
	defer db.Close()
	runs, err := db.Job(job).Runs(state.MaxRuns)
	if err != nil || len(runs) == 0 {
		return jobStatus{}, false, err
	}
	st := jobStatus{Job: job, LastRun: summaryOfRun(job, runs[0])}
	for _, r := range runs {
		if mirror.Result(r.Result) == mirror.ResultOK {
			st.LastSuccess = r.End
			break
		}
	}
	return st, true, nil
}

func summaryOfRun(job string, r state.Run) *mirror.Summary {
	return &mirror.Summary{
		Job: job, Start: r.Start, End: r.End, Result: mirror.Result(r.Result),
		Listed: r.Listed, Fetched: r.Fetched, Adopted: r.Adopted, Deleted: r.Deleted,
		Skipped: r.Skipped, Failed: r.Failed, Bytes: r.Bytes, Errors: r.Errors,
		DurationMS: r.End.Sub(r.Start).Milliseconds(),
	}
}

// jobReport is what status prints for a job and /status serves.
type jobReport struct {
	Job          string          `json:"job"`
	Schedule     string          `json:"schedule,omitempty"`
	Running      bool            `json:"running"`
	RunningSince time.Time       `json:"running_since,omitzero"`
	RunningIn    string          `json:"running_in,omitempty"` // who holds the job lock
	Progress     *progressReport `json:"progress,omitempty"`   // daemon only
	LastRun      *mirror.Summary `json:"last_run,omitempty"`
	LastSuccess  time.Time       `json:"last_success,omitzero"`
	Next         time.Time       `json:"next,omitzero"` // next scheduled run (before jitter)
	MaxAge       string          `json:"max_age,omitempty"`
	Stale        bool            `json:"stale"` // last success older than max_age (or none)
	HookFailures int64           `json:"hook_failures,omitempty"`
	Error        string          `json:"error,omitempty"` // the status could not be read
}

// progressReport is the live progress of a run in the daemon.
type progressReport struct {
	FilesDone  int64 `json:"files_done"`
	FilesTotal int64 `json:"files_total"`
	BytesDone  int64 `json:"bytes_done"`
	BytesTotal int64 `json:"bytes_total"`
	InFlight   int64 `json:"in_flight"`
}

// stale says whether a job with freshness bound maxAge and last success
// lastSuccess is stale at now. A job that never succeeded is stale,
// unless grace is set and maxAge has not passed since then (a daemon
// just started, giving a new job time for its first run).
func stale(maxAge time.Duration, lastSuccess, grace, now time.Time) bool {
	switch {
	case maxAge <= 0:
		return false
	case !lastSuccess.IsZero():
		return now.Sub(lastSuccess) > maxAge
	case !grace.IsZero():
		return now.Sub(grace) > maxAge
	}
	return true
}

// jobReportOf reads what there is to know about spec's runs at now:
// status file (else run history) and lock. next is the next scheduled
// time; grace as for stale.
func jobReportOf(spec *jobSpec, now, next, grace time.Time) jobReport {
	r := jobReport{Job: spec.Name, Schedule: spec.Schedule, Next: next}
	if spec.Freshness > 0 {
		r.MaxAge = spec.Freshness.String()
	}
	paths, err := spec.paths()
	if err != nil {
		r.Error = err.Error()
		return r
	}
	st, ok, err := readStatusFile(paths.status)
	if err != nil {
		r.Error = err.Error()
	}
	if !ok {
		st, _, _ = statusFromDB(paths.db, spec.Name)
	}
	r.LastRun = st.LastRun
	r.LastSuccess = st.LastSuccess
	r.HookFailures = st.HookFailures
	if holder, held := probeJobLock(paths.lock); held {
		r.Running = true
		r.RunningIn = holder.String()
		r.RunningSince = holder.Since
		if st.Running && !st.RunStart.IsZero() {
			r.RunningSince = st.RunStart
		}
	}
	r.Stale = stale(spec.Freshness, r.LastSuccess, grace, now)
	return r
}

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
	f, err := loadJobFile(*jobsPath)
	if err != nil {
		return usagef("%w", err)
	}
	specs, err := selectJobs(f, names)
	if err != nil {
		return err
	}
	now := time.Now()
	reports := make([]jobReport, len(specs))
	for i, spec := range specs {
		reports[i] = jobReportOf(spec, now, spec.next(now), time.Time{})
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
func printReports(w io.Writer, reports []jobReport, now time.Time) {
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
			bytes = humanBytes(s.Bytes)
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
