//go:build unix

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// A job run holds NAME.lock, beside the job's state database, with
// flock(2) for as long as it runs, hooks included. bbolt's own lock on
// the database is not enough: it says nothing about who holds it, and
// several jobs may share one database (the state key), which must not
// make them exclusive. The lock is what keeps `ftpmirror sync -jobs`
// from cron off a job the daemon is running, and the other way round.
//
// The holder writes who it is into the file; the file is never removed
// (removing a flock file races with the next locker), so its content is
// only meaningful while it is locked. The kernel drops the lock when the
// process dies: no stale locks.

// lockHolder is what the lock file says about the process holding it.
type lockHolder struct {
	PID   int       `json:"pid"`
	Host  string    `json:"host,omitempty"`
	Cmd   string    `json:"cmd,omitempty"` // "daemon" or "sync"
	Since time.Time `json:"since"`
}

func (h lockHolder) String() string {
	if h.PID == 0 {
		return "another process"
	}
	s := fmt.Sprintf("pid %d", h.PID)
	if h.Host != "" {
		s += " on " + h.Host
	}
	if h.Cmd != "" {
		s += " (ftpmirror " + h.Cmd + ")"
	}
	if !h.Since.IsZero() {
		s += " since " + h.Since.Local().Format(time.DateTime)
	}
	return s
}

// lockedError says that a job is locked and by whom. It comes wrapped in
// an *exitError with exitLocked.
type lockedError struct {
	Job    string
	Holder lockHolder
}

func (e *lockedError) Error() string {
	return fmt.Sprintf("job %s: locked, skipped: running in %v", e.Job, e.Holder)
}

// jobLock is a held job lock.
type jobLock struct{ f *os.File }

// lockPoll is how often acquireJobLock retries within its wait.
const lockPoll = 20 * time.Millisecond

// acquireJobLock takes the lock at path for job, waiting up to wait for
// a holder to let go (a `status` probing the lock holds it for
// microseconds). A lock still held then gives an *exitError with
// exitLocked wrapping a *lockedError.
func acquireJobLock(path, job, cmd string, wait time.Duration) (*jobLock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("job %s: lock: %w", job, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("job %s: lock: %w", job, err)
	}
	deadline := time.Now().Add(wait)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("job %s: lock %s: %w", job, path, err)
		}
		if time.Now().After(deadline) {
			holder := readLockHolder(f)
			f.Close()
			return nil, &exitError{code: exitLocked, err: &lockedError{Job: job, Holder: holder}}
		}
		time.Sleep(lockPoll)
	}
	host, _ := os.Hostname()
	h := lockHolder{PID: os.Getpid(), Host: host, Cmd: cmd, Since: time.Now().UTC().Truncate(time.Second)}
	data, _ := json.Marshal(h)
	// Best effort: the lock holds without the note.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(append(data, '\n'), 0)
	}
	return &jobLock{f: f}, nil
}

// release lets go of the lock.
func (l *jobLock) release() {
	if l != nil && l.f != nil {
		l.f.Close() // closing the last descriptor drops the flock
		l.f = nil
	}
}

func readLockHolder(f *os.File) lockHolder {
	var h lockHolder
	data, err := io.ReadAll(io.NewSectionReader(f, 0, 4096))
	if err == nil {
		_ = json.Unmarshal(data, &h)
	}
	return h
}

// probeJobLock says whether the lock at path is held, and by whom,
// without waiting. It takes a shared lock for a moment to find out.
func probeJobLock(path string) (lockHolder, bool) {
	f, err := os.Open(path)
	if err != nil {
		return lockHolder{}, false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return readLockHolder(f), errors.Is(err, syscall.EWOULDBLOCK)
	}
	return lockHolder{}, false
}
