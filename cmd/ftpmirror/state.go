package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/jobs"
	"github.com/ftpmirror/ftpmirror/state"
)

const stateHelp = `state show|rebuild -state PATH

show lists the jobs in a state database with their file counts and last runs,
and what runs learned of each server (its profile: listing command, EPSV,
active mode, pipelining, REST, width, checksum, FEAT, the clock offset of its
LIST times). rebuild moves a corrupt or unreadable database aside
(PATH.corrupt-TIME) and starts an empty one. The next sync of each job then
adopts the files already in its target whose size and time match the server
(one MDTM per file where the listing shows less than the minute or the
server's clock offset is unknown) and fetches only the rest: nothing in the
mirror is deleted or fetched again wholesale.

Examples:
  ftpmirror state show -state ~/.local/state/ftpmirror/pub.db
  ftpmirror state rebuild -state /var/lib/ftpmirror/pub.db`

// cmdState: ftpmirror state show|rebuild -state PATH (flags before or
// after the subcommand).
func cmdState(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("state", stateHelp)
	path := fs.String("state", "", "the state database")
	pos, err := fs.parseArgs(args, stdout)
	if err != nil {
		return err
	}
	if len(pos) == 1 && pos[0] == "help" {
		fs.printHelp(stdout)
		return nil
	}
	if len(pos) != 1 {
		return usagef("state takes one subcommand, show or rebuild (run \"ftpmirror help state\")")
	}
	sub := pos[0]
	if sub != "show" && sub != "rebuild" {
		return usagef("state: unknown subcommand %q; want show or rebuild", sub)
	}
	if *path == "" {
		return usagef("state %s: -state PATH is required", sub)
	}
	if sub == "show" {
		return stateShow(*path, stdout)
	}
	return stateRebuild(*path, stdout)
}

func stateShow(path string, w io.Writer) error {
	db, err := state.Open(path, &state.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	names, err := db.Jobs()
	if err != nil {
		return err
	}
	for _, job := range names {
		n, err := db.Job(job).Count()
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s: %d paths", job, n)
		if runs, err := db.Job(job).Runs(1); err == nil && len(runs) > 0 {
			r := runs[0]
			fmt.Fprintf(w, "; last run %s: %s, %d fetched, %d failed", r.Start.Format(time.RFC3339), r.Result, r.Fetched, r.Failed)
		}
		fmt.Fprintln(w)
	}
	return jobs.WriteServers(w, db, time.Now())
}

func stateRebuild(path string, w io.Writer) error {
	db, err := state.Open(path, &state.Options{Timeout: 2 * time.Second})
	if err == nil {
		db.Close()
		fmt.Fprintf(w, "%s is readable; nothing to rebuild\n", path)
		return nil
	}
	if !errors.Is(err, state.ErrCorrupt) {
		return err
	}
	aside := fmt.Sprintf("%s.corrupt-%s", path, time.Now().UTC().Format("20060102T150405Z"))
	if err := os.Rename(path, aside); err != nil {
		return err
	}
	db, err = state.Open(path, nil)
	if err != nil {
		return err
	}
	db.Close()
	fmt.Fprintf(w, "moved %s to %s and started an empty database; the next sync adopts matching files\n", path, aside)
	return nil
}
