// Command ftpmirror keeps local mirrors of remote FTP trees up to date.
//
// Usage:
//
//	ftpmirror sync [flags] URL TARGET_DIR   mirror once
//	ftpmirror sync -jobs FILE [JOB...]      run jobs from a job file once (for cron)
//	ftpmirror daemon -jobs FILE             run jobs on their schedules
//	ftpmirror status -jobs FILE             last runs and next schedule of each job
//	ftpmirror check -jobs FILE              validate a job file
//	ftpmirror ls [flags] URL                list a remote directory
//	ftpmirror doctor [flags] URL            probe a server; suggest a [[job]]
//	ftpmirror demo                          mirror a sample tree from an embedded server
//	ftpmirror verify -jobs FILE [JOB...]    re-read the local files against the state
//	ftpmirror state rebuild|show ...        inspect or rebuild a state database
//	ftpmirror version                       print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/ftpmirror/ftpmirror/internal/daemon"
	"github.com/ftpmirror/ftpmirror/internal/jobs"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// Exit statuses. Documented in README.md and in every command's help
// (exitStatusHelp); keep the three in step. exitStatus is the one place
// that maps errors to them.
const (
	exitOK         = 0   // everything done
	exitPartial    = 1   // some files or jobs failed; the rest was committed
	exitUsage      = 2   // bad command line, URL or job file
	exitGuard      = 3   // a safety guard stopped the run (nothing deleted)
	exitLocked     = 4   // the job or target is in use by another run; skipped
	exitNotStarted = 5   // nothing could be done: connect, TLS, login or the remote root failed
	exitMismatch   = 6   // verify: local files no longer match the state
	exitSIGINT     = 130 // interrupted by SIGINT (Ctrl-C): 128+2
	exitSIGTERM    = 143 // stopped by SIGTERM: 128+15
)

const exitStatusHelp = `Exit status:
  0    all done (a dry run: the plan has no error)
  1    partial: some files or jobs failed; the rest was committed
  2    usage or configuration error (command line, URL, job file)
  3    a safety guard stopped the run; nothing was deleted
  4    locked: another run is writing this job or target; skipped
  5    nothing could be done: connecting, TLS, login or the remote
       root failed; nothing was changed
  6    verify: some local files no longer match the state
  130  interrupted (SIGINT); 143 stopped (SIGTERM). Partial downloads
       are kept and resume on the next run.
`

// usageError is a mistake on the command line or in a job file.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef is fmt.Errorf for usage errors: %w keeps the chain.
func usagef(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// exitError carries an exit status decided below main, with or without a
// message (a run that already printed its summary).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// errPartial: some files of a run failed (each was logged).
var errPartial = errors.New("some files failed")

// signalError is the cause of a context cancelled by a signal.
type signalError struct{ sig os.Signal }

func (e *signalError) Error() string {
	if e.sig == syscall.SIGTERM {
		return "stopped (SIGTERM)"
	}
	return "interrupted (SIGINT)"
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"sync", "mirror a remote directory, or run jobs from a job file, once", cmdSync},
		{"daemon", "run the jobs of a job file on their schedules", cmdDaemon},
		{"status", "show the last runs and next schedule of each job", cmdStatus},
		{"check", "validate a job file", cmdCheck},
		{"ls", "list a remote directory", cmdLs},
		{"doctor", "probe a server: what it does and needs, and a [[job]] for it", cmdDoctor},
		{"demo", "mirror a sample tree from an embedded server, twice", cmdDemo},
		{"verify", "re-read the local files: report those that no longer match the state", cmdVerify},
		{"state", "inspect or rebuild a state database", cmdState},
		{"version", "print the version, commit and Go version", cmdVersion},
		{"help", "print help on a command: help COMMAND", nil},
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `ftpmirror keeps local mirrors of remote FTP trees up to date.

Usage: ftpmirror COMMAND [flags] [args]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run "ftpmirror help COMMAND" (or "ftpmirror COMMAND -h") for a command's
flags and examples.

URLs: ftp://[user[:password]@]host[:port]/path, or ftps:// for implicit TLS
(port 990). As in RFC 1738, curl and lftp, the path is relative to the
login directory; %2F at its start makes it absolute (ftp://host/%2Fpub).
The user comes from -user, the URL, or the ~/.netrc machine entry for the
host, else anonymous; the password from the URL, $FTPMIRROR_PASSWORD or
~/.netrc.

`+exitStatusHelp)
}

func main() {
	ctx, stop := signalContext()
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// signalContext is cancelled, with a *signalError as its cause, by the
// first SIGINT or SIGTERM. A second one kills the process the default
// way.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			cancel(&signalError{sig})
			signal.Stop(ch)
		case <-done:
		}
	}()
	return ctx, func() {
		close(done)
		signal.Stop(ch)
		cancel(nil)
	}
}

// run dispatches to a subcommand and turns its error into an exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	case "-version", "--version":
		args[0] = "version"
	case "help":
		if len(args) == 1 {
			usage(stdout)
			return exitOK
		}
		args = []string{args[1], "-h"}
	}
	for _, c := range commands() {
		if c.name == args[0] && c.run != nil {
			return exitStatus(ctx, c.run(ctx, args[1:], stdout, stderr), stderr)
		}
	}
	fmt.Fprintf(stderr, "ftpmirror: unknown command %q; run \"ftpmirror help\" for the list\n", args[0])
	return exitUsage
}

// exitStatus maps an error to the exit status, printing it as one line
// (an *exitError without a message was printed already). It is the one
// place that decides exit statuses.
func exitStatus(ctx context.Context, err error, stderr io.Writer) int {
	code := exitCode(ctx, err)
	var ee *exitError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.As(err, &ee) && ee.err == nil:
	case errors.Is(err, errPartial):
	case code == exitSIGINT || code == exitSIGTERM:
		what := "interrupted"
		var se *signalError
		if errors.As(context.Cause(ctx), &se) {
			what = se.Error()
		}
		fmt.Fprintf(stderr, "ftpmirror: %s; partial downloads are kept and resume on the next run\n", what)
	default:
		fmt.Fprintf(stderr, "ftpmirror: %v\n", err)
	}
	return code
}

// exitCode is the exit status for err.
func exitCode(ctx context.Context, err error) int {
	var ue *usageError
	var ce *jobs.ConfigError
	var fe *jobs.FileError
	var ee *exitError
	var ste *daemon.StopTimeoutError
	var se *signalError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		if errors.As(context.Cause(ctx), &se) && se.sig == syscall.SIGTERM {
			return exitSIGTERM
		}
		return exitSIGINT
	case errors.As(err, &ue), errors.As(err, &ce), errors.As(err, &fe):
		return exitUsage
	case jobs.IsLocked(err):
		return exitLocked
	case errors.Is(err, mirror.ErrSafetyGuard):
		return exitGuard
	case errors.Is(err, mirror.ErrNotStarted):
		return exitNotStarted
	case errors.Is(err, mirror.ErrMismatch):
		return exitMismatch
	case errors.As(err, &ste):
		return exitPartial
	default:
		return exitPartial
	}
}
