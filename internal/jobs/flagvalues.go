package jobs

import (
	"fmt"
	"strconv"
	"strings"
)

// flag.Value types that bind the command line's flags to Job settings:
// sync's flags and the job file's keys fill the same fields.

// ListFlag is a repeatable string flag (flag.Value) bound to a list
// setting. The first use on a command line
// replaces the list it is bound to (a job's include = [...] with sync
// -jobs), later uses add to it.
type ListFlag struct {
	Dst *[]string
	set bool
}

func (l *ListFlag) String() string {
	if l.Dst == nil {
		return ""
	}
	return strings.Join(*l.Dst, ",")
}

func (l *ListFlag) Set(v string) error {
	if !l.set {
		*l.Dst, l.set = nil, true
	}
	*l.Dst = append(*l.Dst, v)
	return nil
}

// NegBool is a boolean flag that sets its setting to the opposite:
// -no-pipelining sets Pipelining false.
type NegBool struct{ V *bool }

func (n NegBool) IsBoolFlag() bool { return true }
func (n NegBool) String() string {
	if n.V == nil {
		return "false"
	}
	return strconv.FormatBool(!*n.V)
}
func (n NegBool) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*n.V = !b
	return nil
}

// BytesFlag is a size flag taking "10M" and the like.
type BytesFlag struct{ V *int64 }

func (b BytesFlag) String() string {
	if b.V == nil || *b.V == 0 {
		return ""
	}
	return fmt.Sprint(*b.V)
}

func (b BytesFlag) Set(s string) error {
	n, err := ParseBytes(s)
	if err != nil {
		return err
	}
	*b.V = n
	return nil
}

// ModeFlag is -mode: passive, active or auto (Job.SetMode).
type ModeFlag struct{ J *Job }

func (m ModeFlag) String() string {
	if m.J == nil {
		return ""
	}
	return m.J.Mode
}

func (m ModeFlag) Set(s string) error { return m.J.SetMode(s) }

// ActiveFlag is -active, short for -mode active.
type ActiveFlag struct{ J *Job }

func (a ActiveFlag) String() string { return "false" }

func (a ActiveFlag) IsBoolFlag() bool { return true }

func (a ActiveFlag) Set(s string) error {
	on, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	if on {
		a.J.Mode = "active"
	} else if a.J.Mode == "active" {
		a.J.Mode = "passive"
	}
	return nil
}

// ParallelFlag is -parallel: N or auto (Job.SetParallel).
type ParallelFlag struct{ J *Job }

func (p ParallelFlag) String() string {
	if p.J == nil {
		return ""
	}
	return p.J.ParallelString()
}

func (p ParallelFlag) Set(s string) error { return p.J.SetParallel(s) }
