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
//	ftpmirror demo                          mirror a sample tree from an embedded server
//	ftpmirror state rebuild|show ...        inspect or rebuild a state database
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

	"github.com/ftpmirror/ftpmirror/mirror"
)

// Exit statuses. Documented in README.md; keep them in step.
const (
	exitOK      = 0 // everything done
	exitPartial = 1 // some files or jobs failed; the rest was committed
	exitUsage   = 2 // bad command line, URL or job file
	exitGuard   = 3 // a safety guard stopped the run (nothing deleted)
	exitLocked  = 4 // the job is running elsewhere; skipped
)

// usageError is a mistake on the command line or in a job file.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
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
		{"demo", "mirror a sample tree from an embedded server, twice", cmdDemo},
		{"state", "inspect or rebuild a state database", cmdState},
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
Run "ftpmirror COMMAND -h" for a command's flags.

URLs: ftp://[user[:password]@]host[:port]/path, or ftps:// for implicit TLS
(port 990). The password comes from the URL, $FTPMIRROR_PASSWORD or
~/.netrc; without a user, ftpmirror logs in as anonymous.

Exit status: 0 all done; 1 some files or jobs failed (the rest was
committed); 2 usage or configuration error; 3 stopped by a safety guard
(nothing deleted); 4 the job is locked by another process (skipped).
`)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and turns its error into an exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return exitCode(c.run(ctx, args[1:], stdout, stderr), stderr)
		}
	}
	fmt.Fprintf(stderr, "ftpmirror: unknown command %q\n", args[0])
	usage(stderr)
	return exitUsage
}

// exitCode maps an error to the exit status, printing it as one line.
func exitCode(err error, stderr io.Writer) int {
	var ue *usageError
	var ee *exitError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ee):
		if ee.err != nil {
			fmt.Fprintf(stderr, "ftpmirror: %v\n", ee.err)
		}
		return ee.code
	case errors.Is(err, mirror.ErrSafetyGuard):
		fmt.Fprintf(stderr, "ftpmirror: %v\n", err)
		return exitGuard
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "ftpmirror: %v\n", err)
		return exitUsage
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "ftpmirror: interrupted")
		return 130
	default:
		fmt.Fprintf(stderr, "ftpmirror: %v\n", err)
		return exitPartial
	}
}
