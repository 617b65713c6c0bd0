// Package state remembers, per mirror job, what was fetched: one [Record]
// per local path, interrupted downloads ([Partial]) and a short history of
// runs ([Run]). It stores plain values and knows nothing of FTP; package
// mirror converts between its types and these. [DB.Job] returns the
// handle through which one job's records, partials and runs are read and
// written; what spans jobs ([DB.Jobs], [DB.DeleteJob], the servers'
// quirks in [DB.Server]) is on the DB.
//
// The database is one go.etcd.io/bbolt file. bbolt holds a file lock for as
// long as it is open, so a second ftpmirror process on the same file fails
// after [Options.Timeout] with [ErrLocked] instead of waiting for hours
// behind a long run. Within a process a [DB] is safe for concurrent use.
//
// # Layout
//
// Each job is a top-level bucket "job:"+name holding up to three buckets:
//
//	files    dir + "\x00" + name  ->  Record
//	partial  dir + "\x00" + name  ->  Partial
//	runs     big-endian uint64 ID ->  Run
//
// Paths are relative to the mirror root, '/'-separated, without a leading
// slash; "" is the root. A name may hold any byte but '/' and NUL. Keying
// by dir + NUL + name keeps the direct children of a directory next to each
// other, so [Job.Children] reads only them, however deep the tree below.
//
// Values start with a version byte (now 1), then varint-encoded fields;
// see codec.go. Times come back in UTC, without monotonic reading.
//
// # Damage
//
// A file that bbolt cannot open, a truncated file, or a value that does not
// decode gives an error wrapping [ErrCorrupt]. bbolt trusts the pages it
// reads and may panic or fault on a damaged one; such a panic inside a
// transaction is recovered, returned as ErrCorrupt, and fails every later
// call on that DB. The state can always be thrown away: the next run
// adopts the files already in the target whose size and time match.
//
// # Batching
//
// Each write method is one fsync'd transaction. Per-file records from many
// workers go through a [Batcher], which writes them a few hundred at a time.
package state
