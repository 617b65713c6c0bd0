package mirror

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/state"
)

// ErrMismatch is wrapped by the error of Verify when local files no
// longer match their state records.
var ErrMismatch = errors.New("local files do not match the state")

// VerifyOptions configures Verify.
type VerifyOptions struct {
	Job    string
	Target string
	// State holds the job's records. Read-only is enough, but for
	// Repair.
	State *state.DB
	// Repair marks the records of the files that do not match Stale,
	// so that the next run fetches them again. It takes the target's
	// lock, as a run does.
	Repair bool
	// Report, if set, is called for each file that does not match, as
	// it is found.
	Report func(Mismatch)
}

// Mismatch is a file whose local copy no longer matches its record.
type Mismatch struct {
	Path   string `json:"path"`   // relative to the target, '/'-separated
	Reason string `json:"reason"` // what differs
}

// VerifySummary is what Verify found.
type VerifySummary struct {
	Files      int64      `json:"files"`   // file records checked
	Digests    int64      `json:"digests"` // of them, read and compared with a recorded digest
	Mismatches []Mismatch `json:"mismatches,omitempty"`
	Repaired   int64      `json:"repaired"` // records marked for the next run
}

// Verify reads every file the state records for opts.Job in
// opts.Target and compares its size, time and, where the record has one,
// the SHA-256 of its bytes with the record: bit rot, tampering, a
// half-restored backup. The error wraps ErrMismatch when some file does
// not match; the summary is returned with it.
func Verify(ctx context.Context, opts *VerifyOptions) (*VerifySummary, error) {
	root, err := os.OpenRoot(opts.Target)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	defer root.Close()
	if opts.Repair {
		release, err := lockTarget(root, opts.Target)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	files, err := publishedRoot(root)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	if files != root {
		defer files.Close()
	}
	root = files
	job := opts.State.Job(opts.Job)
	sum := &VerifySummary{}
	var changes []state.Change
	err = job.Walk(func(p string, rec state.Record) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if rec.Kind != state.KindFile {
			return nil
		}
		sum.Files++
		reason, digested := checkLocal(root, p, rec)
		if digested {
			sum.Digests++
		}
		if reason == "" {
			return nil
		}
		m := Mismatch{Path: p, Reason: reason}
		sum.Mismatches = append(sum.Mismatches, m)
		if opts.Report != nil {
			opts.Report(m)
		}
		if opts.Repair && !rec.Stale {
			rec.Stale = true
			changes = append(changes, state.Change{Path: p, Record: rec})
		}
		return nil
	})
	if err != nil {
		return sum, err
	}
	if len(changes) > 0 {
		if err := job.Apply(changes); err != nil {
			return sum, err
		}
		sum.Repaired = int64(len(changes))
	}
	if n := len(sum.Mismatches); n > 0 {
		return sum, fmt.Errorf("%w: %d of %d files", ErrMismatch, n, sum.Files)
	}
	return sum, nil
}

// checkLocal compares the local file rel with its record. It returns
// what differs ("" if nothing), and whether the bytes were read and
// compared with the record's digest.
func checkLocal(root *os.Root, rel string, rec state.Record) (string, bool) {
	if rec.Stale {
		return "marked by verify -repair; the next sync fetches it again", false
	}
	fi, err := root.Lstat(localPath(rel))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "missing", false
	case err != nil:
		return err.Error(), false
	case !fi.Mode().IsRegular():
		return "not a regular file", false
	case fi.Size() != rec.Size:
		return fmt.Sprintf("size %d, recorded %d", fi.Size(), rec.Size), false
	case !sameTime(fi.ModTime(), rec.ModTime, verifyPrecision(rec), time.UTC):
		return fmt.Sprintf("time %s, recorded %s", fi.ModTime().UTC().Format(time.RFC3339), rec.ModTime.UTC().Format(time.RFC3339)), false
	case rec.Digest == nil:
		return "", false
	}
	f, err := root.Open(localPath(rel))
	if err != nil {
		return err.Error(), false
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "read: " + err.Error(), false
	}
	if !bytes.Equal(h.Sum(nil), rec.Digest) {
		return "content differs from the SHA-256 recorded when it was fetched", true
	}
	return "", true
}

// verifyPrecision is the precision at which a local file's time is
// compared with its record's: a fetched file got the recorded time; an
// adopted one may have had a time the record knows only to the minute,
// or to the day in the server's zone, which verify does not know (the
// size and the digest still tell).
func verifyPrecision(rec state.Record) ftpcore.TimePrecision {
	if p := ftpcore.TimePrecision(rec.Precision); p != ftpcore.TimeDay {
		return p
	}
	return ftpcore.TimeUnknown
}

// publishedRoot is where the files of a target are: the version that
// current names for a snapshot target (publish = "snapshot": current is
// a symlink into snapshots/), else the target itself.
func publishedRoot(root *os.Root) (*os.Root, error) {
	link, err := root.Readlink(currentLink)
	if err != nil || !strings.HasPrefix(link, snapshotsDir+"/") {
		return root, nil
	}
	return root.OpenRoot(link)
}
