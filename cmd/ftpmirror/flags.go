package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/ftpmirror/ftpmirror/internal/jobs"
)

// addConnFlags binds the connection flags that ls and sync share to jc.
func addConnFlags(fs *flagSet, jc *jobs.Job) {
	fs.Var(jobs.ModeFlag{J: jc}, "mode", "data connections: passive (EPSV/PASV: we connect), active (EPRT/PORT: the server connects back) or auto (sync: active where the server's stored profile shows it works and is faster; ls: passive)")
	fs.Var(jobs.ActiveFlag{J: jc}, "active", "short for -mode active")
	fs.StringVar(&jc.TLS, "tls", jc.TLS, "FTPS: none, explicit (AUTH TLS) or implicit; default none, implicit for ftps://")
	fs.BoolVar(&jc.TLSInsecure, "tls-insecure", jc.TLSInsecure, "do not verify the server's certificate (unsafe)")
	fs.StringVar(&jc.TLSCAFile, "tls-ca-file", jc.TLSCAFile, "PEM file of CA certificates to verify the server with, instead of the system's")
	fs.DurationVar(&jc.Timeout, "timeout", jc.Timeout, "bound on every network operation that makes no progress")
	fs.Var(jobs.NegBool{V: &jc.Pipelining}, "no-pipelining", "send each command only after the previous reply (job key pipelining = false); ftpmirror turns pipelining off by itself for a server that answers out of order")
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
