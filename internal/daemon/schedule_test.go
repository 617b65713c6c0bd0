package daemon

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/ftpmirror/ftpmirror/internal/jobs"
	"github.com/ftpmirror/ftpmirror/mirror"
)

func TestMissedRun(t *testing.T) {
	daily, _ := cron.ParseStandard("@daily")
	every, _ := cron.ParseStandard("@every 1h")
	now := time.Date(2030, 6, 15, 12, 0, 0, 0, time.Local)
	tests := []struct {
		sched cron.Schedule
		last  time.Time
		want  bool
	}{
		{daily, time.Time{}, true},
		{daily, now.Add(-time.Hour), false},     // today's midnight run was before it
		{daily, now.Add(-13 * time.Hour), true}, // yesterday 23:00: missed today's 00:00
		{every, now.Add(-59 * time.Minute), false},
		{every, now.Add(-61 * time.Minute), true},
	}
	for _, tt := range tests {
		if got := missedRun(tt.sched, tt.last, now); got != tt.want {
			t.Errorf("missedRun(%v, %v) = %v", tt.sched, tt.last, got)
		}
	}
}

// TestJitter: a job with jitter waits before it runs, and a shutdown
// during the wait cancels the run instead of delaying the exit.
func TestJitter(t *testing.T) {
	ran := make(chan string, 10)
	record := func(ctx context.Context, jc *jobs.Job, logger *slog.Logger, setup func(*mirror.Options)) (*mirror.Summary, error) {
		ran <- jc.Name
		return &mirror.Summary{Job: jc.Name, Result: "ok"}, nil
	}
	t.Setenv("XDG_STATE_HOME", t.TempDir())

	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{ctx: ctx, runner: &jobs.Runner{Logger: slog.New(slog.DiscardHandler), Cmd: "daemon", Mirror: record}}
	short := &daemonJob{d: d, name: "short"}
	short.spec.Store(&jobs.Job{Name: "short", Jitter: 50 * time.Millisecond})
	start := time.Now()
	short.Run()
	if got := <-ran; got != "short" || time.Since(start) > 5*time.Second {
		t.Errorf("ran %s after %v", got, time.Since(start))
	}

	long := &daemonJob{d: d, name: "long"}
	long.spec.Store(&jobs.Job{Name: "long", Jitter: time.Hour})
	done := make(chan struct{})
	go func() { long.Run(); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a job waiting for its jitter held up the shutdown")
	}
	select {
	case got := <-ran:
		t.Errorf("%s ran after the shutdown", got)
	default:
	}
}
