package jobs

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/mirror"
)

// hookScript writes a shell script that appends its hook name, env and
// stdin to out.
func hookScript(t *testing.T, dir, body string) string {
	t.Helper()
	path := filepath.Join(dir, "hook.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestHooks(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	script := hookScript(t, dir, `{ echo "$1 $FTPMIRROR_HOOK $FTPMIRROR_JOB $FTPMIRROR_TARGET $FTPMIRROR_RESULT"; cat; echo; } >> `+out)
	spec := &Job{
		Name:        "j",
		Target:      "/mirror/j",
		OnSuccess:   []string{script, "success"},
		OnFailure:   []string{script, "failure"},
		OnChange:    []string{script, "change"},
		HookTimeout: 5 * time.Second,
	}
	tests := []struct {
		sum  mirror.Summary
		want []string
	}{
		{mirror.Summary{Result: "ok"}, []string{"success on_success j /mirror/j ok"}},
		{mirror.Summary{Result: "ok", Fetched: 1}, []string{"success on_success j /mirror/j ok", "change on_change j /mirror/j ok"}},
		{mirror.Summary{Result: "partial", Deleted: 2, Failed: 1}, []string{"failure on_failure j /mirror/j partial", "change on_change j /mirror/j partial"}},
		{mirror.Summary{Result: "guard"}, []string{"failure on_failure j /mirror/j guard"}},
		{mirror.Summary{Result: "dry-run", Fetched: 3}, nil},
	}
	for _, tt := range tests {
		os.Remove(out)
		tt.sum.Job = "j"
		if n := runHooks(t.Context(), spec, &tt.sum, slog.New(slog.DiscardHandler), nil); n != 0 {
			t.Errorf("%+v: %d hooks failed", tt.sum, n)
		}
		data, _ := os.ReadFile(out)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(tt.want) == 0 {
			if len(data) != 0 {
				t.Errorf("%s: hooks ran: %s", tt.sum.Result, data)
			}
			continue
		}
		if len(lines) != 2*len(tt.want) {
			t.Fatalf("%s: output %q", tt.sum.Result, data)
		}
		for i, w := range tt.want {
			if lines[2*i] != w {
				t.Errorf("%s: hook %d: %q, want %q", tt.sum.Result, i, lines[2*i], w)
			}
			var got mirror.Summary
			if err := json.Unmarshal([]byte(lines[2*i+1]), &got); err != nil || got.Result != tt.sum.Result || got.Job != "j" {
				t.Errorf("stdin %q: %v", lines[2*i+1], err)
			}
		}
	}
}

func TestHookFailures(t *testing.T) {
	dir := t.TempDir()
	obs := &hookObserver{}
	spec := &Job{
		Name:        "j",
		OnSuccess:   []string{hookScript(t, dir, "echo boom >&2; exit 3")},
		OnChange:    []string{"sleep", "10"},
		HookTimeout: 200 * time.Millisecond,
	}
	var log strings.Builder
	logger := slog.New(slog.NewTextHandler(&log, nil))
	start := time.Now()
	n := runHooks(t.Context(), spec, &mirror.Summary{Job: "j", Result: "ok", Fetched: 1}, logger, obs)
	if n != 2 {
		t.Errorf("%d failures, want 2", n)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v: the timeout did not kill the hook", d)
	}
	for _, w := range []string{"hook=on_success", "output=boom", "exit status 3", "hook=on_change", "killed after hook_timeout 200ms"} {
		if !strings.Contains(log.String(), w) {
			t.Errorf("log lacks %q:\n%s", w, log.String())
		}
	}
	if want := []string{"j on_success", "j on_change"}; !slices.Equal(obs.failed, want) {
		t.Errorf("observer told of failures %q, want %q", obs.failed, want)
	}
}

// hookObserver records the hook failures a Runner's observer is told of.
type hookObserver struct {
	nopObserver
	failed []string
}

func (o *hookObserver) HookFailed(job, hook string) { o.failed = append(o.failed, job+" "+hook) }
