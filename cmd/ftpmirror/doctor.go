package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/ftpmirror/ftpmirror/internal/jobs"
	"github.com/ftpmirror/ftpmirror/internal/probe"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// cmdDoctor probes a server and says what it does and needs: ftpmirror
// doctor [flags] URL. It writes nothing locally.
func cmdDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	jc := jobs.Default()
	fs := newFlagSet("doctor", `doctor [flags] URL

Probes the server of URL and prints what it does, in plain words: its
greeting and system, FEAT, which listing command works on the URL's
directory and the LIST dialect (quoting lines no parser understands),
how LIST shows times and the server's clock offset (LIST against MDTM),
EPSV/PASV (and whether PASV names another address), whether active mode
connects back (waiting at most -active-timeout), whether pipelined
replies come in order, REST, checksum commands, and with TLS the
version and whether data connections must resume the TLS session. It
ends with a [[job]] block for a job file. It writes nothing locally.

Examples:
  ftpmirror doctor ftp://ftp.example.org/pub
  ftpmirror doctor -json -tls explicit ftp://user@host.example.org/data
  ftpmirror doctor -probe-connections 10 ftp://ftp.example.org/

`+exitStatusHelp)
	addConnFlags(fs, &jc)
	asJSON := fs.Bool("json", false, "print the profile as JSON")
	conns := fs.Int("probe-connections", 0, fmt.Sprintf("open up to N connections at once to find the server's limit (at most %d); 0: do not", probe.MaxConnections))
	activeTimeout := fs.Duration("active-timeout", probe.DefaultActiveTimeout, "how long to wait for the server to connect back in active mode")
	trace := fs.Bool("trace", false, "print the control connections' conversation to stderr (PASS redacted)")
	pos, err := fs.parseArgs(args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("doctor takes one URL (run \"ftpmirror help doctor\")")
	}
	if *conns < 0 || *conns > probe.MaxConnections {
		return usagef("-probe-connections %d: want 0 to %d", *conns, probe.MaxConnections)
	}
	var traceTo io.Writer
	if *trace {
		traceTo = stderr
	}
	src, cfg, cred, err := jc.Remote(pos[0], traceTo, stderr)
	if err != nil {
		return err
	}
	if *conns > 0 {
		fmt.Fprintf(stderr, "ftpmirror: doctor will open up to %d connections at once to %s to find its limit\n", *conns, src.Addr)
	}
	opts := &probe.Options{Addr: src.Addr, User: cred.User, Password: cred.Password, Dir: src.Path, FTP: cfg,
		ActiveTimeout: *activeTimeout, MaxConnections: *conns}
	p, err := probe.Run(ctx, opts)
	if err != nil {
		var le *probe.LoginError
		if errors.As(err, &le) {
			err = fmt.Errorf("%w: %w", mirror.ErrNotStarted, le.Err)
			err = jobs.WithNextStep(err, &mirror.Options{Addr: src.Addr, FTP: cfg}, cred)
		}
		return err
	}
	job, err := doctorJob(src, &jc)
	if err != nil {
		return err
	}
	return probe.Print(stdout, p, job, *asJSON)
}

// doctorJob is the [[job]] doctor suggests: the URL and the TLS
// settings it was given, a name made of the URL, a target to change.
func doctorJob(src *jobs.Source, jc *jobs.Job) (probe.Job, error) {
	job := probe.Job{Name: src.SuggestName(), Source: src.String(), User: src.User, TLS: jc.TLS, TLSInsecure: jc.TLSInsecure}
	if jc.User != "" {
		job.User = jc.User
	}
	if jc.TLSCAFile != "" {
		// A job file's relative paths are relative to the job file.
		abs, err := filepath.Abs(jc.TLSCAFile)
		if err != nil {
			return job, err
		}
		job.TLSCAFile = abs
	}
	job.Target = "/srv/mirror/" + job.Name
	return job, nil
}
