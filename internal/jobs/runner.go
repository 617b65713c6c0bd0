package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/ftpmirror/ftpmirror/mirror"
	"github.com/ftpmirror/ftpmirror/state"
)

// Mirror runs one job once: it opens the state database, runs the
// mirror and records the run. It is the one path that sync, the demo and
// the daemon share. setup, if not nil, may set Report and Progress. A
// dry run opens the state read-only, or plans against none when there is
// no state file yet: it writes nothing, not even an empty database.
func Mirror(ctx context.Context, j *Job, logger *slog.Logger, setup func(*mirror.Options)) (*mirror.Summary, error) {
	opts, cred, err := j.Options()
	if err != nil {
		return nil, err
	}
	for _, w := range cred.Warnings {
		logger.Warn("credentials: "+w, "job", opts.Job)
	}
	path, err := j.statePath(opts.Job)
	if err != nil {
		return nil, err
	}
	if !j.DryRun || fileExists(path) {
		db, err := state.Open(path, &state.Options{Timeout: 2 * time.Second, ReadOnly: j.DryRun})
		if err != nil {
			return nil, fmt.Errorf("job %s: %w", opts.Job, err)
		}
		defer compact(db, logger, opts.Job)
		opts.State = db
	}
	opts.Logger = logger
	if setup != nil {
		setup(opts)
	}
	sum, err := mirror.Run(ctx, opts)
	if err != nil {
		err = WithNextStep(err, opts, cred)
		if sum != nil && len(sum.Errors) > 0 && ctx.Err() == nil {
			sum.Errors[0] = err.Error()
		}
	}
	return sum, err
}

// compact closes db after a run, rewriting its file with full pages if
// the run changed many records and left it sparse. A failure leaves the
// file as the run left it, so it is a warning: the run's outcome stands.
func compact(db *state.DB, logger *slog.Logger, job string) {
	c, err := db.CloseCompact(state.CompactChanges)
	switch {
	case err != nil:
		logger.Warn("state: not compacted: "+err.Error(), "job", job)
	case c.After > 0:
		logger.Info("state compacted", "job", job, "path", db.Path(), "before", c.Before, "after", c.After)
	}
}

// MirrorFunc is the signature of [Mirror].
type MirrorFunc func(ctx context.Context, j *Job, logger *slog.Logger, setup func(*mirror.Options)) (*mirror.Summary, error)

// Observer watches the runs of a [Runner]: the daemon's Prometheus
// metrics are one. Its methods are called from the run's goroutine and
// must not block.
type Observer interface {
	// RunStarted: a run of job is going on, with its live counters.
	RunStarted(job string, p *mirror.Progress)
	// RunStopped: the run going on has ended (also when it panicked).
	RunStopped(job string)
	// RunFinished: the run ended with sum (not called for skipped runs).
	RunFinished(job string, sum *mirror.Summary)
	// HookFailed: a hook of job failed or timed out.
	HookFailed(job, hook string)
}

// nopObserver observes nothing.
type nopObserver struct{}

func (nopObserver) RunStarted(string, *mirror.Progress) {}
func (nopObserver) RunStopped(string)                   {}
func (nopObserver) RunFinished(string, *mirror.Summary) {}
func (nopObserver) HookFailed(string, string)           {}

// Runner runs one job once with what a job from a job file has around
// [Mirror]: the job lock, the status file, the observer and hooks. The
// daemon and `sync -jobs` share it.
type Runner struct {
	Logger   *slog.Logger
	Cmd      string              // "daemon" or "sync", noted in the lock file
	Observer Observer            // nil: nobody watches
	Now      func() time.Time    // nil means time.Now
	Plan     func(mirror.Action) // a dry run's plan goes here; nil: discarded
	Mirror   MirrorFunc          // nil means Mirror; tests make runs misbehave
}

func (r *Runner) clock() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) observer() Observer {
	if r.Observer == nil {
		return nopObserver{}
	}
	return r.Observer
}

func (r *Runner) mirror(ctx context.Context, j *Job, setup func(*mirror.Options)) (*mirror.Summary, error) {
	if r.Mirror != nil {
		return r.Mirror(ctx, j, r.Logger, setup)
	}
	return Mirror(ctx, j, r.Logger, setup)
}

// Run runs j once. It returns the run's summary (also when the run
// failed after it got going, and a made-up "failed" one when it failed
// before) and its error. A job locked by another process is not run: nil
// and an error for which [IsLocked] holds.
func (r *Runner) Run(ctx context.Context, j *Job) (*mirror.Summary, error) {
	if j.DryRun {
		return r.dryRun(ctx, j)
	}
	logger := r.Logger.With("job", j.Name)
	paths, err := j.Paths()
	if err != nil {
		logger.Error("run failed", "err", err)
		return nil, configf("job %s: %w", j.Name, err)
	}
	lock, err := AcquireLock(ctx, paths.Lock, j.Name, r.Cmd, time.Second)
	if err != nil {
		var le *LockedError
		if errors.As(err, &le) {
			logger.Warn("run skipped: job locked", "holder", le.Holder.String())
		} else {
			logger.Error("run failed", "err", err)
		}
		return nil, err
	}
	defer lock.Release()

	st, _, err := ReadStatus(paths.Status)
	if err != nil {
		logger.Warn("status file unreadable; starting a new one", "err", err)
	}
	st.Job = j.Name
	prev := st
	st.Running, st.RunStart, st.PID = true, r.clock().UTC(), os.Getpid()
	r.saveStatus(logger, paths.Status, st)

	sum, err := r.observed(ctx, j)
	if IsLocked(err) {
		// The database is locked by someone outside the job lock (a
		// shared state file, an ad-hoc sync): not a run of this job.
		r.saveStatus(logger, paths.Status, prev)
		logger.Warn("run skipped: state database locked", "err", err)
		return nil, err
	}
	if sum == nil {
		sum = r.failedSummary(ctx, j, st.RunStart, err)
		logger.Error("run failed", "err", err)
	}
	st.Running, st.RunStart, st.PID = false, time.Time{}, 0
	st.LastRun = sum
	if sum.Result == mirror.ResultOK {
		st.LastSuccess = sum.End
	}
	r.saveStatus(logger, paths.Status, st)
	r.observer().RunFinished(j.Name, sum)

	if ctx.Err() != nil {
		logger.Info("hooks not run: shutting down")
		return sum, err
	}
	if n := runHooks(ctx, j, sum, logger, r.observer()); n > 0 {
		st.HookFailures += int64(n)
		r.saveStatus(logger, paths.Status, st)
	}
	return sum, err
}

// observed resolves j's password and mirrors it, with the observer told
// of the run's start and end.
func (r *Runner) observed(ctx context.Context, j *Job) (*mirror.Summary, error) {
	prog := &mirror.Progress{}
	obs := r.observer()
	obs.RunStarted(j.Name, prog)
	defer obs.RunStopped(j.Name) // also when the run panics
	jc, err := j.ResolvePassword()
	if err != nil {
		return nil, err
	}
	// mirror.Run adds the job to its lines itself.
	return r.mirror(ctx, jc, func(o *mirror.Options) { o.Progress = prog })
}

// failedSummary makes up the summary of a run that failed before
// mirror.Run had one.
func (r *Runner) failedSummary(ctx context.Context, j *Job, start time.Time, err error) *mirror.Summary {
	sum := &mirror.Summary{Job: j.Name, Start: start, End: r.clock().UTC(), Result: mirror.ResultFailed}
	if ctx.Err() != nil {
		sum.Result = mirror.ResultInterrupted
	}
	sum.DurationMS = sum.End.Sub(sum.Start).Milliseconds()
	if err != nil {
		sum.Errors = []string{err.Error()}
	}
	return sum
}

// dryRun runs a dry run of j: only the plan, with none of what a run has
// around it, because each writes (the job lock and status files) or acts
// (hooks, the observer).
func (r *Runner) dryRun(ctx context.Context, j *Job) (*mirror.Summary, error) {
	jc, err := j.ResolvePassword()
	if err != nil {
		return nil, err
	}
	return r.mirror(ctx, jc, func(o *mirror.Options) { o.Report = r.Plan })
}

// DefaultStopTimeout bounds a shutdown: running transfers get this long
// to stop and leave resumable partial files. Keep the systemd unit's
// TimeoutStopSec and Kubernetes' terminationGracePeriodSeconds above it.
const DefaultStopTimeout = 30 * time.Second

// RunBounded is Run, but returns at most stop after ctx is cancelled, so
// that `sync -jobs` under a scheduler exits within its grace period
// (Kubernetes' terminationGracePeriodSeconds, systemd's TimeoutStopSec)
// even if a run is slow to stop. The run is then left to die with the
// process; a partial file it was writing is recorded as such before the
// transfer starts, so the next run still resumes it.
func (r *Runner) RunBounded(ctx context.Context, j *Job, stop time.Duration) (*mirror.Summary, error) {
	type result struct {
		sum *mirror.Summary
		err error
	}
	done := make(chan result, 1)
	go func() {
		sum, err := r.Run(ctx, j)
		done <- result{sum, err}
	}()
	select {
	case res := <-done:
		return res.sum, res.err
	case <-ctx.Done():
	}
	t := time.NewTimer(stop)
	defer t.Stop()
	select {
	case res := <-done:
		return res.sum, res.err
	case <-t.C:
		r.Logger.Error("run still stopping; exiting anyway", "job", j.Name, "timeout", stop)
		return nil, fmt.Errorf("job %s: still stopping %v after the interrupt: %w", j.Name, stop, ctx.Err())
	}
}

func (r *Runner) saveStatus(logger *slog.Logger, path string, st Status) {
	if err := WriteStatus(path, st); err != nil {
		logger.Warn("status file not written", "err", err)
	}
}
