package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/ftpmirror/ftpmirror/mirror"
)

// runJobsOnce runs specs once each, one after the other: `ftpmirror sync
// -jobs FILE [JOB...]`, the form for system cron and batch schedulers.
// It prints a line per job to stdout (a JSON summary per line with
// -json; with -q only for jobs that did not succeed), and returns an
// *exitError with the worst job's status (see worseExit), or nil if
// every job was ok. An interrupt stops after the current job.
func runJobsOnce(ctx context.Context, specs []*jobSpec, sf *syncFlags, stdout, stderr io.Writer) error {
	out := &runOutput{stdout: stdout, stderr: stderr, json: sf.jsonOut}
	worst := exitOK
	for _, spec := range specs {
		if ctx.Err() != nil {
			break
		}
		logger, err := sf.log.logger(logWriter(stderr), spec.Quiet)
		if err != nil {
			return err
		}
		r := &jobRunner{logger: logger, cmd: "sync"}
		if spec.DryRun {
			r.plan = out.planReporter()
		}
		sum, err := r.runBounded(ctx, spec, defaultStopTimeout)
		out.summary(spec.Name, sum, err, spec.Quiet)
		worst = worseExit(worst, exitCode(ctx, runError(sum, err)))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if worst == exitOK {
		return nil
	}
	return &exitError{code: worst}
}

// selectJobs returns the jobs called names, in the file's order when
// names is empty, else in names' order.
func selectJobs(f *jobFile, names []string) ([]*jobSpec, error) {
	if len(names) == 0 {
		return f.Jobs, nil
	}
	var specs []*jobSpec
	for _, n := range names {
		s := f.job(n)
		if s == nil {
			known := make([]string, len(f.Jobs))
			for i, j := range f.Jobs {
				known[i] = j.Name
			}
			return nil, usagef("%s: no job %q (jobs: %v)", f.Path, n, known)
		}
		specs = append(specs, s)
	}
	return specs, nil
}

// worseExit returns the worse of two exit statuses. From best to worst:
// ok (0), locked and skipped (4: the job is running elsewhere, nothing
// is wrong), some files failed (1), nothing could be done (5), safety
// guard (3: a human must look), configuration error (2), interrupted.
func worseExit(a, b int) int {
	rank := func(c int) int {
		switch c {
		case exitOK:
			return 0
		case exitLocked:
			return 1
		case exitPartial:
			return 2
		case exitNotStarted:
			return 3
		case exitGuard:
			return 4
		case exitUsage:
			return 5
		}
		return 6
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// runJobFunc is runJob; tests replace it to make runs misbehave.
var runJobFunc = runJob

// jobRunner runs one job once with what a job from a job file has around
// mirror.Run: the job lock, the status file, metrics and hooks. The
// daemon and `sync -jobs` share it.
type jobRunner struct {
	logger  *slog.Logger
	cmd     string              // "daemon" or "sync", noted in the lock file
	metrics *daemonMetrics      // nil outside the daemon
	now     func() time.Time    // nil means time.Now
	plan    func(mirror.Action) // a dry run's plan goes here; nil: discarded
}

func (r *jobRunner) clock() time.Time {
	if r.now != nil {
		return r.now()
	}
	return time.Now()
}

// run runs spec once. It returns the run's summary (also when the run
// failed after it got going, and a made-up "failed" one when it failed
// before) and its error. A job locked by another process is not run: nil
// and an *exitError with exitLocked.
func (r *jobRunner) run(ctx context.Context, spec *jobSpec) (*mirror.Summary, error) {
	if spec.DryRun {
		return r.dryRun(ctx, spec)
	}
	logger := r.logger.With("job", spec.Name)
	paths, err := spec.paths()
	if err != nil {
		logger.Error("run failed", "err", err)
		return nil, usagef("job %s: %v", spec.Name, err)
	}
	lock, err := acquireJobLock(ctx, paths.lock, spec.Name, r.cmd, time.Second)
	if err != nil {
		var le *lockedError
		if errors.As(err, &le) {
			logger.Warn("run skipped: job locked", "holder", le.Holder.String())
		} else {
			logger.Error("run failed", "err", err)
		}
		return nil, err
	}
	defer lock.release()

	st, _, err := readStatusFile(paths.status)
	if err != nil {
		logger.Warn("status file unreadable; starting a new one", "err", err)
	}
	st.Job = spec.Name
	prev := st
	st.Running, st.RunStart, st.PID = true, r.clock().UTC(), os.Getpid()
	r.saveStatus(logger, paths.status, st)

	prog := &mirror.Progress{}
	r.metrics.started(spec.Name, prog)
	defer r.metrics.stopped(spec.Name) // also when the run panics
	var sum *mirror.Summary
	jc, err := spec.resolvePassword()
	if err == nil {
		// mirror.Run adds the job to its lines itself.
		sum, err = runJobFunc(ctx, jc, r.logger, func(o *mirror.Options) { o.Progress = prog })
	}
	r.metrics.stopped(spec.Name)

	if exitCode(ctx, err) == exitLocked {
		// The database is locked by someone outside the job lock (a
		// shared state file, an ad-hoc sync): not a run of this job.
		r.saveStatus(logger, paths.status, prev)
		logger.Warn("run skipped: state database locked", "err", err)
		return nil, err
	}
	if sum == nil {
		sum = &mirror.Summary{Job: spec.Name, Start: st.RunStart, End: r.clock().UTC(), Result: mirror.ResultFailed}
		if ctx.Err() != nil {
			sum.Result = mirror.ResultInterrupted
		}
		sum.DurationMS = sum.End.Sub(sum.Start).Milliseconds()
		if err != nil {
			sum.Errors = []string{err.Error()}
		}
		logger.Error("run failed", "err", err)
	}
	st.Running, st.RunStart, st.PID = false, time.Time{}, 0
	st.LastRun = sum
	if sum.Result == mirror.ResultOK {
		st.LastSuccess = sum.End
	}
	r.saveStatus(logger, paths.status, st)
	r.metrics.finished(spec.Name, sum)

	if ctx.Err() != nil {
		logger.Info("hooks not run: shutting down")
		return sum, err
	}
	if n := runHooks(ctx, spec, sum, logger, r.metrics); n > 0 {
		st.HookFailures += int64(n)
		r.saveStatus(logger, paths.status, st)
	}
	return sum, err
}

// dryRun runs a dry run of spec: only the plan, with none of what a
// run has around it, because each writes (the job lock and status files)
// or acts (hooks, metrics).
func (r *jobRunner) dryRun(ctx context.Context, spec *jobSpec) (*mirror.Summary, error) {
	jc, err := spec.resolvePassword()
	if err != nil {
		return nil, err
	}
	return runJobFunc(ctx, jc, r.logger, func(o *mirror.Options) { o.Report = r.plan })
}

// runBounded is run, but returns at most stop after ctx is cancelled,
// so that `sync -jobs` under a scheduler exits within its grace period
// (Kubernetes' terminationGracePeriodSeconds, systemd's TimeoutStopSec)
// even if a run is slow to stop. The run is then left to die with the
// process; a partial file it was writing is recorded as such before the
// transfer starts, so the next run still resumes it.
func (r *jobRunner) runBounded(ctx context.Context, spec *jobSpec, stop time.Duration) (*mirror.Summary, error) {
	type result struct {
		sum *mirror.Summary
		err error
	}
	done := make(chan result, 1)
	go func() {
		sum, err := r.run(ctx, spec)
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
		r.logger.Error("run still stopping; exiting anyway", "job", spec.Name, "timeout", stop)
		return nil, fmt.Errorf("job %s: still stopping %v after the interrupt: %w", spec.Name, stop, ctx.Err())
	}
}

func (r *jobRunner) saveStatus(logger *slog.Logger, path string, st jobStatus) {
	if err := writeStatusFile(path, st); err != nil {
		logger.Warn("status file not written", "err", err)
	}
}
