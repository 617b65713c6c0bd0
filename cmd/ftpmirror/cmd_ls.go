package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// cmdLs lists a remote directory, to exercise a server (and ftpcore) end
// to end: ftpmirror ls [flags] URL.
func cmdLs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	jc := defaultJob()
	fs := newFlagSet("ls", "ls [flags] URL", stderr)
	addConnFlags(fs, &jc)
	trace := fs.Bool("trace", false, "print the control connection's conversation to stderr (PASS redacted)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usagef("ls takes one URL")
	}
	src, err := parseSource(fs.Arg(0))
	if err != nil {
		return err
	}
	cfg, err := jc.ftpConfig(src)
	if err != nil {
		return err
	}
	if *trace {
		cfg.Trace = stderr
	}
	user, pass := src.credentials(jc.User)
	c, err := ftpcore.Dial(ctx, src.Addr, &cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Login(ctx, user, pass); err != nil {
		return fmt.Errorf("login to %s as %s: %w", src.Addr, orAnonymous(user), err)
	}
	dir := src.Path
	if dir == "" {
		if dir, err = c.Pwd(ctx); err != nil {
			return err
		}
	}
	// List changes into an absolute dir first: a missing or unreadable
	// directory is an error naming the server's reply, never an empty
	// listing (vsftpd lists a missing directory as empty).
	entries, err := c.List(ctx, dir)
	if err != nil {
		return &mirror.RootError{Path: dir, Err: err}
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 1, ' ', tabwriter.AlignRight)
	for _, e := range entries {
		name := e.Name
		if e.Target != "" {
			name += " -> " + e.Target
		}
		size := "-"
		if e.Size >= 0 {
			size = fmt.Sprint(e.Size)
		}
		fmt.Fprintf(tw, "%s\t%s\t %s\t %s\n", e.Type, size, formatTime(e.Time, e.Precision), name)
	}
	return tw.Flush()
}

func orAnonymous(user string) string {
	if user == "" {
		return "anonymous"
	}
	return user
}

// formatTime shows a listing time at the precision the server gave.
func formatTime(t time.Time, p ftpcore.TimePrecision) string {
	switch p {
	case ftpcore.TimeExact:
		return t.UTC().Format("2006-01-02 15:04:05Z")
	case ftpcore.TimeMinute:
		return t.Format("2006-01-02 15:04   ")
	case ftpcore.TimeDay:
		return t.Format("2006-01-02        ")
	}
	return "?                  "
}
