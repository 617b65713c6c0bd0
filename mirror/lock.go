package mirror

import (
	"fmt"
	"time"
)

// TargetLockedError says that another run is writing the target, and
// who, as far as the system tells.
type TargetLockedError struct {
	Target string
	Holder LockHolder
}

func (e *TargetLockedError) Error() string {
	return fmt.Sprintf("target %s is being written by %v; skipped", e.Target, e.Holder)
}

// LockHolder is the process holding a lock.
type LockHolder struct {
	PID   int
	Host  string
	Cmd   string // its command line
	Since time.Time
}

func (h LockHolder) String() string {
	if h.PID == 0 {
		return "another process"
	}
	s := fmt.Sprintf("pid %d", h.PID)
	if h.Host != "" {
		s += " on " + h.Host
	}
	if h.Cmd != "" {
		s += fmt.Sprintf(" (%s)", h.Cmd)
	}
	if !h.Since.IsZero() {
		s += " since " + h.Since.Local().Format(time.DateTime)
	}
	return s
}
