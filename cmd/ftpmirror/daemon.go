package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/ftpmirror/ftpmirror/internal/daemon"
	"github.com/ftpmirror/ftpmirror/internal/jobs"
)

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
	opts := daemon.Options{}
	fs.StringVar(&opts.JobsPath, "jobs", "", "job file (required)")
	fs.StringVar(&opts.Listen, "listen", "", "serve /metrics, /healthz and /status on `ADDR` (host:port; a bare port means 127.0.0.1); default off")
	fs.DurationVar(&opts.StopTimeout, "stop-timeout", jobs.DefaultStopTimeout, "on SIGTERM or SIGINT, how long running jobs get to stop before the daemon exits anyway")
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
	return daemon.Run(ctx, &opts)
}
