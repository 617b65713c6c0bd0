package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/internal/jobs"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// cmdLs lists a remote directory, to exercise a server (and ftpcore) end
// to end: ftpmirror ls [flags] URL.
func cmdLs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	jc := jobs.Default()
	fs := newFlagSet("ls", `ls [flags] URL

Lists the remote directory URL, one entry per line: type, size, time (at
the precision the server gives) and name. A directory that does not exist
or cannot be read is an error, never an empty listing.

Examples:
  ftpmirror ls ftp://ftp.example.org/pub
  ftpmirror ls -trace -tls explicit ftp://user@host.example.org/data

`+exitStatusHelp)
	addConnFlags(fs, &jc)
	trace := fs.Bool("trace", false, "print the control connection's conversation to stderr (PASS redacted)")
	pos, err := fs.parseArgs(args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("ls takes one URL (run \"ftpmirror help ls\")")
	}
	var traceTo io.Writer
	if *trace {
		traceTo = stderr
	}
	src, cfg, cred, err := jc.Remote(pos[0], traceTo, stderr)
	if err != nil {
		return err
	}
	user, pass := cred.User, cred.Password
	c, err := ftpcore.Dial(ctx, src.Addr, &cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Login(ctx, user, pass); err != nil {
		return fmt.Errorf("login to %s as %s: %w", src.Addr, cred.Who(), err)
	}
	dir, err := absDir(ctx, c, src.Path)
	if err != nil {
		return err
	}
	entries, err := c.List(ctx, dir)
	var bad *ftpcore.ListError
	if err != nil && !errors.As(err, &bad) {
		return &mirror.RootError{Path: dir, Err: err}
	}
	if err := printEntries(stdout, entries); err != nil {
		return err
	}
	if bad != nil {
		// The lines no parser understood, quoted, after what could be.
		return bad
	}
	return nil
}

// absDir is the directory to list. List changes into an absolute dir
// first: a missing or unreadable directory is an error naming the
// server's reply, never an empty listing (vsftpd lists a missing
// directory as empty), and no server globs its name. A relative path
// (RFC 1738) is made absolute with the login directory, where the server
// has Unix paths.
func absDir(ctx context.Context, c *ftpcore.Conn, dir string) (string, error) {
	if strings.HasPrefix(dir, "/") {
		return dir, nil
	}
	pwd, err := c.Pwd(ctx)
	switch {
	case err == nil && strings.HasPrefix(pwd, "/"):
		dir = path.Join(pwd, dir)
	case dir == "" && err == nil:
		dir = pwd
	case dir == "":
		return "", err
	}
	return dir, nil
}

// printEntries prints a listing: type, size, time and name, one entry per
// line.
func printEntries(stdout io.Writer, entries []ftpcore.Entry) error {
	tw := tabwriter.NewWriter(stdout, 0, 0, 1, ' ', tabwriter.AlignRight)
	for _, e := range entries {
		// Names may hold any byte but '/' and NUL: quoted where needed.
		name := mirror.QuotePath(e.Name)
		if e.Target != "" {
			name += " -> " + mirror.QuotePath(e.Target)
		}
		size := "-"
		if e.Size >= 0 {
			size = fmt.Sprint(e.Size)
		}
		fmt.Fprintf(tw, "%s\t%s\t %s\t %s\n", e.Type, size, formatTime(e.Time, e.Precision), name)
	}
	return tw.Flush()
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
