package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/mirror"
	"github.com/ftpmirror/ftpmirror/state"
)

// jobConfig is one mirror job, whether it came from sync's flags or from
// a [[job]] of jobs.toml: both are turned into this, and this into
// ftpcore.Config and mirror.Options in one place (syncOptions).
type jobConfig struct {
	Name        string // job name; for ad-hoc syncs derived from source and target
	Source      string // URL
	Target      string
	User        string
	Password    string // resolved already (URL, env, file, netrc)
	Active      bool
	TLS         string // "", none, explicit, implicit
	TLSCAFile   string
	TLSInsecure bool
	Parallel    int
	Delete      bool
	MaxDelete   string // "N", "P%" or "none" (mirror.ParseDeleteLimit)
	Include     []string
	Exclude     []string
	MaxSize     int64
	MinAge      time.Duration
	MaxAge      time.Duration
	Symlinks    string
	LimitRate   int64 // bytes per second
	Timeout     time.Duration
	Retries     int
	Segments    int
	StatePath   string // "" means the default path for this job
	DryRun      bool
	Quiet       bool // print nothing on success
	Pipelining  bool // send commands ahead of replies (false: one at a time)
}

// defaultJob returns a jobConfig with every default filled in: the flags'
// defaults and jobs.toml's are the same by construction.
func defaultJob() jobConfig {
	return jobConfig{
		Parallel:   4,
		MaxDelete:  "50%",
		Symlinks:   "skip",
		Timeout:    60 * time.Second,
		Retries:    3,
		Segments:   4,
		Pipelining: true,
	}
}

// adhocJobName names an ad-hoc sync: its state key must be stable for
// the same source and target.
func adhocJobName(src *source, target string) string {
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
// (validJobName) are kept; others (ad-hoc jobs) are hashed.
func stateFileName(job string) string {
	if validJobName(job) == nil {
		return job + ".db"
	}
	sum := sha256.Sum256([]byte(job))
	return "adhoc-" + hex.EncodeToString(sum[:8]) + ".db"
}

// parseRate parses a byte rate: "500k", "10M", "1.5G" (powers of 1024),
// or a plain number of bytes per second. "" and "0" mean no limit.
func parseRate(s string) (int64, error) {
	return parseBytes(strings.TrimSuffix(strings.TrimSuffix(s, "/s"), "B"))
}

// parseBytes parses a size: "100", "64k", "10M", "2G", "1T" (powers of 1024).
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	mult := float64(1)
	switch strings.ToUpper(s[len(s)-1:]) {
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	case "T":
		mult = 1 << 40
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v >= 0 && v*mult <= 1<<62) { // NaN fails too
		return 0, fmt.Errorf("bad size %q", s)
	}
	return int64(v * mult), nil
}

// ftpConfig returns the connection settings of the job.
func (jc *jobConfig) ftpConfig(src *source) (ftpcore.Config, error) {
	mode, err := src.tlsMode(jc.TLS)
	if err != nil {
		return ftpcore.Config{}, err
	}
	cfg := ftpcore.Config{TLS: mode, Active: jc.Active, Timeout: jc.Timeout, DisablePipelining: !jc.Pipelining}
	if mode != ftpcore.TLSNone {
		tc := &tls.Config{InsecureSkipVerify: jc.TLSInsecure}
		if jc.TLSCAFile != "" {
			pool, err := ftpcore.LoadCAFile(jc.TLSCAFile)
			if err != nil {
				return ftpcore.Config{}, usagef("tls CA file: %v", err)
			}
			tc.RootCAs = pool
		}
		cfg.TLSConfig = tc
	}
	return cfg, nil
}

// syncOptions turns the job into mirror.Options (without State and
// Logger, which the caller opens and sets), and says who it logs in as.
func (jc *jobConfig) syncOptions() (*mirror.Options, login, error) {
	src, err := parseSource(jc.Source)
	if err != nil {
		return nil, login{}, err
	}
	if jc.Target == "" {
		return nil, login{}, usagef("no target directory")
	}
	cfg, err := jc.ftpConfig(src)
	if err != nil {
		return nil, login{}, err
	}
	symlinks, err := mirror.ParseSymlinkMode(jc.Symlinks)
	if err != nil {
		return nil, login{}, usagef("%w", err)
	}
	maxDelete, err := mirror.ParseDeleteLimit(jc.MaxDelete)
	if err != nil {
		return nil, login{}, usagef("%w", err)
	}
	if jc.Parallel < 1 || jc.Parallel > 64 {
		return nil, login{}, usagef("parallel %d: want 1 to 64", jc.Parallel)
	}
	for _, g := range append(append([]string{}, jc.Include...), jc.Exclude...) {
		if err := mirror.ValidateGlob(g); err != nil {
			return nil, login{}, usagef("%w", err)
		}
	}
	cred := src.credentials(jc.User)
	if jc.Password != "" {
		cred.Password, cred.From = jc.Password, "the job's password_env or password_file"
	}
	name := jc.Name
	if name == "" {
		name = adhocJobName(src, jc.Target)
	}
	return &mirror.Options{
		Job:       name,
		Addr:      src.Addr,
		User:      cred.User,
		Password:  cred.Password,
		FTP:       cfg,
		Root:      src.Path,
		Target:    jc.Target,
		Parallel:  jc.Parallel,
		Retries:   jc.Retries,
		Delete:    jc.Delete,
		MaxDelete: maxDelete,
		Include:   jc.Include,
		Exclude:   jc.Exclude,
		MaxSize:   jc.MaxSize,
		MinAge:    jc.MinAge,
		MaxAge:    jc.MaxAge,
		Symlinks:  symlinks,
		LimitRate: jc.LimitRate,
		Segments:  jc.Segments,
		DryRun:    jc.DryRun,
	}, cred, nil
}

// statePath returns the job's state database path.
func (jc *jobConfig) statePath(job string) (string, error) {
	if jc.StatePath != "" {
		return jc.StatePath, nil
	}
	return defaultStatePath(job)
}

// runJob runs one job once: it opens the state database, runs the
// mirror and records the run. It is the one path that sync, the demo
// and the daemon share. hook may set Report and Progress. A dry run
// opens the state read-only, or plans against none when there is no
// state file yet: it writes nothing, not even an empty database.
func runJob(ctx context.Context, jc *jobConfig, logger *slog.Logger, hook func(*mirror.Options)) (*mirror.Summary, error) {
	opts, cred, err := jc.syncOptions()
	if err != nil {
		return nil, err
	}
	for _, w := range cred.Warnings {
		logger.Warn("credentials: "+w, "job", opts.Job)
	}
	path, err := jc.statePath(opts.Job)
	if err != nil {
		return nil, err
	}
	if !jc.DryRun || fileExists(path) {
		db, err := state.Open(path, &state.Options{Timeout: 2 * time.Second, ReadOnly: jc.DryRun})
		if err != nil {
			return nil, fmt.Errorf("job %s: %w", opts.Job, err)
		}
		defer db.Close()
		opts.State = db
	}
	opts.Logger = logger
	if hook != nil {
		hook(opts)
	}
	sum, err := mirror.Run(ctx, opts)
	if err != nil {
		if step := nextStep(err, opts, cred); step != "" {
			err = &hintError{err: err, hint: step}
		}
		if sum != nil && len(sum.Errors) > 0 && ctx.Err() == nil {
			sum.Errors[0] = err.Error()
		}
	}
	return sum, err
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
