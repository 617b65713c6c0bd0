package daemon

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/jobs"
	"github.com/ftpmirror/ftpmirror/internal/promtest"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// scrape returns h's /metrics text.
func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func TestListenAddr(t *testing.T) {
	for in, want := range map[string]string{
		"9100": "127.0.0.1:9100", ":9100": ":9100", "0.0.0.0:9100": "0.0.0.0:9100",
		"[::1]:9100": "[::1]:9100", "localhost:0": "localhost:0",
	} {
		if got := listenAddr(in); got != want {
			t.Errorf("listenAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMetricsAfterRuns checks the counters and gauges against summaries
// fed to the metrics directly; the daemon test checks them after real
// runs.
func TestMetricsAfterRuns(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var reports []jobs.Report
	m := newMetrics(func() []jobs.Report { return reports })
	m.seed("a", jobs.Status{LastSuccess: start.Add(-time.Hour)})
	m.RunFinished("a", &mirror.Summary{Job: "a", Start: start, End: start.Add(3 * time.Second), Result: "ok", Fetched: 3, Resumed: 1, Bytes: 1000, Deleted: 2})
	m.RunFinished("a", &mirror.Summary{Job: "a", Start: start.Add(time.Minute), End: start.Add(time.Minute + time.Second), Result: "partial", Fetched: 1, Bytes: 10, Failed: 2})
	p := &mirror.Progress{}
	p.InFlight.Store(2)
	p.BytesDone.Store(500)
	p.BytesTotal.Store(800)
	reports = []jobs.Report{
		{Job: "a", MaxAge: "1h", Stale: true, Next: start.Add(time.Hour)},
		{Job: "b", Running: true, Progress: &jobs.ProgressReport{InFlight: 2, BytesDone: 500, BytesTotal: 800}},
	}
	text := scrape(t, httpHandler(m, func() []jobs.Report { return reports }))
	want := []struct {
		name   string
		labels []string
		v      float64
	}{
		{"ftpmirror_files_fetched_total", []string{"job", "a"}, 5},
		{"ftpmirror_bytes_fetched_total", []string{"job", "a"}, 1010},
		{"ftpmirror_files_deleted_total", []string{"job", "a"}, 2},
		{"ftpmirror_file_errors_total", []string{"job", "a"}, 2},
		{"ftpmirror_runs_total", []string{"job", "a", "result", "ok"}, 1},
		{"ftpmirror_runs_total", []string{"job", "a", "result", "partial"}, 1},
		{"ftpmirror_last_run_start_timestamp_seconds", []string{"job", "a"}, float64(start.Add(time.Minute).Unix())},
		{"ftpmirror_last_run_end_timestamp_seconds", []string{"job", "a"}, float64(start.Add(time.Minute + time.Second).Unix())},
		{"ftpmirror_last_run_duration_seconds", []string{"job", "a"}, 1},
		{"ftpmirror_last_success_timestamp_seconds", []string{"job", "a"}, float64(start.Add(3 * time.Second).Unix())},
		{"ftpmirror_stale", []string{"job", "a"}, 1},
		{"ftpmirror_max_age_seconds", []string{"job", "a"}, 3600},
		{"ftpmirror_next_run_timestamp_seconds", []string{"job", "a"}, float64(start.Add(time.Hour).Unix())},
		{"ftpmirror_running", []string{"job", "a"}, 0},
		{"ftpmirror_running", []string{"job", "b"}, 1},
		{"ftpmirror_transfers_in_progress", []string{"job", "b"}, 2},
		{"ftpmirror_bytes_in_flight", []string{"job", "b"}, 500},
		{"ftpmirror_bytes_pending", []string{"job", "b"}, 300},
	}
	for _, w := range want {
		v, ok := promtest.Value(text, w.name, w.labels...)
		if !ok || v != w.v {
			t.Errorf("%s%v = %v (found %v), want %v", w.name, w.labels, v, ok, w.v)
		}
	}
	if !strings.Contains(text, "go_goroutines") {
		t.Error("no Go runtime metrics")
	}
}

func TestHealthzAndStatusEndpoints(t *testing.T) {
	var reports []jobs.Report
	m := newMetrics(func() []jobs.Report { return reports })
	h := httptest.NewServer(httpHandler(m, func() []jobs.Report { return reports }))
	defer h.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(h.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	reports = []jobs.Report{{Job: "a", MaxAge: "1h"}, {Job: "b"}}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("fresh: %d %q", code, body)
	}
	reports[0].Stale = true
	if code, body := get("/healthz"); code != 503 || !strings.Contains(body, "a: last success never, max_age 1h") {
		t.Errorf("stale: %d %q", code, body)
	}
	code, body := get("/status")
	var got []jobs.Report
	if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil || len(got) != 2 || !got[0].Stale {
		t.Errorf("/status: %d %v %s", code, err, body)
	}
	if code, _ := get("/nope"); code != 404 {
		t.Errorf("/nope: %d", code)
	}
}

// TestHookFailuresMetric: a hook failure the runner reports is counted
// per job and hook (jobs' TestHookFailures checks that it is reported).
func TestHookFailuresMetric(t *testing.T) {
	m := newMetrics(func() []jobs.Report { return nil })
	m.HookFailed("j", "on_success")
	m.HookFailed("j", "on_change")
	text := scrape(t, httpHandler(m, func() []jobs.Report { return nil }))
	for _, hook := range []string{"on_success", "on_change"} {
		if v, ok := promtest.Value(text, "ftpmirror_hook_failures_total", "hook", hook, "job", "j"); v != 1 {
			t.Errorf("hook_failures_total{%s} = %v %v", hook, v, ok)
		}
	}
}
