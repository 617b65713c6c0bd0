package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
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

// Status is the content of NAME.status.json.
type Status struct {
	Job          string          `json:"job"`
	Running      bool            `json:"running"`
	RunStart     time.Time       `json:"run_start,omitzero"` // start of the run going on (or cut short)
	PID          int             `json:"pid,omitempty"`      // of the process running it
	LastRun      *mirror.Summary `json:"last_run,omitempty"` // the last finished run
	LastSuccess  time.Time       `json:"last_success,omitzero"`
	HookFailures int64           `json:"hook_failures,omitempty"` // since the file was created
}

// ReadStatus reads a status file; a missing one is not an error
// (ok is false).
func ReadStatus(path string) (st Status, ok bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Status{}, false, nil
	}
	if err != nil {
		return Status{}, false, err
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return Status{}, false, fmt.Errorf("%s: %w", path, err)
	}
	return st, true, nil
}

// WriteStatus replaces path with st atomically.
func WriteStatus(path string, st Status) error {
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

// StatusFromDB builds a status from the run history in the state
// database, for a job without a status file. It gives up at once if the
// database is locked. No database, or no runs in it, is not an error.
func StatusFromDB(path, job string) (Status, bool, error) {
	if !fileExists(path) {
		return Status{}, false, nil
	}
	db, err := state.Open(path, &state.Options{ReadOnly: true, Timeout: 50 * time.Millisecond})
	if err != nil {
		return Status{}, false, err
	}
	defer db.Close()
	runs, err := db.Job(job).Runs(state.MaxRuns)
	if err != nil || len(runs) == 0 {
		return Status{}, false, err
	}
	st := Status{Job: job, LastRun: summaryOfRun(job, runs[0])}
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

// Report is what status prints for a job and /status serves.
type Report struct {
	Job          string          `json:"job"`
	Schedule     string          `json:"schedule,omitempty"`
	Running      bool            `json:"running"`
	RunningSince time.Time       `json:"running_since,omitzero"`
	RunningIn    string          `json:"running_in,omitempty"` // who holds the job lock
	Progress     *ProgressReport `json:"progress,omitempty"`   // daemon only
	LastRun      *mirror.Summary `json:"last_run,omitempty"`
	LastSuccess  time.Time       `json:"last_success,omitzero"`
	Next         time.Time       `json:"next,omitzero"` // next scheduled run (before jitter)
	MaxAge       string          `json:"max_age,omitempty"`
	Stale        bool            `json:"stale"` // last success older than max_age (or none)
	HookFailures int64           `json:"hook_failures,omitempty"`
	Error        string          `json:"error,omitempty"` // the status could not be read
}

// ProgressReport is the live progress of a run in the daemon.
type ProgressReport struct {
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

// ReportOf reads what there is to know about j's runs at now:
// status file (else run history) and lock. next is the next scheduled
// time; grace as for stale.
func ReportOf(j *Job, now, next, grace time.Time) Report {
	r := Report{Job: j.Name, Schedule: j.Schedule, Next: next}
	if j.Freshness > 0 {
		r.MaxAge = j.Freshness.String()
	}
	paths, err := j.Paths()
	if err != nil {
		r.Error = err.Error()
		return r
	}
	st, ok, err := ReadStatus(paths.Status)
	if err != nil {
		r.Error = err.Error()
	}
	if !ok {
		st, _, _ = StatusFromDB(paths.DB, j.Name)
	}
	r.LastRun = st.LastRun
	r.LastSuccess = st.LastSuccess
	r.HookFailures = st.HookFailures
	if holder, held := ProbeLock(paths.Lock); held {
		r.Running = true
		r.RunningIn = holder.String()
		r.RunningSince = holder.Since
		if st.Running && !st.RunStart.IsZero() {
			r.RunningSince = st.RunStart
		}
	}
	r.Stale = stale(j.Freshness, r.LastSuccess, grace, now)
	return r
}

// WriteReports prints reports as a table (what ftpmirror status shows),
// then the errors of failed runs.
func WriteReports(w io.Writer, reports []Report, now time.Time) {
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
			bytes = FormatBytes(s.Bytes)
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

// SummaryLine is the one line a run ends with (sync, demo).
func SummaryLine(s *mirror.Summary) string {
	d := s.End.Sub(s.Start)
	rate := ""
	if secs := d.Seconds(); secs > 0 && s.Bytes > 0 {
		rate = fmt.Sprintf(", %s/s", FormatBytes(int64(float64(s.Bytes)/secs)))
	}
	if s.Snapshot != "" {
		rate += "; published snapshots/" + s.Snapshot
	}
	if s.SentinelUnchanged {
		rate += "; sentinel unchanged since the last complete run: nothing to do"
	}
	if s.ClockLearned != "" {
		rate += "; server's LIST times learned to be " + s.ClockLearned
	}
	return fmt.Sprintf("%s: %s: %d dirs, %d files listed, %d fetched (%s), %d adopted, %d unchanged, %d deleted, %d skipped, %d failed in %s%s",
		mirror.QuotePath(s.Job), s.Result, s.Dirs, s.Listed, s.Fetched, FormatBytes(s.Bytes), s.Adopted, s.Unchanged, s.Deleted, s.Skipped, s.Failed,
		d.Round(10*time.Millisecond), rate)
}
