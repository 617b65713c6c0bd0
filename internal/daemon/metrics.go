package daemon

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ftpmirror/ftpmirror/internal/jobs"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// metrics is the daemon's Prometheus registry, and the jobs.Observer of
// its runner. Counters count runs
// since the daemon started; the last_* gauges are seeded from the status
// files at start, so they survive a restart. Gauges of what is going on
// now (running, transfers, bytes, staleness, next run) are read from the
// reports at scrape time. A nil *metrics records nothing.
type metrics struct {
	reg *prometheus.Registry

	lastStart    *prometheus.GaugeVec
	lastEnd      *prometheus.GaugeVec
	lastSuccess  *prometheus.GaugeVec
	lastDuration *prometheus.GaugeVec
	runs         *prometheus.CounterVec
	fetched      *prometheus.CounterVec
	bytes        *prometheus.CounterVec
	deleted      *prometheus.CounterVec
	failed       *prometheus.CounterVec
	hookFailures *prometheus.CounterVec

	mu   sync.Mutex
	live map[string]*mirror.Progress // runs going on in this process
}

// newMetrics makes the registry; reports gives the current job
// reports for the gauges computed at scrape time.
func newMetrics(reports func() []jobs.Report) *metrics {
	job := []string{"job"}
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "ftpmirror", Name: name, Help: help}, job)
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "ftpmirror", Name: name, Help: help}, append(job, labels...))
	}
	m := &metrics{
		reg:          prometheus.NewRegistry(),
		lastStart:    gauge("last_run_start_timestamp_seconds", "Start of the job's last finished run, Unix time."),
		lastEnd:      gauge("last_run_end_timestamp_seconds", "End of the job's last finished run, Unix time."),
		lastSuccess:  gauge("last_success_timestamp_seconds", "End of the job's last run whose result was ok, Unix time."),
		lastDuration: gauge("last_run_duration_seconds", "Duration of the job's last finished run."),
		runs:         counter("runs_total", "Runs finished, by result (ok, partial, failed, guard, dry-run).", "result"),
		fetched:      counter("files_fetched_total", "Files fetched (resumed ones included)."),
		bytes:        counter("bytes_fetched_total", "Bytes fetched."),
		deleted:      counter("files_deleted_total", "Local files deleted because they are gone remotely."),
		failed:       counter("file_errors_total", "Files and directories that failed in a run."),
		hookFailures: counter("hook_failures_total", "Hooks that failed or timed out, by hook.", "hook"),
		live:         map[string]*mirror.Progress{},
	}
	m.reg.MustRegister(m.lastStart, m.lastEnd, m.lastSuccess, m.lastDuration,
		m.runs, m.fetched, m.bytes, m.deleted, m.failed, m.hookFailures,
		&liveCollector{m: m, reports: reports},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// seed sets the last_* gauges of a job from its status file.
func (m *metrics) seed(job string, st jobs.Status) {
	if m == nil {
		return
	}
	if s := st.LastRun; s != nil {
		m.setLast(job, s)
	}
	if !st.LastSuccess.IsZero() {
		m.lastSuccess.WithLabelValues(job).Set(unixSeconds(st.LastSuccess))
	}
}

func (m *metrics) setLast(job string, s *mirror.Summary) {
	m.lastStart.WithLabelValues(job).Set(unixSeconds(s.Start))
	m.lastEnd.WithLabelValues(job).Set(unixSeconds(s.End))
	m.lastDuration.WithLabelValues(job).Set(s.End.Sub(s.Start).Seconds())
}

// RunStarted notes a run going on, with its progress counters.
func (m *metrics) RunStarted(job string, p *mirror.Progress) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.live[job] = p
	m.mu.Unlock()
}

// RunStopped notes the end of the run going on.
func (m *metrics) RunStopped(job string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	delete(m.live, job)
	m.mu.Unlock()
}

// progress returns the progress of job's run going on, or nil.
func (m *metrics) progress(job string) *mirror.Progress {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.live[job]
}

// RunFinished counts a finished run.
func (m *metrics) RunFinished(job string, s *mirror.Summary) {
	if m == nil {
		return
	}
	m.setLast(job, s)
	if s.Result == mirror.ResultOK {
		m.lastSuccess.WithLabelValues(job).Set(unixSeconds(s.End))
	}
	m.runs.WithLabelValues(job, string(s.Result)).Inc()
	m.fetched.WithLabelValues(job).Add(float64(s.Fetched + s.Resumed))
	m.bytes.WithLabelValues(job).Add(float64(s.Bytes))
	m.deleted.WithLabelValues(job).Add(float64(s.Deleted))
	m.failed.WithLabelValues(job).Add(float64(s.Failed))
}

// HookFailed counts a failed hook.
func (m *metrics) HookFailed(job, hook string) {
	if m == nil {
		return
	}
	m.hookFailures.WithLabelValues(job, hook).Inc()
}

// forget drops the series of a job removed from the job file.
func (m *metrics) forget(job string) {
	if m == nil {
		return
	}
	l := prometheus.Labels{"job": job}
	for _, g := range []*prometheus.GaugeVec{m.lastStart, m.lastEnd, m.lastSuccess, m.lastDuration} {
		g.DeletePartialMatch(l)
	}
	for _, c := range []*prometheus.CounterVec{m.runs, m.fetched, m.bytes, m.deleted, m.failed, m.hookFailures} {
		c.DeletePartialMatch(l)
	}
}

func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

// liveCollector reports, at scrape time, what each job is doing now.
type liveCollector struct {
	m       *metrics
	reports func() []jobs.Report
}

var (
	descRunning   = prometheus.NewDesc("ftpmirror_running", "1 while a run of the job is going on (in this daemon or another process).", []string{"job"}, nil)
	descTransfers = prometheus.NewDesc("ftpmirror_transfers_in_progress", "Transfers in progress in the job's run going on.", []string{"job"}, nil)
	descInFlight  = prometheus.NewDesc("ftpmirror_bytes_in_flight", "Bytes fetched so far by the job's run going on (0 when idle).", []string{"job"}, nil)
	descPending   = prometheus.NewDesc("ftpmirror_bytes_pending", "Bytes found to fetch and not fetched yet by the job's run going on.", []string{"job"}, nil)
	descStale     = prometheus.NewDesc("ftpmirror_stale", "1 when the job's last success is older than its max_age (see /healthz).", []string{"job"}, nil)
	descMaxAge    = prometheus.NewDesc("ftpmirror_max_age_seconds", "The job's freshness bound, max_age; absent without one.", []string{"job"}, nil)
	descNext      = prometheus.NewDesc("ftpmirror_next_run_timestamp_seconds", "Next scheduled run of the job (before jitter), Unix time.", []string{"job"}, nil)
)

func (c *liveCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRunning, descTransfers, descInFlight, descPending, descStale, descMaxAge, descNext} {
		ch <- d
	}
}

func (c *liveCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, job string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, job)
	}
	for _, r := range c.reports() {
		running := 0.0
		if r.Running {
			running = 1
		}
		gauge(descRunning, running, r.Job)
		var transfers, done, pending float64
		if p := r.Progress; p != nil {
			transfers = float64(p.InFlight)
			done = float64(p.BytesDone)
			pending = float64(max(p.BytesTotal-p.BytesDone, 0))
		}
		gauge(descTransfers, transfers, r.Job)
		gauge(descInFlight, done, r.Job)
		gauge(descPending, pending, r.Job)
		st := 0.0
		if r.Stale {
			st = 1
		}
		gauge(descStale, st, r.Job)
		if d, err := time.ParseDuration(r.MaxAge); err == nil && r.MaxAge != "" {
			gauge(descMaxAge, d.Seconds(), r.Job)
		}
		if !r.Next.IsZero() {
			gauge(descNext, unixSeconds(r.Next), r.Job)
		}
	}
}

var _ jobs.Observer = (*metrics)(nil)
