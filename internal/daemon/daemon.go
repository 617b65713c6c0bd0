// Package daemon runs the jobs of a job file on their cron schedules:
// `ftpmirror daemon`. It reloads the job file on request, catches up
// missed runs, serves /metrics (Prometheus, which observes the
// jobs.Runner), /healthz and /status, and stops within a bound.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/ftpmirror/ftpmirror/internal/jobs"
)

// Options configures Run.
type Options struct {
	JobsPath    string
	Listen      string        // "" means no HTTP server
	StopTimeout time.Duration // zero means jobs.DefaultStopTimeout
	Logger      *slog.Logger  // nil means discard
	// Reload receives a value for each reload of the job file (SIGHUP in
	// the command; tests send their own).
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
	opts    *Options
	logger  *slog.Logger
	ctx     context.Context // the jobs' context: cancelled at shutdown
	cron    *cron.Cron
	runner  *jobs.Runner
	metrics *metrics
	started time.Time

	mu   sync.Mutex
	file *jobs.File
	jobs map[string]*daemonJob

	catchUp sync.WaitGroup // catch-up runs, which cron does not track
}

// Run runs the daemon until ctx is cancelled. Only a bad job file
// (*jobs.FileError) or listen address (*jobs.ConfigError) at start, or
// jobs outliving the stop timeout (*StopTimeoutError), make it return an
// error.
func Run(ctx context.Context, opts *Options) error {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	stopTimeout := opts.StopTimeout
	if stopTimeout <= 0 {
		stopTimeout = jobs.DefaultStopTimeout
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
	d.metrics = newMetrics(d.reports)
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

// StopTimeoutError says that jobs were still running when the stop
// timeout passed, and the daemon returned anyway.
type StopTimeoutError struct{ Timeout time.Duration }

func (e *StopTimeoutError) Error() string {
	return fmt.Sprintf("jobs still running %v after the stop signal; exiting anyway", e.Timeout)
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
		err = &StopTimeoutError{Timeout: timeout}
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
