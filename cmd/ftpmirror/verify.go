package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/ftpmirror/ftpmirror/internal/jobs"
	"github.com/ftpmirror/ftpmirror/mirror"
)

const verifyHelp = `verify [-repair] [-json] -jobs FILE [JOB...]
       ftpmirror verify [-repair] [-json] [-state PATH] [URL] TARGET_DIR

Re-reads every file a sync wrote and compares it with what the state
recorded when it was written: its size, its time, and the SHA-256 of its
bytes (computed as they came in; files adopted rather than fetched, or
fetched before digests were kept, are checked by size and time only).
Prints each file that no longer matches (bit rot, tampering, a backup
restored halfway) and a line per job. With -repair, those files are
marked in the state so that the next sync fetches them again.

TARGET_DIR alone finds the ad-hoc sync of that directory in the state
directory (or in -state PATH); with its URL, verify finds the state as
sync does. verify opens the state read-only, so it cannot run while a
sync of the job runs (exit 4); -repair takes the job's lock, as sync does.

Examples:
  ftpmirror verify -jobs /etc/ftpmirror/jobs.toml debian
  ftpmirror verify -repair /srv/mirror/data

Exit status:
  0    every file matches
  6    some files no longer match the state (listed)
  2    usage or configuration error; 4 locked: a sync of the job is running
`

// cmdVerify is `ftpmirror verify`.
func cmdVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("verify", verifyHelp)
	jobsPath := fs.String("jobs", "", "verify jobs of this job file (all if none named)")
	statePath := fs.String("state", "", "the state database of an ad-hoc sync (default: as sync finds it)")
	repair := fs.Bool("repair", false, "mark the files that do not match, so that the next sync fetches them again")
	jsonOut := fs.Bool("json", false, "print one JSON summary per job, with the files that do not match")
	pos, err := fs.parseArgs(args, stdout)
	if err != nil {
		return err
	}
	targets, err := jobs.VerifyTargets(*jobsPath, *statePath, pos)
	if err != nil {
		return err
	}
	worst := exitOK
	for _, vt := range targets {
		report := func(m mirror.Mismatch) { fmt.Fprintf(stdout, "%s: %s\n", mirror.QuotePath(m.Path), m.Reason) }
		if *jsonOut {
			report = nil
		}
		sum, err := jobs.Verify(ctx, vt, *repair, report)
		if err != nil && !errors.Is(err, mirror.ErrMismatch) {
			if len(targets) == 1 {
				return err
			}
			fmt.Fprintf(stderr, "ftpmirror: %v\n", err)
		} else if *jsonOut {
			json.NewEncoder(stdout).Encode(struct {
				Job string `json:"job"`
				*mirror.VerifySummary
			}{vt.Job, sum})
		} else {
			fmt.Fprintf(stdout, "%s: %d files, %d checked by digest, %d do not match, %d marked for the next sync\n",
				vt.Job, sum.Files, sum.Digests, len(sum.Mismatches), sum.Repaired)
		}
		worst = worseExit(worst, exitCode(ctx, err))
	}
	if worst == exitOK {
		return nil
	}
	return &exitError{code: worst}
}
