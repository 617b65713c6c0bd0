package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"

	"github.com/ftpmirror/ftpmirror/mirror"
)

// A job run holds NAME.lock, beside the job's state database, with
// gofrs/flock (flock(2); LockFileEx on Windows) for as long as it runs,
// hooks included. bbolt's own lock on
// the database is not enough: it says nothing about who holds it, and
// several jobs may share one database (the state key), which must not
// make them exclusive. The lock is what keeps `ftpmirror sync -jobs`
// from cron off a job the daemon is running, and the other way round.
//
// The holder writes who it is into the file; the file is never removed
// (removing a flock file races with the next locker), so its content is
// only meaningful while it is locked. The kernel drops the lock when the
// process dies: no stale locks.

// LockHolder is what the lock file says about the process holding it.
type LockHolder struct {
	PID   int       `json:"pid"`
	Host  string    `json:"host,omitempty"`
	Cmd   string    `json:"cmd,omitempty"` // "daemon" or "sync"
	Since time.Time `json:"since"`
}

// String reads as mirror.LockHolder's, which names a target's holder.
func (h LockHolder) String() string {
	cmd := h.Cmd
	if cmd != "" {
		cmd = "ftpmirror " + cmd
	}
	return mirror.LockHolder{PID: h.PID, Host: h.Host, Cmd: cmd, Since: h.Since}.String()
}

// LockedError says that a job is locked and by whom: the run was
// skipped.
type LockedError struct {
	Job    string
	Holder LockHolder
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("job %s: locked, skipped: running in %v", e.Job, e.Holder)
}

// Lock is a held job lock.
type Lock struct{ fl *flock.Flock }

// lockPoll is how often AcquireLock retries within its wait.
const lockPoll = 20 * time.Millisecond

// AcquireLock takes the lock at path for job, waiting up to wait (or
// until ctx ends) for a holder to let go: a status probing the lock
// holds it for microseconds. A lock still held then gives a
// *LockedError.
func AcquireLock(ctx context.Context, path, job, cmd string, wait time.Duration) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("job %s: lock: %w", job, err)
	}
	fl := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDWR))
	ok, err := fl.TryLock()
	if !ok && err == nil && wait > 0 {
		wctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		ok, err = fl.TryLockContext(wctx, lockPoll)
	}
	switch {
	case ok:
	case err != nil && ctx.Err() != nil:
		fl.Close()
		return nil, ctx.Err()
	case err != nil && !errors.Is(err, context.DeadlineExceeded):
		fl.Close()
		return nil, fmt.Errorf("job %s: lock %s: %w", job, path, err)
	default:
		fl.Close()
		return nil, &LockedError{Job: job, Holder: readLockHolder(path)}
	}
	host, _ := os.Hostname()
	h := LockHolder{PID: os.Getpid(), Host: host, Cmd: cmd, Since: time.Now().UTC().Truncate(time.Second)}
	data, _ := json.Marshal(h)
	// Best effort: the lock holds without the note. The note goes in
	// place (no rename), so the locked file stays the same file.
	if f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0o600); err == nil {
		f.Write(append(data, '\n'))
		f.Close()
	}
	return &Lock{fl: fl}, nil
}

// Release lets go of the lock.
func (l *Lock) Release() {
	if l != nil && l.fl != nil {
		l.fl.Close()
		l.fl = nil
	}
}

func readLockHolder(path string) LockHolder {
	var h LockHolder
	if data, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(data, &h)
	}
	return h
}

// ProbeLock says whether the lock at path is held, and by whom,
// without waiting. It takes a shared lock for a moment to find out.
func ProbeLock(path string) (LockHolder, bool) {
	if _, err := os.Stat(path); err != nil {
		return LockHolder{}, false
	}
	fl := flock.New(path, flock.SetFlag(os.O_RDONLY))
	ok, err := fl.TryRLock()
	if err != nil {
		return LockHolder{}, false
	}
	if ok {
		fl.Close()
		return LockHolder{}, false
	}
	return readLockHolder(path), true
}
