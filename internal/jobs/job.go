// Package jobs is the life of a mirror job around mirror.Run: the job
// file (jobs.toml) and its validation, the one settings value that job
// keys and sync's flags both fill ([Job]), the source URL and its
// credentials, the job lock, the status file, hooks, and the [Runner]
// that the daemon and `ftpmirror sync -jobs` share. It prints nothing
// and never exits: errors are typed ([ConfigError], [*LockedError],
// [*FileError]) for the command to map to exit statuses.
package jobs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Job is one mirror job: its settings, whether they came from sync's
// flags, from a [[job]] of jobs.toml, or from both (the flags layered
// last). Every field that is a job key is also a sync flag of the same
// name, except where the key says otherwise (keys.go); [Job.Options]
// turns it into ftpcore.Config and mirror.Options in one place.
type Job struct {
	Name        string // job name; for ad-hoc syncs derived from source and target
	Source      string // URL
	Target      string
	User        string
	Password    string // set by ResolvePassword only; never read from the job file
	Mode        string // mode, -mode: passive, active or auto (SetMode)
	TLS         string // "", none, explicit, implicit
	TLSCAFile   string
	TLSInsecure bool
	Parallel    int
	Delete      bool
	MaxDelete   string // "N", "P%" or "none" (mirror.ParseDeleteLimit)
	Include     []string
	Exclude     []string
	Last        []string // globs or presets fetched after all else (mirror.Options.Last)
	MaxSize     int64
	MinFileAge  time.Duration // min_file_age, -min-age
	MaxFileAge  time.Duration // max_file_age, -max-age
	Symlinks    string
	Verify      string // verify, -verify: auto, on or off (mirror.ParseVerifyMode)
	LimitRate   int64  // bytes per second
	Timeout     time.Duration
	Retries     int
	Segments    int
	StatePath   string // "" means the default path for this job
	DryRun      bool
	Quiet       bool   // print nothing on success
	Pipelining  bool   // send commands ahead of replies (false: one at a time)
	Sentinel    string // a file relative to the source's root; unchanged since the last complete run: nothing to do

	// How a run publishes (mirror.Options.Publish, KeepSnapshots).
	Publish       string // "inplace" or "snapshot" (mirror.ParsePublishMode)
	KeepSnapshots int    // keep_snapshots: published versions kept with snapshot

	// ParallelAuto: parallel = "auto", -parallel auto (SetParallel);
	// Parallel is then where a server never met starts.
	ParallelAuto bool

	// Keys of a job file that are no sync flag.
	Schedule     string        // cron expression as written; "" means only `sync -jobs` runs it
	schedule     cron.Schedule // parsed Schedule; nil without one
	PasswordEnv  string        // environment variable holding the password
	PasswordFile string        // file holding the password (one line)
	Jitter       time.Duration // random delay in [0, Jitter) before each scheduled run
	CatchUp      bool          // run at daemon start when a scheduled run was missed
	Freshness    time.Duration // max_age: bound on the age of the last success; zero means none

	OnSuccess, OnFailure, OnChange []string // hook argv lists
	HookTimeout                    time.Duration

	Line int // line of the job's [[job]] header; 0 if unknown
}

// defaultHookTimeout bounds a hook that sets no hook_timeout.
const defaultHookTimeout = time.Minute

// maxKeepSnapshots bounds keep_snapshots: each version is a tree of hard
// links, cheap in bytes but not in inodes.
const maxKeepSnapshots = 100

// Default returns a Job with every default filled in: the flags'
// defaults and jobs.toml's are the same by construction.
func Default() Job {
	return Job{
		Parallel:    4,
		Mode:        "auto",
		MaxDelete:   "50%",
		Symlinks:    "skip",
		Verify:      "auto",
		Timeout:     60 * time.Second,
		Retries:     3,
		Segments:    4,
		Pipelining:  true,
		HookTimeout: defaultHookTimeout,

		Publish:       "inplace",
		KeepSnapshots: 2,
	}
}

// Next returns the job's next scheduled time after t, or the zero time
// without a schedule.
func (j *Job) Next(t time.Time) time.Time {
	if j.schedule == nil {
		return time.Time{}
	}
	return j.schedule.Next(t)
}

// CronSchedule is the parsed Schedule, or nil without one.
func (j *Job) CronSchedule() cron.Schedule { return j.schedule }

// ValidName accepts names that are usable as file names, metric labels
// and log values as they are.
func ValidName(name string) error {
	switch {
	case name == "":
		return errors.New("missing; every job needs a unique name")
	case len(name) > 64:
		return errors.New("longer than 64 characters")
	case name[0] == '.' || name[0] == '-':
		return errors.New("must not start with '.' or '-'")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("%q: use letters, digits, '.', '-' and '_'", name)
		}
	}
	return nil
}

// adhocName names an ad-hoc sync: its state key must be stable for the
// same source and target.
func adhocName(src *Source, target string) string {
	abs, err := filepath.Abs(target)
	if err != nil {
		abs = target
	}
	return "adhoc:" + src.String() + " -> " + abs
}

// defaultStatePath is $XDG_STATE_HOME/ftpmirror/NAME.db (or under
// ~/.local/state), one file per job: bbolt locks its file while a run has
// it open, and jobs must not wait for one another. NAME is the job name
// made safe for a file name; ad-hoc syncs use a hash of source and target.
func defaultStatePath(job string) (string, error) {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no state path: set -state, XDG_STATE_HOME or HOME: %w", err)
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "ftpmirror", stateFileName(job)), nil
}

// stateFileName maps a job name to a file name: a job file's names
// (ValidName) are kept; others (ad-hoc jobs) are hashed.
func stateFileName(job string) string {
	if ValidName(job) == nil {
		return job + ".db"
	}
	sum := sha256.Sum256([]byte(job))
	return "adhoc-" + hex.EncodeToString(sum[:8]) + ".db"
}

// statePath returns the state database path of the job called name.
func (j *Job) statePath(name string) (string, error) {
	if j.StatePath != "" {
		return j.StatePath, nil
	}
	return defaultStatePath(name)
}

// Paths are the files of one job: its state database, and beside it its
// lock and status files, named after the job (not the database, which
// jobs may share).
type Paths struct {
	DB, Lock, Status string
}

// Paths returns the job's files.
func (j *Job) Paths() (Paths, error) {
	db, err := j.statePath(j.Name)
	if err != nil {
		return Paths{}, err
	}
	dir := filepath.Dir(db)
	base := strings.TrimSuffix(stateFileName(j.Name), ".db")
	return Paths{
		DB:     db,
		Lock:   filepath.Join(dir, base+".lock"),
		Status: filepath.Join(dir, base+".status.json"),
	}, nil
}

// readPasswordFile returns the first line of path, without its newline.
func readPasswordFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", fmt.Errorf("%s: empty first line; want the password", path)
	}
	return line, nil
}

// ResolvePassword returns a copy of the job with the password read from
// password_env or password_file, now: a rotated secret is picked up by
// the next run. Without either, [Source.Credentials] falls back to the
// URL, $FTPMIRROR_PASSWORD and ~/.netrc.
func (j *Job) ResolvePassword() (*Job, error) {
	c := *j
	switch {
	case j.PasswordEnv != "":
		p, ok := os.LookupEnv(j.PasswordEnv)
		if !ok {
			return nil, configf("job %s: password_env: $%s is not set", j.Name, j.PasswordEnv)
		}
		c.Password = p
	case j.PasswordFile != "":
		p, err := readPasswordFile(j.PasswordFile)
		if err != nil {
			return nil, configf("job %s: password_file: %w", j.Name, err)
		}
		c.Password = p
	}
	return &c, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// SetMode sets the data connection mode from the mode key or flag:
// passive, active or auto (mirror.Options.ActiveAuto: active where the
// server's stored profile shows that its connect-back works and is
// faster, passive otherwise).
func (j *Job) SetMode(s string) error {
	switch s {
	case "passive", "active", "auto":
		j.Mode = s
		return nil
	}
	return fmt.Errorf("want passive, active or auto, not %q", s)
}

// SetParallel sets the job's width from the parallel key or flag: a
// number of connections, 1 to 64, or "auto" (mirror.Options.ParallelAuto:
// the run finds the width, starting where it settled last time).
func (j *Job) SetParallel(s string) error {
	if s == "auto" {
		j.ParallelAuto = true
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 64 {
		return fmt.Errorf("%s: want 1 to 64, or auto", s)
	}
	j.Parallel, j.ParallelAuto = n, false
	return nil
}

// ParallelString returns the width as the parallel key writes it.
func (j *Job) ParallelString() string {
	if j.ParallelAuto {
		return "auto"
	}
	return strconv.Itoa(j.Parallel)
}
