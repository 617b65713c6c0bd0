package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ftpmirror/ftpmirror/internal/embedftp"
	"github.com/ftpmirror/ftpmirror/internal/jobs"
	"github.com/ftpmirror/ftpmirror/internal/sampletree"
)

// cmdDemo serves a generated sample tree from an embedded read-only FTP
// server on a loopback port, mirrors it into DIR/mirror, changes a few
// remote files, mirrors again, and checks that the copy is exact. Both
// runs go through jobs.Mirror, exactly as `ftpmirror sync` does.
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", `demo [-dir DIR] [-files N]

Serves a generated sample tree from an embedded read-only FTP server on a
loopback port, mirrors it into DIR/mirror with "sync -delete", changes a
few remote files, mirrors again, and checks that the copy is exact. Both
runs go through the code path of "ftpmirror sync".`)
	dir := fs.String("dir", "ftpmirror-demo", "where the sample tree (remote/), the mirror (mirror/) and the state (state.db) go")
	files := fs.Int("files", 300, "files in the sample tree")
	var lf logFlags
	lf.add(fs)
	if err := fs.parse(args, stdout); err != nil {
		return err
	}
	logger, err := lf.logger(stderr, false)
	if err != nil {
		return err
	}
	remote := filepath.Join(*dir, "remote")
	if err := os.RemoveAll(*dir); err != nil {
		return err
	}
	if err := sampletree.Make(remote, *files); err != nil {
		return fmt.Errorf("demo: sample tree: %w", err)
	}
	srv, err := embedftp.Start(remote, nil)
	if err != nil {
		return fmt.Errorf("demo: embedded server: %w", err)
	}
	defer srv.Close()
	fmt.Fprintf(stdout, "serving %s on ftp://%s/ (embedded read-only server)\n", remote, srv.Addr())

	out := &runOutput{stdout: stdout, stderr: stderr}
	jc := jobs.Default()
	jc.Name = "demo"
	jc.Source = "ftp://" + srv.Addr() + "/"
	jc.Target = filepath.Join(*dir, "mirror")
	jc.StatePath = filepath.Join(*dir, "state.db")
	jc.Delete = true
	fmt.Fprintf(stdout, "\n$ ftpmirror sync -delete -state %s %s %s\n", jc.StatePath, jc.Source, jc.Target)
	if sum, err := syncOnce(ctx, &jc, logger, out); err != nil {
		return err
	} else if sum.Failed > 0 {
		return &exitError{code: exitPartial, err: fmt.Errorf("demo: first sync: %d failed", sum.Failed)}
	}

	changed, err := sampletree.Change(remote)
	if err != nil {
		return fmt.Errorf("demo: changing the sample tree: %w", err)
	}
	fmt.Fprintf(stdout, "\nchanged the remote tree: %s\n", changed)
	fmt.Fprintf(stdout, "\n$ ftpmirror sync -delete -state %s %s %s\n", jc.StatePath, jc.Source, jc.Target)
	sum, err := syncOnce(ctx, &jc, logger, out)
	if err != nil {
		return err
	}
	if sum.Failed > 0 {
		return &exitError{code: exitPartial, err: fmt.Errorf("demo: second sync: %d failed", sum.Failed)}
	}
	n, err := sampletree.Compare(remote, jc.Target)
	if err != nil {
		return fmt.Errorf("demo: the mirror differs from the source: %w", err)
	}
	fmt.Fprintf(stdout, "\nverified: %s is an exact copy of %s (%d files, contents and times)\n", jc.Target, remote, n)
	return nil
}
