package state

import (
	"strconv"
	"time"
)

// Kind is what a path is on the remote side.
type Kind uint8

// The zero Kind is KindFile, so a zero [Record] is an empty file.
const (
	KindFile Kind = iota
	KindDir
	KindSymlink
)

func (k Kind) String() string {
	switch k {
	case KindFile:
		return "file"
	case KindDir:
		return "dir"
	case KindSymlink:
		return "symlink"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Record is what the state remembers about one path of a mirror: the
// remote entry as it was when it was last fetched.
type Record struct {
	Kind    Kind
	Size    int64
	ModTime time.Time // remote modification time as known
	// Precision tells how exact ModTime is: 0 unknown, 1 day, 2 minute,
	// 3 exact. The values are those of ftpcore.TimePrecision; mirror
	// converts between the two.
	Precision uint8
	Target    string    // symlink target
	Fetched   time.Time // when the local copy was written
	// ListTime and ListPrecision are the time the listing showed when the
	// file was fetched. The next run compares its listing with them, like
	// with like: a LIST time is coarse and in the server's zone, while
	// ModTime is exact (MLSD or MDTM) and is what the local file got.
	ListTime      time.Time
	ListPrecision uint8
	// Digest is the SHA-256 of the bytes written, computed as they
	// came; nil when unknown (an adopted file, a record older than
	// digests).
	Digest []byte
	// Stale marks a file that `ftpmirror verify -repair` found no
	// longer matching its record: the next run fetches it again.
	Stale bool
}

// Partial is an interrupted download, kept so that the next run can resume
// it if the remote file has not changed.
type Partial struct {
	Size      int64 // remote size the download started against
	ModTime   time.Time
	Precision uint8
	Temp      string // local temp file name, relative to the target root
	Started   time.Time
	// Segments, for a download in segments, are its byte ranges and how
	// far each got: the bytes [Start, Start+Done) are in Temp. Empty for
	// a download in one stream, which resumes from Temp's size.
	Segments []Segment
}

// Segment is one byte range [Start, End) of a download in segments, of
// which the first Done bytes were written.
type Segment struct {
	Start, End, Done int64
}

// Run is the summary of one run of a job, as kept in its history.
type Run struct {
	ID         uint64 // assigned by [Job.AddRun], increasing per job
	Start, End time.Time
	Result     string // the run's result, as mirror.Result names it

	Listed, Fetched, Adopted, Deleted, Skipped, Failed int64
	Bytes                                              int64

	// Errors holds the first MaxRunErrors errors of the run, each cut to
	// MaxRunErrorLen bytes by [Job.AddRun].
	Errors []string
}

// Limits applied by [Job.AddRun].
const (
	MaxRuns        = 100  // runs kept per job; older ones are dropped
	MaxRunErrors   = 20   // errors kept per run
	MaxRunErrorLen = 1024 // bytes kept per error
)

// Change is one write of [Job.Apply] or [Batcher.Add]: Record is stored at
// Path, or, if Delete is set, whatever is at Path is removed and Record is
// ignored. Deleting a missing path is not an error.
type Change struct {
	Path   string
	Record Record
	Delete bool
}
