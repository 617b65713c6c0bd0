package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/ftpmirror/ftpmirror/internal/jobs"
)

// defaultStopTimeout bounds the shutdown: running transfers get this
// long to stop and leave resumable partial files. Keep the systemd unit's
// TimeoutStopSec and Kubernetes' terminationGracePeriodSeconds above it.
const defaultStopTimeout = 30 * time.Second

const daemonHelp = `daemon -jobs FILE [flags]

Runs every job of the job file that has a schedule, on that schedule
(robfig/cron: five fields "m h dom mon dow", @hourly, @daily, @every 30m,
optionally after CRON_TZ=Area/City), until stopped. Logs go to stderr.

  - A job never overlaps itself: a tick that comes while the job's run is
    still going is skipped and logged.
  - A job also runs in one process at a time: a run that finds the job
    locked by "ftpmirror sync -jobs" (from cron, say) is skipped and logged.
  - A panic in one job is logged; the others go on.
  - jitter delays each scheduled run by a random time below it; catch_up
    runs a job at start-up if a scheduled run was missed while the daemon
    was down (or the job never ran).
  - SIGHUP reloads the job file; an invalid file is logged and the old
    one kept.
  - SIGTERM or SIGINT stop scheduling and cancel running transfers, which
    leave partial files that the next run resumes; the daemon exits within
    -stop-timeout.

Each job keeps its state database (NAME.db), lock (NAME.lock) and
status file (NAME.status.json) in $XDG_STATE_HOME/ftpmirror, or beside
the file its state key names. "ftpmirror check -jobs FILE" validates the
file; "ftpmirror status -jobs FILE" shows the jobs while the daemon runs.

With -listen: /metrics (Prometheus), /healthz (503 when a job's last
success is older than its max_age) and /status (JSON, as status -json).

Exit status: 0 after a clean stop; 1 if jobs were still running at the
stop timeout; 2 for a bad job file or flag.
`

// cmdDaemon is `ftpmirror daemon`.
func cmdDaemon(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("daemon", daemonHelp)
	opts := daemonOptions{}
	fs.StringVar(&opts.JobsPath, "jobs", "", "job file (required)")
	fs.StringVar(&opts.Listen, "listen", "", "serve /metrics, /healthz and /status on `ADDR` (host:port; a bare port means 127.0.0.1); default off")
	fs.DurationVar(&opts.StopTimeout, "stop-timeout", defaultStopTimeout, "on SIGTERM or SIGINT, how long running jobs get to stop before the daemon exits anyway")
	var lf logFlags
	lf.add(fs)
	if err := fs.parse(args, stdout); err != nil {
		return err
	}
	if opts.JobsPath == "" {
		return usagef("daemon: -jobs FILE is required (run \"ftpmirror help daemon\")")
	}
	logger, err := lf.logger(stderr, false)
	if err != nil {
		return err
	}
	opts.Logger = logger
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	opts.Reload = hup
	return runDaemon(ctx, &opts)
}

// daemonOptions configures runDaemon.
type daemonOptions struct {
	JobsPath    string
	Listen      string        // "" means no HTTP server
	StopTimeout time.Duration // zero means defaultStopTimeout
	Logger      *slog.Logger  // nil means discard
	// Reload receives a value for each reload of the job file (SIGHUP in
	// cmdDaemon; tests send their own).
	Reload <-chan os.Signal
	// Listening, if set, is called with the HTTP server's address once
	// it listens.
	Listening func(addr string)
	// Mirror runs a job once; nil means jobs.Mirror. Tests make runs
	// misbehave with it.
	Mirror jobs.MirrorFunc
}

// daemon is a running `ftpmirror daemon`.
type daemon struct {
	opts    *daemonOptions
	logger  *slog.Logger
	ctx     context.Context // the jobs' context: cancelled at shutdown
	cron    *cron.Cron
	runner  *jobs.Runner
	metrics *daemonMetrics
	started time.Time

	mu   sync.Mutex
	file *jobs.File
	jobs map[string]*daemonJob

	catchUp sync.WaitGroup // catch-up runs, which cron does not track
}

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

// runDaemon runs the daemon until ctx is cancelled. Only a bad job file
// or listen address at start, or jobs outliving the stop timeout, make
// it return an error.
func runDaemon(ctx context.Context, opts *daemonOptions) error {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	stopTimeout := opts.StopTimeout
	if stopTimeout <= 0 {
		stopTimeout = defaultStopTimeout
	}
	f, err := jobs.Load(opts.JobsPath)
	if err != nil {
		return err
	}
	d := &daemon{
		opts:    opts,
		logger:  logger,
		ctx:     ctx,
		cron:    cron.New(cron.WithLogger(cronLogger{logger})),
		started: time.Now(),
		jobs:    map[string]*daemonJob{},
	}
	d.metrics = newDaemonMetrics(d.reports)
	d.runner = &jobs.Runner{Logger: logger, Cmd: "daemon", Observer: d.metrics, Mirror: opts.Mirror}

	// The jobs are in place before the first request: /healthz and
	// /status answer for them from the first byte served.
	d.apply(f)
	d.seedMetrics()

	var srv *http.Server
	if opts.Listen != "" {
		ln, err := net.Listen("tcp", listenAddr(opts.Listen))
		if err != nil {
			return &jobs.ConfigError{Err: fmt.Errorf("-listen: %w", err)}
		}
		srv = &http.Server{Handler: httpHandler(d.metrics, d.reports), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("http server stopped", "err", err)
			}
		}()
		logger.Info("listening", "addr", ln.Addr().String())
		if opts.Listening != nil {
			opts.Listening(ln.Addr().String())
		}
	}

	d.startCatchUp()
	d.cron.Start()
	logger.Info("daemon started", "jobs", len(f.Jobs), "file", opts.JobsPath)

	for running := true; running; {
		select {
		case <-ctx.Done():
			running = false
		case <-opts.Reload:
			d.reload()
		}
	}
	return d.shutdown(srv, stopTimeout)
}

// shutdown waits for running jobs, whose context is cancelled already,
// for at most timeout.
func (d *daemon) shutdown(srv *http.Server, timeout time.Duration) error {
	d.logger.Info("stopping", "timeout", timeout)
	stopped := d.cron.Stop()
	done := make(chan struct{})
	go func() {
		<-stopped.Done()
		d.catchUp.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
		d.logger.Info("daemon stopped")
	case <-time.After(timeout):
		err = &exitError{code: exitPartial, err: fmt.Errorf("jobs still running %v after the stop signal; exiting anyway", timeout)}
	}
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
	return err
}

// reload replaces the job file if the new one is valid.
func (d *daemon) reload() {
	f, err := jobs.Load(d.opts.JobsPath)
	if err != nil {
		d.logger.Error("reload failed; keeping the old job file", "file", d.opts.JobsPath, "err", err)
		return
	}
	d.apply(f)
	d.logger.Info("job file reloaded", "jobs", len(f.Jobs), "file", d.opts.JobsPath)
}

// apply schedules the jobs of f, replacing those of the previous file.
// A job left out of f is unscheduled; its run going on, if any, ends
// normally.
func (d *daemon) apply(f *jobs.File) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, w := range f.Warnings {
		d.logger.Warn("job file: " + w)
	}
	keep := map[string]bool{}
	for _, spec := range f.Jobs {
		keep[spec.Name] = true
		j := d.jobs[spec.Name]
		if j == nil {
			j = &daemonJob{d: d, name: spec.Name}
			l := cronLogger{d.logger.With("job", spec.Name)}
			// Recover inside SkipIfStillRunning, not outside: in cron
			// v3.0.1 SkipIfStillRunning puts its token back after Run
			// returns, without defer, so a panic passing through it
			// would leave the job "still running", skipped for ever.
			j.wrapped = cron.NewChain(cron.SkipIfStillRunning(l), cron.Recover(l)).Then(j)
			d.jobs[spec.Name] = j
		}
		j.spec.Store(spec)
		if j.entry != 0 {
			d.cron.Remove(j.entry)
			j.entry = 0
		}
		if spec.CronSchedule() == nil {
			d.logger.Info("job has no schedule; run it with sync -jobs", "job", spec.Name)
			continue
		}
		j.entry = d.cron.Schedule(spec.CronSchedule(), j.wrapped)
	}
	for name, j := range d.jobs {
		if keep[name] {
			continue
		}
		if j.entry != 0 {
			d.cron.Remove(j.entry)
		}
		delete(d.jobs, name)
		d.metrics.forget(name)
		d.logger.Info("job removed", "job", name)
	}
	d.file = f
}

// seedMetrics sets the last_* gauges from the status files.
func (d *daemon) seedMetrics() {
	for _, spec := range d.specs() {
		if paths, err := spec.Paths(); err == nil {
			if st, ok, _ := jobs.ReadStatus(paths.Status); ok {
				d.metrics.seed(spec.Name, st)
			}
		}
	}
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

// specs returns the jobs of the current file.
func (d *daemon) specs() []*jobs.Job {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.file.Jobs
}

// reports returns the status of every job, with live progress and the
// scheduler's next times, for /status, /healthz and /metrics.
func (d *daemon) reports() []jobs.Report {
	now := time.Now()
	d.mu.Lock()
	specs := d.file.Jobs
	entries := map[string]cron.EntryID{}
	for name, j := range d.jobs {
		if j.entry != 0 {
			entries[name] = j.entry
		}
	}
	d.mu.Unlock()
	// Ask cron without holding d.mu: cron's own lock is held while it
	// answers, and apply takes d.mu, then cron's lock.
	next := map[string]time.Time{}
	for name, id := range entries {
		next[name] = d.cron.Entry(id).Next
	}
	reports := make([]jobs.Report, len(specs))
	for i, spec := range specs {
		n, ok := next[spec.Name]
		if !ok || n.IsZero() {
			n = spec.Next(now) // not yet started by cron
		}
		r := jobs.ReportOf(spec, now, n, d.started)
		if p := d.metrics.progress(spec.Name); p != nil {
			r.Running = true
			r.Progress = &jobs.ProgressReport{
				FilesDone: p.FilesDone.Load(), FilesTotal: p.FilesTotal.Load(),
				BytesDone: p.BytesDone.Load(), BytesTotal: p.BytesTotal.Load(),
				InFlight: p.InFlight.Load(),
			}
		}
		reports[i] = r
	}
	return reports
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
