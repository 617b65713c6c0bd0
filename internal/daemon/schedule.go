package daemon

import (
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/ftpmirror/ftpmirror/internal/jobs"
)

// daemonJob is a job as scheduled. It outlives reloads of the job file
// that keep its name, and so does its cron chain: SkipIfStillRunning
// holds its "still running" token in the chain, so a run started before
// a reload still keeps the reloaded job from overlapping it. That is why
// the chain is applied here, once per job name, and not with
// cron.WithChain, which would wrap each cron.Schedule call afresh.
type daemonJob struct {
	d       *daemon
	name    string
	spec    atomic.Pointer[jobs.Job] // the job as last loaded
	wrapped cron.Job                 // this job inside Recover and SkipIfStillRunning
	entry   cron.EntryID             // 0 when not scheduled
}

// Run runs the job once, after its jitter. It is what cron calls.
func (j *daemonJob) Run() {
	spec := j.spec.Load()
	ctx := j.d.ctx
	if spec.Jitter > 0 {
		delay := rand.N(spec.Jitter)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
	if ctx.Err() != nil {
		return
	}
	// Errors are logged by the runner and recorded in the status file.
	_, _ = j.d.runner.Run(ctx, spec)
}

// startCatchUp runs, now, every catch_up job whose last scheduled run
// was missed: the schedule's first time after the job's last run start
// has passed, or the job never ran. The last run start comes from the
// status file (a run cut short counts: it was not missed), else from the
// state database's history. Catch-up runs go through the job's chain, so
// a tick coming while one is going is skipped, and they get the job's
// jitter.
func (d *daemon) startCatchUp() {
	now := time.Now()
	for _, spec := range d.specs() {
		if !spec.CatchUp || spec.CronSchedule() == nil {
			continue
		}
		last, err := lastRunStart(spec)
		if err != nil {
			d.logger.Warn("catch_up: last run unknown", "job", spec.Name, "err", err)
			continue
		}
		if !missedRun(spec.CronSchedule(), last, now) {
			continue
		}
		d.logger.Info("catch_up: running a missed run", "job", spec.Name, "last_run", last)
		d.mu.Lock()
		j := d.jobs[spec.Name]
		d.mu.Unlock()
		d.catchUp.Go(j.wrapped.Run)
	}
}

// missedRun says whether a run of sched was due between the last run's
// start and now. A job that never ran has missed its first run.
func missedRun(sched cron.Schedule, last, now time.Time) bool {
	return last.IsZero() || !sched.Next(last).After(now)
}

// lastRunStart returns when spec last started a run, or the zero time.
func lastRunStart(spec *jobs.Job) (time.Time, error) {
	paths, err := spec.Paths()
	if err != nil {
		return time.Time{}, err
	}
	st, ok, err := jobs.ReadStatus(paths.Status)
	if err != nil {
		return time.Time{}, err
	}
	if !ok {
		// Unreadable or locked: better no catch-up than a wrong one.
		if st, _, err = jobs.StatusFromDB(paths.DB, spec.Name); err != nil {
			return time.Time{}, err
		}
	}
	switch {
	case !st.RunStart.IsZero():
		return st.RunStart, nil
	case st.LastRun != nil:
		return st.LastRun.Start, nil
	}
	return time.Time{}, nil
}

// cronLogger adapts slog to cron's Logger. cron's Info messages are
// routine (wake, run, schedule) and go to Debug, but for "skip", from
// SkipIfStillRunning, which the operator wants to see.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) {
	if msg == "skip" {
		c.l.Info("run skipped: the previous run is still going", kv...)
		return
	}
	c.l.Debug("cron: "+msg, kv...)
}

func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}
