package jobs

import (
	"errors"
	"fmt"

	"github.com/ftpmirror/ftpmirror/mirror"
	"github.com/ftpmirror/ftpmirror/state"
)

// ConfigError is a mistake in a job's settings: a bad URL, flag value or
// job key, or a password that cannot be read. The command maps it to its
// "usage or configuration" exit status.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// configf is fmt.Errorf for configuration errors: %w keeps the chain.
func configf(format string, args ...any) error {
	return &ConfigError{Err: fmt.Errorf(format, args...)}
}

// IsLocked reports whether err says that another run has the job (its
// lock), its target or its state database: the run was skipped, and
// nothing is wrong.
func IsLocked(err error) bool {
	var le *LockedError
	var tle *mirror.TargetLockedError
	return errors.As(err, &le) || errors.As(err, &tle) || errors.Is(err, state.ErrLocked)
}
