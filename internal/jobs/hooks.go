package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/ftpmirror/ftpmirror/mirror"
)

// Hooks are programs a job runs after a run, given as argv lists (no
// shell): on_success after a run whose result is ok, on_failure after
// one that is not (partial, failed, guard), and on_change, besides
// either, when the run fetched or deleted something. Each gets the run's
// summary as JSON on stdin and FTPMIRROR_JOB, FTPMIRROR_TARGET,
// FTPMIRROR_RESULT and FTPMIRROR_HOOK in its environment, and is killed
// after the job's hook_timeout. A failing hook is logged and counted
// (status file, the runner's Observer); it never undoes the sync nor changes the exit
// status. Dry runs and runs cut short by a shutdown run no hooks.

// hookWaitDelay bounds how long a killed hook's children may keep its
// output pipes open.
const hookWaitDelay = 2 * time.Second

// hookOutputMax is how much of a hook's output is kept for the log.
const hookOutputMax = 4 << 10

// jobHook is one hook of a job: its key and argv.
type jobHook struct {
	name string // on_success, on_failure, on_change
	argv []string
}

// hooksFor returns the hooks that apply to a run, in the order they run.
func hooksFor(j *Job, sum *mirror.Summary) []jobHook {
	var hooks []jobHook
	switch sum.Result {
	case mirror.ResultDryRun, mirror.ResultInterrupted:
		// A dry run changed nothing; an interrupted run is not over
		// (the daemon is shutting down, or the operator pressed
		// Ctrl-C): its next run finishes it.
		return nil
	case mirror.ResultOK:
		if len(j.OnSuccess) > 0 {
			hooks = append(hooks, jobHook{"on_success", j.OnSuccess})
		}
	default:
		if len(j.OnFailure) > 0 {
			hooks = append(hooks, jobHook{"on_failure", j.OnFailure})
		}
	}
	if len(j.OnChange) > 0 && sum.Fetched+sum.Resumed+sum.Deleted > 0 {
		hooks = append(hooks, jobHook{"on_change", j.OnChange})
	}
	return hooks
}

// runHooks runs the hooks that apply to sum and returns how many failed,
// telling obs (which may be nil) of each failure.
func runHooks(ctx context.Context, j *Job, sum *mirror.Summary, logger *slog.Logger, obs Observer) int {
	hooks := hooksFor(j, sum)
	if len(hooks) == 0 {
		return 0
	}
	input, err := json.Marshal(sum)
	if err != nil {
		logger.Error("hooks not run", "err", err)
		return len(hooks)
	}
	failed := 0
	for _, h := range hooks {
		start := time.Now()
		out, err := runHook(ctx, h.name, h.argv, j, string(sum.Result), input)
		l := logger.With("hook", h.name, "dur", time.Since(start).Round(time.Millisecond))
		if out != "" {
			l = l.With("output", out)
		}
		if err != nil {
			failed++
			if obs != nil {
				obs.HookFailed(j.Name, h.name)
			}
			l.Error("hook failed", "err", err)
			continue
		}
		l.Debug("hook done")
	}
	return failed
}

// runHook runs one hook and returns the tail of its output.
func runHook(ctx context.Context, name string, argv []string, j *Job, result string, input []byte) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, j.HookTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(input)
	var out tailBuffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.Env = append(os.Environ(),
		"FTPMIRROR_JOB="+j.Name,
		"FTPMIRROR_TARGET="+j.Target,
		"FTPMIRROR_RESULT="+result,
		"FTPMIRROR_HOOK="+name,
	)
	cmd.WaitDelay = hookWaitDelay
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("killed after hook_timeout %v", j.HookTimeout)
	}
	return strings.TrimSpace(out.String()), err
}

// tailBuffer keeps the last hookOutputMax bytes written to it.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - hookOutputMax; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }
