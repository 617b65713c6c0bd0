package jobs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLockHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "j.lock")
	if _, held := ProbeLock(path); held {
		t.Error("missing lock file held")
	}
	l, err := AcquireLock(t.Context(), path, "j", "sync", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	h, held := ProbeLock(path)
	if !held || h.PID != os.Getpid() || h.Cmd != "sync" || time.Since(h.Since) > time.Minute {
		t.Errorf("probe: %+v %v", h, held)
	}
	start := time.Now()
	_, err = AcquireLock(t.Context(), path, "j", "daemon", 100*time.Millisecond)
	var le *LockedError
	if !errors.As(err, &le) || le.Holder.PID != os.Getpid() || !IsLocked(err) || time.Since(start) < 100*time.Millisecond {
		t.Errorf("second lock: %v", err)
	}
	l.Release()
	if _, held := ProbeLock(path); held {
		t.Error("released lock held")
	}
	l2, err := AcquireLock(t.Context(), path, "j", "daemon", 0)
	if err != nil {
		t.Fatal(err)
	}
	l2.Release()
}
