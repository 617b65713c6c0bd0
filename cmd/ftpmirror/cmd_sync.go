package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/ftpmirror/ftpmirror/mirror"
)

// syncFlags are sync's flags beyond the job's own.
type syncFlags struct {
	jobs    string
	jsonOut bool
	log     logFlags
}

// addSyncFlags binds every flag that has a job key to jc.
func addSyncFlags(fs *flag.FlagSet, jc *jobConfig) {
	addConnFlags(fs, jc)
	fs.IntVar(&jc.Parallel, "parallel", jc.Parallel, "connections to use at once (1-64)")
	fs.IntVar(&jc.Retries, "retries", jc.Retries, "retries per file or directory after a transient failure (0: none)")
	fs.BoolVar(&jc.Delete, "delete", jc.Delete, "delete local files that are gone remotely (only files this mirror fetched)")
	fs.StringVar(&jc.MaxDelete, "max-delete", jc.MaxDelete, "with -delete: abort the delete phase (exit 3) when a run would delete more than N paths or P% of the mirror")
	fs.Var((*stringList)(&jc.Include), "include", "mirror only files matching this glob (repeatable; '**' crosses directories; without '/' it matches base names)")
	fs.Var((*stringList)(&jc.Exclude), "exclude", "leave out files and directories matching this glob (repeatable)")
	fs.Var(bytesFlag{&jc.MaxSize}, "max-size", "skip files larger than this (e.g. 100M)")
	fs.DurationVar(&jc.MinAge, "min-age", jc.MinAge, "skip files modified more recently than this")
	fs.DurationVar(&jc.MaxAge, "max-age", jc.MaxAge, "skip files modified longer ago than this")
	fs.StringVar(&jc.Symlinks, "symlinks", jc.Symlinks, "remote symlinks: skip, follow (fetch what they point to) or keep (local links inside the mirror)")
	fs.Var(bytesFlag{&jc.LimitRate}, "limit-rate", "cap the total download rate, bytes per second (e.g. 10M)")
	fs.IntVar(&jc.Segments, "segments", jc.Segments, "connections that may share one large file (32 MiB or more) when it is the last thing left; 1: never")
	fs.StringVar(&jc.StatePath, "state", jc.StatePath, "state database (default $XDG_STATE_HOME/ftpmirror/JOB.db)")
	fs.BoolVar(&jc.DryRun, "dry-run", jc.DryRun, "print the plan (fetch/delete/skip with reasons) and change nothing, state included")
}

// cmdSync: ftpmirror sync [flags] URL TARGET_DIR, or
// ftpmirror sync -jobs FILE [JOB...].
func cmdSync(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	jc := defaultJob()
	var sf syncFlags
	fs := newFlagSet("sync", "sync [flags] URL TARGET_DIR\n       ftpmirror sync -jobs FILE [JOB...]", stderr)
	addSyncFlags(fs, &jc)
	fs.StringVar(&sf.jobs, "jobs", "", "run these jobs from a job file (all if none named) once, and exit with the worst status")
	fs.BoolVar(&sf.jsonOut, "json", false, "print the summary as JSON on stdout")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file (for go tool pprof)")
	sf.log.add(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
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
		logger, err := sf.log.logger(stderr)
		if err != nil {
			return err
		}
		return runJobsOnceWith(ctx, sf.jobs, fs.Args(), stdout, stderr, logger, sf.jsonOut)
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return usagef("sync takes a URL and a target directory (or -jobs FILE)")
	}
	jc.Source, jc.Target = fs.Arg(0), fs.Arg(1)
	logOut := stderr
	if isTerminal(stderr) {
		logOut = clearLine{stderr}
	}
	logger, err := sf.log.logger(logOut)
	if err != nil {
		return err
	}
	sum, err := syncOnce(ctx, &jc, logger, stdout, stderr, sf.jsonOut)
	return syncStatus(sum, err)
}

// syncOnce runs one job with the terminal's progress display, prints the
// dry-run plan and the summary. The daemon does not use it; demo and
// sync do.
func syncOnce(ctx context.Context, jc *jobConfig, logger *slog.Logger, stdout, stderr io.Writer, jsonOut bool) (*mirror.Summary, error) {
	var disp *progressDisplay
	sum, err := runJob(ctx, jc, logger, func(o *mirror.Options) {
		if jc.DryRun {
			var mu sync.Mutex
			o.Report = func(a mirror.Action) {
				if a.Verb == mirror.VerbSkip && a.Reason == "unchanged" {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				fmt.Fprintln(stdout, a) // paths quoted where they need it
			}
		}
		if !jsonOut && !jc.DryRun && isTerminal(stderr) {
			o.Progress = &mirror.Progress{}
			disp = startProgress(o.Progress, stderr)
		}
	})
	if disp != nil {
		disp.stop()
	}
	if sum != nil {
		if jsonOut {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			enc.Encode(sum)
		} else {
			fmt.Fprintln(stdout, summaryLine(sum))
		}
	}
	return sum, err
}

// syncStatus turns a run's outcome into sync's exit status.
func syncStatus(sum *mirror.Summary, err error) error {
	if err != nil {
		return err
	}
	if sum != nil && sum.Failed > 0 {
		return &exitError{code: exitPartial}
	}
	return nil
}

// summaryLine is the one line a run ends with.
func summaryLine(s *mirror.Summary) string {
	d := s.End.Sub(s.Start)
	rate := ""
	if secs := d.Seconds(); secs > 0 && s.Bytes > 0 {
		rate = fmt.Sprintf(", %s/s", humanBytes(int64(float64(s.Bytes)/secs)))
	}
	return fmt.Sprintf("%s: %s: %d dirs, %d files listed, %d fetched (%s), %d adopted, %d unchanged, %d deleted, %d skipped, %d failed in %s%s",
		s.Job, s.Result, s.Dirs, s.Listed, s.Fetched, humanBytes(s.Bytes), s.Adopted, s.Unchanged, s.Deleted, s.Skipped, s.Failed,
		d.Round(10*time.Millisecond), rate)
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressDisplay draws mirror.Progress as a bar on a terminal: bytes
// done of the bytes known so far (the walk keeps adding), files, rate
// and ETA.
type progressDisplay struct {
	done chan struct{}
	wg   sync.WaitGroup
}

func startProgress(p *mirror.Progress, w io.Writer) *progressDisplay {
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionClearOnFinish(),
	)
	d := &progressDisplay{done: make(chan struct{})}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-d.done:
				bar.Finish()
				return
			case <-tick.C:
				total := p.BytesTotal.Load()
				if total > 0 {
					bar.ChangeMax64(total)
				}
				bar.Describe(fmt.Sprintf("%d/%d files, %d dirs", p.FilesDone.Load(), p.FilesTotal.Load(), p.Listed.Load()))
				bar.Set64(p.BytesDone.Load())
			}
		}
	}()
	return d
}

func (d *progressDisplay) stop() {
	close(d.done)
	d.wg.Wait()
}

// clearLine clears the terminal line before each log line, so that log
// lines do not run into the progress bar, which redraws itself below.
type clearLine struct{ w io.Writer }

func (c clearLine) Write(p []byte) (int, error) {
	if _, err := io.WriteString(c.w, "\r\x1b[K"); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
