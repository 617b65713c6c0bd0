// Package mirror makes a local directory an exact copy of a remote FTP
// directory tree, and keeps it so: it walks the remote tree over a pool
// of connections, compares what it lists with the state database and the
// local files, fetches what is new or changed into temporary files that
// are renamed into place only once complete, resumes interrupted
// downloads with REST, and deletes (when asked, and only what it created)
// what is gone remotely.
//
// Every local file operation goes through an os.Root opened on the
// target directory, and every remote name is checked before it is used,
// so nothing a server says can make mirror write outside the target.
package mirror

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/state"
)

// ErrSafetyGuard is wrapped by the error of a run that a safety guard
// stopped: too many deletions (Options.MaxDelete), or a listing that
// would have emptied the mirror. Nothing was deleted.
var ErrSafetyGuard = errors.New("safety guard")

// RootError is the error of a run whose remote root could not be listed:
// it is missing or unreadable (the server refused to CWD into it, or
// listed it without its own "." entry), or its listing failed. Nothing was
// fetched or deleted. Err is the cause, often an *ftpcore.Error with the
// server's reply.
type RootError struct {
	Path string // the remote root, absolute where the server has Unix paths
	Err  error
}

func (e *RootError) Error() string {
	return fmt.Sprintf("remote root %q cannot be listed: %v", e.Path, e.Err)
}

func (e *RootError) Unwrap() error { return e.Err }

// Is makes a RootError match ErrNotStarted: nothing could be done.
func (e *RootError) Is(target error) bool { return target == ErrNotStarted }

// ErrNotStarted is wrapped by the error of a run that could do nothing:
// connecting, TLS, logging in or listing the remote root failed. Nothing
// was changed (the target is not even created).
var ErrNotStarted = errors.New("nothing could be done")

// Result is how a run ended.
type Result string

const (
	ResultOK          Result = "ok"          // everything done
	ResultPartial     Result = "partial"     // some files failed; the rest was committed
	ResultFailed      Result = "failed"      // the run as a whole failed (see the error)
	ResultGuard       Result = "guard"       // a safety guard stopped the delete phase
	ResultDryRun      Result = "dry-run"     // planned only
	ResultInterrupted Result = "interrupted" // cancelled (a signal, a shutdown); partial downloads kept
	ResultLocked      Result = "locked"      // another run writes the target; nothing done
)

// SymlinkMode says what to do with remote symbolic links.
type SymlinkMode uint8

const (
	SymlinksSkip   SymlinkMode = iota // leave them out (counted as skipped)
	SymlinksFollow                    // fetch what they point to
	SymlinksKeep                      // make local links, where the target stays inside the mirror
)

// ParseSymlinkMode parses "skip", "follow" or "keep".
func ParseSymlinkMode(s string) (SymlinkMode, error) {
	switch s {
	case "", "skip":
		return SymlinksSkip, nil
	case "follow":
		return SymlinksFollow, nil
	case "keep":
		return SymlinksKeep, nil
	}
	return 0, errors.New("symlinks: want skip, follow or keep, not " + s)
}

func (m SymlinkMode) String() string {
	switch m {
	case SymlinksFollow:
		return "follow"
	case SymlinksKeep:
		return "keep"
	default:
		return "skip"
	}
}

// Options configures one run. Zero values are the documented defaults.
type Options struct {
	// Job names the run in logs and is the state database's key for it.
	Job string
	// Addr is the server, "host:port".
	Addr string
	// User and Password log in; an empty User is anonymous.
	User, Password string
	// FTP configures the connections (TLS, active mode, timeouts).
	FTP ftpcore.Config
	// Root is the remote directory to mirror; empty means the directory
	// the server puts us in at login.
	Root string
	// Target is the local directory that becomes the copy; it is created
	// if missing.
	Target string
	// State records what was fetched. Required, but for a dry run, which
	// only reads it: nil plans against an empty state (a first run).
	State *state.DB

	// Parallel is the number of connections. Zero means 4.
	Parallel int
	// ParallelAuto lets the run choose the number of connections (see
	// width.go): it starts at the number the last auto run against the
	// server settled at (Parallel when there was none), adds one while
	// throughput grows and work is waiting, stays below a limit the
	// server showed with "421 Too many users", and never goes above 16.
	// What it settles at is kept in the state for the next run.
	ParallelAuto bool
	// ActiveAuto (mode = "auto") chooses between active and passive
	// mode for the server, overriding FTP.Active: active where the
	// stored profile shows that its connect-back works and is faster,
	// passive otherwise. Where it was never tested (or 30 days ago),
	// the run goes passive and tests active once, waiting at most 2 s
	// for the server's data connection; the result is stored. An
	// active data connection that never comes makes the rest of the
	// run passive, and the file is tried again.
	ActiveAuto bool
	// Retries is how often a file or directory is tried again after a
	// transient failure. Zero means none.
	Retries int
	// Delete removes local files and directories that are gone remotely,
	// but only those the state says this mirror created.
	Delete bool
	// MaxDelete bounds the deletions of one run; over it the delete
	// phase is skipped and Run returns an error wrapping ErrSafetyGuard.
	// The zero value allows no deletion at all.
	MaxDelete DeleteLimit

	// Include and Exclude are globs on the path relative to Root ("**"
	// matches across directories). A file is mirrored if it matches an
	// Include (or there are none) and no Exclude. Directories are
	// pruned by Exclude only.
	Include, Exclude []string
	// Last are globs, of the Include syntax, for files fetched only after
	// all others succeeded, with deletions after them (last.go): an
	// archive's indexes. A name of LastPresets ("@archive") stands for
	// its patterns. Empty means one stage.
	Last []string
	// MaxSize skips files larger than this many bytes. Zero means no limit.
	MaxSize int64
	// MinAge and MaxAge skip files modified less than MinAge or more than
	// MaxAge ago. Zero means no limit.
	MinAge, MaxAge time.Duration
	// Symlinks says what to do with remote symbolic links.
	Symlinks SymlinkMode
	// LimitRate caps the total download rate in bytes per second. Zero
	// means no limit.
	LimitRate int64
	// Segments is how many connections may fetch one large file at once
	// when it is the last thing left. Zero or one means no segmenting.
	Segments int
	// Verify says whether each fetched file is checked against the
	// digest the server gives (HASH, XSHA256, ...): see VerifyMode. The
	// zero value is VerifyAuto.
	Verify VerifyMode

	// Publish says how the run makes its changes visible: in place
	// (the zero value), or as a new version under Target/snapshots that
	// Target/current is switched to (snapshot.go).
	Publish PublishMode
	// KeepSnapshots is how many published versions PublishSnapshot keeps.
	// Zero means 2.
	KeepSnapshots int
	// beforeWrite, if set, runs once the remote root is proven and before
	// the target is made or locked: snapshot.go makes snapshots/next
	// there, so that a run that cannot connect leaves nothing behind.
	beforeWrite func() error

	// Sentinel is a file's path relative to Root, '/'-separated, that
	// the upstream rewrites at the end of each of its updates (a trace
	// file). When its size and time are as the last run that ended ok
	// saw them, the run ends after listing its directory, with
	// ResultOK; when it is missing remotely the run goes on as without
	// it (sentinel.go). Empty means none.
	Sentinel string

	// DryRun decides and reports but changes nothing, state included:
	// it never opens the target or the state for writing (see apply.go).
	// Its report is the plan that a real run would carry out.
	DryRun bool
	// Report, if set, is called for every decision (from several
	// goroutines at once), as the plan of a dry run or a log of a real one.
	Report func(Action)
	// Logger receives one line per run start and end and per failure,
	// per-file lines at Debug. Nil means discard.
	Logger *slog.Logger
	// Progress, if set, is updated as the run goes.
	Progress *Progress
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// Progress is a set of counters that Run updates atomically and a
// display reads at its own pace.
type Progress struct {
	FilesTotal atomic.Int64 // files found to fetch so far
	FilesDone  atomic.Int64 // files fetched or failed
	BytesTotal atomic.Int64 // bytes to fetch so far
	BytesDone  atomic.Int64 // bytes fetched
	Listed     atomic.Int64 // directories listed
	InFlight   atomic.Int64 // transfers in progress
}

// Verb is what a run decided about one path.
type Verb string

const (
	VerbFetch  Verb = "fetch"  // new or changed: download
	VerbResume Verb = "resume" // continue an interrupted download
	VerbAdopt  Verb = "adopt"  // local file matches: record it, fetch nothing
	VerbDelete Verb = "delete" // gone remotely: remove the local copy
	VerbMkdir  Verb = "mkdir"
	VerbLink   Verb = "link" // create a local symbolic link
	VerbSkip   Verb = "skip" // filtered, refused or not mirrored
	VerbFail   Verb = "fail"
)

// Action is one decision of a run.
type Action struct {
	Verb   Verb
	Path   string // relative to the root, '/'-separated
	Size   int64
	Reason string
}

// Summary is the outcome of a run.
type Summary struct {
	Job        string    `json:"job"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	Result     Result    `json:"result"`
	Dirs       int64     `json:"dirs"`
	Listed     int64     `json:"listed"` // files and links seen in listings
	Fetched    int64     `json:"fetched"`
	Resumed    int64     `json:"resumed"`
	Adopted    int64     `json:"adopted"`
	Unchanged  int64     `json:"unchanged"`
	Deleted    int64     `json:"deleted"`
	Skipped    int64     `json:"skipped"`
	Failed     int64     `json:"failed"`
	Bytes      int64     `json:"bytes"`
	Verified   int64     `json:"verified,omitempty"` // fetched files whose digest the server confirmed
	Errors     []string  `json:"errors,omitempty"`   // the first few failures, each naming path and reply
	DurationMS int64     `json:"duration_ms"`
	Snapshot   string    `json:"snapshot,omitempty"` // the version this run published (PublishSnapshot)
	// SentinelUnchanged: the run ended after finding Options.Sentinel
	// unchanged since the last complete run.
	SentinelUnchanged bool `json:"sentinel_unchanged,omitempty"`
	// Connections is the most connections the run had at once.
	Connections int64 `json:"connections"`
	// ClockLearned is the server's clock offset as a zone ("UTC+03:00")
	// when this run learned it, or relearned it because the stored one
	// no longer held (see README, Clock calibration); empty otherwise.
	ClockLearned string `json:"clock_learned,omitempty"`
}
