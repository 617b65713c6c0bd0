package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/ftpmirror/ftpmirror/internal/jobs"
)

// addConnFlags binds the connection flags that ls and sync share to jc.
func addConnFlags(fs *flagSet, jc *jobs.Job) {
	fs.BoolVar(&jc.Active, "active", jc.Active, "active mode: the server connects back to us (EPRT/PORT) instead of passive (EPSV/PASV)")
	fs.StringVar(&jc.TLS, "tls", jc.TLS, "FTPS: none, explicit (AUTH TLS) or implicit; default none, implicit for ftps://")
	fs.BoolVar(&jc.TLSInsecure, "tls-insecure", jc.TLSInsecure, "do not verify the server's certificate (unsafe)")
	fs.StringVar(&jc.TLSCAFile, "tls-ca-file", jc.TLSCAFile, "PEM file of CA certificates to verify the server with, instead of the system's")
	fs.DurationVar(&jc.Timeout, "timeout", jc.Timeout, "bound on every network operation that makes no progress")
	fs.Var(negBool{&jc.Pipelining}, "no-pipelining", "send each command only after the previous reply (job key pipelining = false); ftpmirror turns pipelining off by itself for a server that answers out of order")
	fs.StringVar(&jc.User, "user", jc.User, "user name (overrides the URL's); the password comes from the URL, $FTPMIRROR_PASSWORD or ~/.netrc")
}

// logFlags are the logging flags of the commands that run jobs.
type logFlags struct {
	verbose bool
	format  string
}

func (lf *logFlags) add(fs *flagSet) {
	fs.BoolVar(&lf.verbose, "v", false, "verbose: log every file (debug level)")
	fs.StringVar(&lf.format, "log-format", "text", "log format: text or json")
}

// logger returns the slog.Logger the flags ask for, writing to w. Quiet
// keeps warnings and errors only (and -v, which asks for more, wins).
// Durations are written as "1.5s", in JSON too, not as nanoseconds.
func (lf *logFlags) logger(w io.Writer, quiet bool) (*slog.Logger, error) {
	level := slog.LevelInfo
	switch {
	case lf.verbose:
		level = slog.LevelDebug
	case quiet:
		level = slog.LevelWarn
	}
	hopts := &slog.HandlerOptions{Level: level, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Value.Kind() == slog.KindDuration {
			return slog.String(a.Key, a.Value.Duration().String())
		}
		return a
	}}
	switch lf.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, hopts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, hopts)), nil
	}
	return nil, usagef("-log-format: want text or json, not %q", lf.format)
}

// listFlag is a repeatable string flag. The first use on a command line
// replaces the list it is bound to (a job's include = [...] with sync
// -jobs), later uses add to it.
type listFlag struct {
	dst *[]string
	set bool
}

func (l *listFlag) String() string {
	if l.dst == nil {
		return ""
	}
	return strings.Join(*l.dst, ",")
}

func (l *listFlag) Set(v string) error {
	if !l.set {
		*l.dst, l.set = nil, true
	}
	*l.dst = append(*l.dst, v)
	return nil
}

// negBool is a boolean flag that sets its setting to the opposite:
// -no-pipelining sets Pipelining false.
type negBool struct{ v *bool }

func (n negBool) IsBoolFlag() bool { return true }
func (n negBool) String() string {
	if n.v == nil {
		return "false"
	}
	return strconv.FormatBool(!*n.v)
}
func (n negBool) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*n.v = !b
	return nil
}

// parallelFlag is -parallel: N or auto (jobs.Job.SetParallel).
type parallelFlag struct{ j *jobs.Job }

func (p parallelFlag) String() string {
	if p.j == nil {
		return ""
	}
	return p.j.ParallelString()
}

func (p parallelFlag) Set(s string) error { return p.j.SetParallel(s) }

// bytesFlag is a size flag taking "10M" and the like.
type bytesFlag struct{ v *int64 }

func (b bytesFlag) String() string {
	if b.v == nil || *b.v == 0 {
		return ""
	}
	return fmt.Sprint(*b.v)
}

func (b bytesFlag) Set(s string) error {
	n, err := jobs.ParseBytes(s)
	if err != nil {
		return err
	}
	*b.v = n
	return nil
}

// flagSet is a command's flags and its help text.
type flagSet struct {
	*flag.FlagSet
	help string // a synopsis line, a description and examples
}

// newFlagSet makes a flagSet whose errors are returned, not printed; -h
// prints help and the flags to stdout.
func newFlagSet(name, help string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{fs, help}
}

// printHelp prints the help and the flags to w.
func (fs *flagSet) printHelp(w io.Writer) {
	fmt.Fprintf(w, "Usage: ftpmirror %s\n", strings.TrimSpace(fs.help))
	has := false
	fs.VisitAll(func(*flag.Flag) { has = true })
	if has {
		fmt.Fprint(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}

// parseArgs parses args and returns the positional arguments. Flags may
// come after positional ones ("sync URL DIR -delete", the rclone habit);
// "--" ends the flags. -h prints the help to stdout and returns
// flag.ErrHelp. A bad flag is one usage error, printed once by main.
func (fs *flagSet) parseArgs(args []string, stdout io.Writer) ([]string, error) {
	var pos []string
	for {
		err := fs.Parse(args)
		if err == flag.ErrHelp {
			fs.printHelp(stdout)
			return nil, err
		}
		if err != nil {
			return nil, usagef("%s: %w (run \"ftpmirror help %s\")", fs.Name(), err, fs.Name())
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parse is parseArgs for commands without positional arguments.
func (fs *flagSet) parse(args []string, stdout io.Writer) error {
	pos, err := fs.parseArgs(args, stdout)
	if err == nil && len(pos) > 0 {
		err = usagef("%s takes no arguments, not %q (run \"ftpmirror help %s\")", fs.Name(), pos, fs.Name())
	}
	return err
}
