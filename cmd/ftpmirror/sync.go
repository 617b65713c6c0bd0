package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"

	"github.com/ftpmirror/ftpmirror/internal/jobs"
	"github.com/ftpmirror/ftpmirror/internal/termbar"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// syncFlags are sync's flags that are not job settings.
type syncFlags struct {
	jobs       string
	jsonOut    bool
	log        logFlags
	cpuProfile string
}

// addSyncFlags binds every flag that has a job key to jc. A flag and the
// job key of the same name are one setting (jc's field): `sync -jobs`
// layers the flags given over each job's keys (overrideFlags).
func addSyncFlags(fs *flagSet, jc *jobs.Job) {
	addConnFlags(fs, jc)
	fs.Var(jobs.ParallelFlag{J: jc}, "parallel", "connections to use at once (1-64), or auto: find the width for the server, starting where it settled last time (at most 16)")
	fs.IntVar(&jc.Retries, "retries", jc.Retries, "retries per file or directory after a transient failure (0: none)")
	fs.BoolVar(&jc.Delete, "delete", jc.Delete, "delete local files that are gone remotely (only files this mirror fetched)")
	fs.StringVar(&jc.MaxDelete, "max-delete", jc.MaxDelete, "with -delete: abort the delete phase (exit 3) when a run would delete more than N paths or P% of the mirror; 0 allows none, none means no limit")
	fs.Var(&jobs.ListFlag{Dst: &jc.Include}, "include", "mirror only files matching this glob (repeatable; '**' crosses directories; without '/' it matches base names)")
	fs.Var(&jobs.ListFlag{Dst: &jc.Exclude}, "exclude", "leave out files and directories matching this glob (repeatable)")
	fs.Var(&jobs.ListFlag{Dst: &jc.Last}, "last", "fetch files matching this glob only after all others succeeded, and delete after them (repeatable; @archive: Debian and RPM indexes)")
	fs.Var(jobs.BytesFlag{V: &jc.MaxSize}, "max-size", "skip files larger than this (e.g. 100M)")
	fs.DurationVar(&jc.MinFileAge, "min-age", jc.MinFileAge, "skip files modified more recently than this (job key min_file_age)")
	fs.DurationVar(&jc.MaxFileAge, "max-age", jc.MaxFileAge, "skip files modified longer ago than this (job key max_file_age)")
	fs.StringVar(&jc.Symlinks, "symlinks", jc.Symlinks, "remote symlinks: skip, follow (fetch what they point to) or keep (local links inside the mirror)")
	fs.StringVar(&jc.Verify, "verify", jc.Verify, "check each fetched file against the server's digest (HASH, XSHA256...): auto (where offered and pipelined), on (wherever offered; none offered fails the run) or off")
	fs.Var(jobs.BytesFlag{V: &jc.LimitRate}, "limit-rate", "cap the total download rate, bytes per second (e.g. 10M)")
	fs.IntVar(&jc.Segments, "segments", jc.Segments, "connections that may share one large file (32 MiB or more) when it is the last thing left; 1: never")
	fs.StringVar(&jc.Publish, "publish", jc.Publish, "inplace: write into TARGET_DIR file by file; snapshot: build a new version under TARGET_DIR/snapshots and switch the symlink TARGET_DIR/current to it when the run ends ok")
	fs.IntVar(&jc.KeepSnapshots, "keep-snapshots", jc.KeepSnapshots, "with -publish snapshot: published versions to keep (job key keep_snapshots)")
	fs.StringVar(&jc.Sentinel, "sentinel", jc.Sentinel, "a file relative to the source's root that the upstream rewrites after each update (e.g. project/trace/master): while its size and time are as the last complete run saw them, a run lists only its directory and ends")
	fs.StringVar(&jc.StatePath, "state", jc.StatePath, "state database (default $XDG_STATE_HOME/ftpmirror/JOB.db)")
	fs.BoolVar(&jc.DryRun, "dry-run", jc.DryRun, "print the plan (fetch/delete/mkdir/adopt with reasons) and write nothing: no file, directory, lock or state")
	fs.BoolVar(&jc.Quiet, "quiet", jc.Quiet, "print nothing when the run succeeds, and what is needed when it fails (for cron)")
	fs.BoolVar(&jc.Quiet, "q", jc.Quiet, "short for -quiet")
}

// newSyncFlags makes sync's flag set, bound to jc and sf.
func newSyncFlags(jc *jobs.Job, sf *syncFlags) *flagSet {
	fs := newFlagSet("sync", syncHelp)
	addSyncFlags(fs, jc)
	fs.StringVar(&sf.jobs, "jobs", "", "run these jobs of a job file (all if none named) once; the flags given override the jobs' keys for this run")
	fs.BoolVar(&sf.jsonOut, "json", false, "print the summary as JSON on stdout (one line per job with -jobs)")
	fs.StringVar(&sf.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file (for go tool pprof)")
	sf.log.add(fs)
	return fs
}

const syncHelp = `sync [flags] URL TARGET_DIR
       ftpmirror sync -jobs FILE [flags] [JOB...]

Mirrors the remote directory URL into TARGET_DIR once: fetches what is new
or changed, resumes interrupted downloads, and with -delete removes local
files that ftpmirror fetched and that are gone remotely. With -jobs it runs
jobs of a job file instead, one after the other; any flag given then
overrides that key of every job run, for this run only.

Flags may come before or after the arguments.

Examples:
  ftpmirror sync ftp://ftp.example.org/pub/data /srv/mirror/data
  ftpmirror sync -dry-run -delete ftp://ftp.example.org/pub/data /srv/mirror/data
  ftpmirror sync -q -jobs /etc/ftpmirror/jobs.toml            # from cron
  ftpmirror sync -jobs jobs.toml -dry-run -max-delete 0 pub   # what would pub do?

` + exitStatusHelp

// cmdSync: ftpmirror sync [flags] URL TARGET_DIR, or
// ftpmirror sync -jobs FILE [flags] [JOB...].
func cmdSync(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	jc := jobs.Default()
	var sf syncFlags
	fs := newSyncFlags(&jc, &sf)
	pos, err := fs.parseArgs(args, stdout)
	if err != nil {
		return err
	}
	if sf.cpuProfile != "" {
		f, err := os.Create(sf.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if sf.jobs != "" {
		specs, err := jobsToSync(sf.jobs, pos, args, stderr)
		if err != nil {
			return err
		}
		return runJobsOnce(ctx, specs, &sf, stdout, stderr)
	}
	if len(pos) != 2 {
		return usagef("sync takes a URL and a target directory, or -jobs FILE, not %d argument%s (run \"ftpmirror help sync\")", len(pos), plural(len(pos)))
	}
	jc.Source, jc.Target = pos[0], pos[1]
	if src, err := jobs.ParseSource(jc.Source); err == nil && src.HasPass {
		fmt.Fprintln(stderr, "ftpmirror: warning: the URL holds a password, which other users can see in the process list; prefer $FTPMIRROR_PASSWORD or ~/.netrc")
	}
	logger, err := sf.log.logger(logWriter(stderr), jc.Quiet)
	if err != nil {
		return err
	}
	out := &runOutput{stdout: stdout, stderr: stderr, json: sf.jsonOut, indent: true}
	sum, err := syncOnce(ctx, &jc, logger, out)
	return runError(sum, err)
}

// runJobsOnce runs specs once each, one after the other: `ftpmirror sync
// -jobs FILE [JOB...]`, the form for system cron and batch schedulers.
// It prints a line per job to stdout (a JSON summary per line with
// -json; with -q only for jobs that did not succeed), and returns an
// *exitError with the worst job's status (see worseExit), or nil if
// every job was ok. An interrupt stops after the current job.
func runJobsOnce(ctx context.Context, specs []*jobs.Job, sf *syncFlags, stdout, stderr io.Writer) error {
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
		r := &jobs.Runner{Logger: logger, Cmd: "sync"}
		if spec.DryRun {
			r.Plan = out.planReporter()
		}
		sum, err := r.RunBounded(ctx, spec, jobs.DefaultStopTimeout)
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

// worseExit returns the worse of two exit statuses. From best to worst:
// ok (0), locked and skipped (4: the job is running elsewhere, nothing
// is wrong), some files failed (1), files no longer match (6, verify),
// nothing could be done (5), safety guard (3: a human must look),
// configuration error (2), interrupted.
func worseExit(a, b int) int {
	rank := func(c int) int {
		switch c {
		case exitOK:
			return 0
		case exitLocked:
			return 1
		case exitPartial:
			return 2
		case exitMismatch:
			return 3
		case exitNotStarted:
			return 4
		case exitGuard:
			return 5
		case exitUsage:
			return 6
		}
		return 7
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// jobsToSync loads the job file, picks the jobs named (all if none) and
// layers the command line's flags over each.
func jobsToSync(path string, names, args []string, stderr io.Writer) ([]*jobs.Job, error) {
	f, err := jobs.Load(path)
	if err != nil {
		return nil, err
	}
	for _, w := range f.Warnings {
		fmt.Fprintf(stderr, "ftpmirror: warning: %s\n", w)
	}
	specs, err := f.Select(names)
	if err != nil {
		return nil, err
	}
	out := make([]*jobs.Job, len(specs))
	for i, spec := range specs {
		s := *spec
		if err := overrideFlags(&s, args); err != nil {
			return nil, err
		}
		out[i] = &s
	}
	return out, nil
}

// overrideFlags sets the job settings that args give as flags: parsing
// sync's command line again, bound to a job's settings, changes exactly
// the settings named on it.
func overrideFlags(jc *jobs.Job, args []string) error {
	var sf syncFlags
	_, err := newSyncFlags(jc, &sf).parseArgs(args, io.Discard)
	return err
}

// syncOnce runs one job with the terminal's progress display, prints the
// dry run's plan and the summary. The daemon does not use it; demo and
// sync do.
func syncOnce(ctx context.Context, jc *jobs.Job, logger *slog.Logger, out *runOutput) (*mirror.Summary, error) {
	var disp *termbar.Bar
	sum, err := jobs.Mirror(ctx, jc, logger, func(o *mirror.Options) {
		if jc.DryRun {
			o.Report = out.planReporter()
		}
		if !out.json && !jc.DryRun && !jc.Quiet && termbar.IsTerminal(out.stderr) {
			o.Progress = &mirror.Progress{}
			disp = termbar.Start(o.Progress, out.stderr)
		}
	})
	if disp != nil {
		disp.Stop()
	}
	if sum != nil && exitCode(ctx, err) != exitLocked && !errors.Is(err, mirror.ErrNotStarted) {
		// A run that did nothing has no counts to show: main prints
		// its error.
		out.summary(jc.Name, sum, nil, jc.Quiet)
	}
	return sum, err
}
