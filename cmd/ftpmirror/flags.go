package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// addConnFlags binds the connection flags that ls and sync share to jc.
func addConnFlags(fs *flag.FlagSet, jc *jobConfig) {
	fs.BoolVar(&jc.Active, "active", jc.Active, "active mode: the server connects back to us (EPRT/PORT) instead of passive (EPSV/PASV)")
	fs.StringVar(&jc.TLS, "tls", jc.TLS, "FTPS: none, explicit (AUTH TLS) or implicit; default none, implicit for ftps://")
	fs.BoolVar(&jc.TLSInsecure, "tls-insecure", jc.TLSInsecure, "do not verify the server's certificate (unsafe)")
	fs.StringVar(&jc.TLSCAFile, "tls-ca-file", jc.TLSCAFile, "PEM file of CA certificates to verify the server with, instead of the system's")
	fs.DurationVar(&jc.Timeout, "timeout", jc.Timeout, "bound on every network operation that makes no progress")
	fs.StringVar(&jc.User, "user", jc.User, "user name (overrides the URL's); the password comes from the URL, $FTPMIRROR_PASSWORD or ~/.netrc")
}

// logFlags are the logging flags of the commands that run jobs.
type logFlags struct {
	verbose bool
	format  string
}

func (lf *logFlags) add(fs *flag.FlagSet) {
	fs.BoolVar(&lf.verbose, "v", false, "verbose: log every file (debug level)")
	fs.StringVar(&lf.format, "log-format", "text", "log format: text or json")
}

// logger returns the slog.Logger the flags ask for, writing to w.
func (lf *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	level := slog.LevelInfo
	if lf.verbose {
		level = slog.LevelDebug
	}
	hopts := &slog.HandlerOptions{Level: level}
	switch lf.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, hopts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, hopts)), nil
	}
	return nil, usagef("-log-format: want text or json, not %q", lf.format)
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// bytesFlag is a size flag taking "10M" and the like.
type bytesFlag struct{ v *int64 }

func (b bytesFlag) String() string {
	if b.v == nil || *b.v == 0 {
		return ""
	}
	return fmt.Sprint(*b.v)
}

func (b bytesFlag) Set(s string) error {
	n, err := parseBytes(s)
	if err != nil {
		return err
	}
	*b.v = n
	return nil
}

// newFlagSet makes a FlagSet whose errors are returned, with a usage text.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: ftpmirror %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, turning a flag error into a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usagef("%v", err)
	}
	return nil
}
