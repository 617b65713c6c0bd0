package ftpcore

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"
)

// maxBadLines bounds the lines a ListError quotes; ListError.Count
// counts them all.
const maxBadLines = 64

// maxQuotedLine bounds how much of a bad line a ListLineError keeps.
const maxQuotedLine = 1 << 10

// ListLineError is one line of a listing that gave no entry: no parser
// understood it, or it named something that is not one path component
// ("../x", "a/b"), or it held an impossible value (a size past int64).
type ListLineError struct {
	Line string // as received; cut to 1 KiB, ending in "..." if so
	Err  error
}

func (e *ListLineError) Error() string {
	return fmt.Sprintf("%v in line %q", e.Err, e.Line)
}

func (e *ListLineError) Unwrap() error { return e.Err }

// ListError says that some lines of a listing gave no entry. The other
// lines did: like os.ReadDir, the listing methods return their entries
// along with a *ListError (and return no entries with any other error).
// A caller that stops at any error stays safe; one that goes on with the
// entries must treat the listing as incomplete, for example delete
// nothing on its strength.
type ListError struct {
	Cmd   string // "MLSD", "LIST", "STAT" or "NLST"
	Dir   string
	Lines []*ListLineError // the first 64
	Count int              // every bad line, also those past Lines
}

func (e *ListError) Error() string {
	if e.Count == 1 {
		return fmt.Sprintf("%s %s: %v", e.Cmd, e.Dir, e.Lines[0])
	}
	return fmt.Sprintf("%s %s: %d lines without an entry, the first: %v", e.Cmd, e.Dir, e.Count, e.Lines[0])
}

// Unwrap returns the line errors, for errors.Is(err, ErrProtocol) and
// the like.
func (e *ListError) Unwrap() []error {
	errs := make([]error, len(e.Lines))
	for i, l := range e.Lines {
		errs[i] = l
	}
	return errs
}

// ListMemory bounds the memory that the entries of listings in progress
// hold, together, on every Conn whose Config.ListMemory points to it: a
// mirror listing on four connections at once sets one for all four.
// Config.MaxListBytes bounds the bytes each listing reads; ListMemory
// what they keep, which for short lines is a few times more (an Entry
// is over 100 bytes before its name). A listing that would go past it
// fails with an error wrapping ErrListMemory. Its methods are safe for
// concurrent use.
type ListMemory struct {
	limit int64
	held  atomic.Int64
}

// NewListMemory returns a ListMemory of limit bytes.
func NewListMemory(limit int64) *ListMemory {
	return &ListMemory{limit: limit}
}

// ErrListMemory is wrapped by the error of a listing that would hold
// more memory than its Config.ListMemory (or, without one,
// Config.MaxListBytes) allows. Where the budget is shared, the listing
// may fit once the others are done: IsTransient says so.
var ErrListMemory = errors.New("listing memory budget exhausted")

// errListsInProgress: a shared ListMemory ran out.
var errListsInProgress = fmt.Errorf("%w by the listings in progress", ErrListMemory)

// take reserves n bytes, if that stays within the limit.
func (m *ListMemory) take(n int64) bool {
	if m.held.Add(n) > m.limit {
		m.held.Add(-n)
		return false
	}
	return true
}

func (m *ListMemory) give(n int64) { m.held.Add(-n) }

// memoryChunk is how much a listing reserves from a shared ListMemory
// at a time.
const memoryChunk = 256 << 10

// entrySize is what one Entry costs in a slice, before its strings.
const entrySize = int64(unsafe.Sizeof(Entry{}))

// listing collects the result of one listing command: its entries, and
// the lines that gave none, within a memory budget. The strings of an
// entry are copied out of the line, so that a line is garbage once
// parsed; common permission strings are shared.
type listing struct {
	cmd, dir string
	now      time.Time
	parse    func(line string, now time.Time) (Entry, error)

	entries []Entry
	bad     *ListError

	mem      *ListMemory // shared budget, or nil
	limit    int64       // the budget without a shared one
	held     int64       // bytes the entries and bad lines cost
	reserved int64       // bytes taken from mem
	perms    map[string]string

	joinVMS  bool   // LIST and STAT: a VMS name alone goes on in the next line
	pending  string // such a name, waiting for its line
	versions bool   // some entry had a VMS version: keep the newest
}

func (c *Conn) newListing(cmd, dir string, parse func(string, time.Time) (Entry, error)) *listing {
	return &listing{cmd: cmd, dir: dir, now: c.cfg.Now(), parse: parse, mem: c.cfg.ListMemory, limit: c.cfg.MaxListBytes,
		joinVMS: cmd == "LIST" || cmd == "STAT"}
}

// parseLine parses one line. A VMS name alone on its line is kept (the
// line says errSkipLine) and parsed with the next line.
func (l *listing) parseLine(line string) (Entry, error) {
	if !l.joinVMS {
		return l.parse(line, l.now)
	}
	if l.pending != "" {
		line = l.pending + " " + line
		l.pending = ""
	} else if vmsNameOnly(line) {
		l.pending = strings.Clone(line)
		return Entry{}, errSkipLine
	}
	return l.parse(line, l.now)
}

// add parses one line and keeps what it gives. It returns an error only
// when the budget is exhausted; then the listing is over.
func (l *listing) add(line string) error {
	e, err := l.parseLine(line)
	switch {
	case err == nil:
		return l.addEntry(e)
	case errors.Is(err, errSkipLine):
		return nil
	}
	return l.addBad(line, err)
}

// addEntry keeps e, with its strings copied.
func (l *listing) addEntry(e Entry) error {
	e.Name = strings.Clone(e.Name)
	e.Target = strings.Clone(e.Target)
	e.Unique = strings.Clone(e.Unique)
	e.Perm = l.perm(e.Perm)
	l.versions = l.versions || e.version != 0
	grow := int64(len(e.Name) + len(e.Target) + len(e.Unique))
	if len(l.entries) == cap(l.entries) {
		// append's growth, charged before it happens.
		next := max(64, cap(l.entries)+cap(l.entries)/4)
		grow += int64(next-cap(l.entries)) * entrySize
		if err := l.charge(grow); err != nil {
			return err
		}
		s := make([]Entry, len(l.entries), next)
		copy(s, l.entries)
		l.entries = s
	} else if err := l.charge(grow); err != nil {
		return err
	}
	l.entries = append(l.entries, e)
	return nil
}

// perm returns a shared copy of a permission string: a listing has few
// distinct ones.
func (l *listing) perm(p string) string {
	if p == "" {
		return ""
	}
	if s, ok := l.perms[p]; ok {
		return s
	}
	s := strings.Clone(p)
	if len(l.perms) < 256 {
		if l.perms == nil {
			l.perms = map[string]string{}
		}
		l.perms[s] = s
	}
	return s
}

// addBad records a line that gave no entry.
func (l *listing) addBad(line string, err error) error {
	if l.bad == nil {
		l.bad = &ListError{Cmd: l.cmd, Dir: l.dir}
	}
	l.bad.Count++
	if len(l.bad.Lines) >= maxBadLines {
		return nil
	}
	if len(line) > maxQuotedLine {
		line = line[:maxQuotedLine] + "..."
	} else {
		line = strings.Clone(line)
	}
	l.bad.Lines = append(l.bad.Lines, &ListLineError{Line: line, Err: err})
	return l.charge(int64(len(line)) + 64)
}

// charge counts n more bytes against the budget.
func (l *listing) charge(n int64) error {
	l.held += n
	if l.mem == nil {
		if l.held > l.limit {
			return fmt.Errorf("%s %s: %w: the entries would take more than %d bytes", l.cmd, l.dir, ErrListMemory, l.limit)
		}
		return nil
	}
	for l.held > l.reserved {
		if !l.mem.take(memoryChunk) {
			return fmt.Errorf("%s %s: %w: together more than %d bytes", l.cmd, l.dir, errListsInProgress, l.mem.limit)
		}
		l.reserved += memoryChunk
	}
	return nil
}

// release gives the shared budget back: the entries now belong to the
// caller.
func (l *listing) release() {
	if l.mem != nil {
		l.mem.give(l.reserved)
		l.reserved = 0
	}
}

// result returns the entries and, if some lines gave none, a *ListError.
func (l *listing) result() ([]Entry, error) {
	l.release()
	if l.pending != "" {
		l.addBad(l.pending, errUnsupportedListLine)
	}
	if l.versions {
		l.entries = newestVersions(l.entries)
	}
	if l.bad != nil {
		return l.entries, l.bad
	}
	return l.entries, nil
}
