package ftpcore

import (
	"fmt"
	"time"
)

// EntryType says what kind of object a listing entry names.
type EntryType uint8

const (
	TypeFile    EntryType = iota // a regular file
	TypeDir                      // a directory
	TypeSymlink                  // a symbolic link; Entry.Target holds its target when known
	TypeOther                    // a device, socket, pipe or anything else
)

func (t EntryType) String() string {
	switch t {
	case TypeFile:
		return "file"
	case TypeDir:
		return "dir"
	case TypeSymlink:
		return "symlink"
	default:
		return "other"
	}
}

// TimePrecision says how much of Entry.Time the server actually told us.
type TimePrecision uint8

const (
	// TimeUnknown: the server gave no usable time; Entry.Time is zero.
	TimeUnknown TimePrecision = iota
	// TimeDay: only the date is known (Unix LIST for files older than six
	// months shows "Jan 02  2006"), in the server's time zone.
	TimeDay
	// TimeMinute: date, hour and minute (Unix LIST for recent files, DOS
	// listings), in the server's time zone.
	TimeMinute
	// TimeExact: seconds or better, in UTC (MLSD "modify" fact, MDTM).
	TimeExact
)

func (p TimePrecision) String() string {
	switch p {
	case TimeDay:
		return "day"
	case TimeMinute:
		return "minute"
	case TimeExact:
		return "exact"
	default:
		return "unknown"
	}
}

// Entry is one object of a directory listing.
//
// Name is exactly the bytes the server sent (it need not be valid UTF-8);
// parsers guarantee it is non-empty and contains no '/', NUL, CR or LF,
// and is neither "." nor "..". Callers that write names to disk must still
// validate them for their own platform.
type Entry struct {
	Name      string
	Type      EntryType
	Size      int64 // bytes; -1 when the listing did not say
	Time      time.Time
	Precision TimePrecision
	Target    string // symlink target, when the listing shows one
	Unique    string // MLSD "unique" fact, when given
	Perm      string // MLSD "perm" fact or the Unix mode string, as sent

	// version is the file version of a VMS listing line (";3"), 0
	// elsewhere: a listing keeps the newest version of each name.
	version int
}

func (e Entry) String() string {
	s := fmt.Sprintf("%s %s %d %s(%s)", e.Type, e.Name, e.Size, e.Time.Format(time.RFC3339), e.Precision)
	if e.Target != "" {
		s += " -> " + e.Target
	}
	return s
}
