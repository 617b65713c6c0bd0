package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Options configures [Open]. A nil *Options means all defaults.
type Options struct {
	// Timeout is how long Open waits for another process's lock on the
	// file before it returns an error wrapping ErrLocked. Zero means 1s.
	Timeout time.Duration

	// ReadOnly opens the file with a shared lock, so that several readers
	// (ftpmirror status) can run beside each other but not beside a
	// writer. Every write returns an error. The file must exist.
	ReadOnly bool

	// NoSync skips fsync on commit. A crash can then lose or corrupt
	// the database: for tests and benchmarks only.
	NoSync bool
}

var (
	// ErrLocked means another process (or another Open in this one) holds
	// the database.
	ErrLocked = errors.New("state database is locked by another process")

	// ErrCorrupt means the file or a value in it cannot be read.
	ErrCorrupt = errors.New("state database is corrupt")
)

const defaultTimeout = time.Second

// DB is an open state database. It is safe for concurrent use by multiple
// goroutines.
type DB struct {
	bolt *bolt.DB
	path string

	// broken holds the error of the first panic inside bbolt: the file
	// is corrupt, and every later call returns that error.
	broken atomic.Pointer[error]

	commits atomic.Int64 // read-write transactions committed, for tests
}

// Open opens the state database at path, creating it (mode 0600) and its
// parent directory (mode 0700) if they are missing; with opts.ReadOnly
// neither is created. A zero-length file is taken for a database whose
// creation was cut short and is initialised as an empty one.
//
// A file that is not a readable database gives an error wrapping
// [ErrCorrupt] which names the file and says how to recover; a lock held
// for longer than opts.Timeout gives one wrapping [ErrLocked].
func Open(path string, opts *Options) (*DB, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if !o.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("state %s: %w", path, err)
		}
	}
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return nil, corruptError(path, errors.New("is a directory"))
	case err == nil && fi.Size() == 0 && o.ReadOnly:
		// bbolt would try to initialise it, which a read-only open can't.
		return nil, corruptError(path, errors.New("empty file"))
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("state %s: %w", path, err)
	}

	b, err := openBolt(path, &bolt.Options{
		Timeout:  o.Timeout,
		ReadOnly: o.ReadOnly,
		NoSync:   o.NoSync,
	})
	var pathErr *fs.PathError
	switch {
	case errors.Is(err, bolt.ErrTimeout):
		return nil, fmt.Errorf("state %s: %w (waited %v)", path, ErrLocked, o.Timeout)
	case errors.As(err, &pathErr):
		// Opening the file itself failed: missing, permissions, read-only
		// file system. Moving the file away would not help.
		return nil, fmt.Errorf("state %s: %w", path, err)
	case err != nil:
		// Bad meta pages (bolt.ErrInvalid, ErrChecksum, ErrVersionMismatch),
		// a file too small to hold them, a panic or fault on a bad page.
		return nil, corruptError(path, err)
	}

	db := &DB{bolt: b, path: path}
	if err := db.check(); err != nil {
		_ = b.Close()
		return nil, err
	}
	return db, nil
}

// openBolt is bolt.Open made safe for garbage files: a panic or a memory
// fault (a truncated file is mapped beyond its end) while reading the
// file becomes a panicError, and the file, with its lock, is closed.
func openBolt(path string, o *bolt.Options) (db *bolt.DB, err error) {
	var file *os.File
	o.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		file = f
		return f, err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			if file != nil { // the mapping, if any, leaks
				unlock(file)
				_ = file.Close()
			}
			db, err = nil, panicError{p}
		}
	}()
	return bolt.Open(path, 0o600, o)
}

// check looks for damage that bbolt's Open does not: a file shorter than
// its meta page says (truncated), and an unreadable root page.
func (db *DB) check() error {
	fi, err := os.Stat(db.path)
	if err != nil {
		return fmt.Errorf("state %s: %w", db.path, err)
	}
	var size int64
	err = db.view("", func(tx *bolt.Tx) error {
		size = tx.Size()
		c := tx.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
		}
		return nil
	})
	if err != nil {
		return err
	}
	if size > fi.Size() {
		return corruptError(db.path, fmt.Errorf("file is %d bytes, its pages need %d: truncated", fi.Size(), size))
	}
	return nil
}

// panicError is a panic inside bbolt, which it raises on pages that make
// no sense.
type panicError struct{ v any }

func (e panicError) Error() string { return fmt.Sprintf("bbolt panic: %v", e.v) }

func corruptError(path string, cause error) error {
	return fmt.Errorf("state %s: %w: %w; move it away: the next run adopts files already in the target "+
		"whose size and time match, see `ftpmirror state rebuild`", path, ErrCorrupt, cause)
}

// Close closes the database and releases its lock.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("state %s: %w", db.path, err)
	}
	return nil
}

// Path returns the file name passed to [Open].
func (db *DB) Path() string { return db.path }

// Top-level buckets are named jobPrefix + job; each holds up to three
// sub-buckets.
const jobPrefix = "job:"

var (
	bucketFiles   = []byte("files")   // pathKey -> encodeRecord
	bucketPartial = []byte("partial") // pathKey -> encodePartial
	bucketRuns    = []byte("runs")    // runKey -> encodeRun
)

func jobKey(job string) []byte { return []byte(jobPrefix + job) }

func checkJob(job string) error {
	switch {
	case job == "":
		return errors.New("empty job name")
	case len(jobPrefix)+len(job) > bolt.MaxKeySize:
		return fmt.Errorf("job name is %d bytes long", len(job))
	}
	return nil
}

// sub returns the sub-bucket name of job, or nil if there is none.
func sub(tx *bolt.Tx, job string, name []byte) *bolt.Bucket {
	j := tx.Bucket(jobKey(job))
	if j == nil {
		return nil
	}
	return j.Bucket(name)
}

// subCreate returns the sub-bucket name of job, creating what is missing.
func subCreate(tx *bolt.Tx, job string, name []byte) (*bolt.Bucket, error) {
	j, err := tx.CreateBucketIfNotExists(jobKey(job))
	if err != nil {
		return nil, err
	}
	return j.CreateBucketIfNotExists(name)
}

func (db *DB) view(job string, fn func(*bolt.Tx) error) error   { return db.tx(job, false, fn) }
func (db *DB) update(job string, fn func(*bolt.Tx) error) error { return db.tx(job, true, fn) }

// tx runs fn in a transaction. A panic or memory fault inside it (bbolt
// trusts the pages it reads) marks db broken and becomes an error
// wrapping ErrCorrupt. Errors are returned with the file and job named.
func (db *DB) tx(job string, write bool, fn func(*bolt.Tx) error) (err error) {
	if p := db.broken.Load(); p != nil {
		return *p
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			cause := error(panicError{p})
			if job != "" {
				cause = fmt.Errorf("job %q: %w", job, cause)
			}
			e := corruptError(db.path, cause)
			db.broken.CompareAndSwap(nil, &e)
			err = e
		}
	}()
	if write {
		err = db.bolt.Update(fn)
		if err == nil {
			db.commits.Add(1)
		}
	} else {
		err = db.bolt.View(fn)
	}
	return db.wrap(job, err)
}

// wrap adds the file and job to err. Errors made by corruptError already
// name the file.
func (db *DB) wrap(job string, err error) error {
	switch {
	case err == nil:
		return nil
	case job == "":
		return fmt.Errorf("state %s: %w", db.path, err)
	}
	return fmt.Errorf("state %s: job %q: %w", db.path, job, err)
}

// Get returns the record at path.
func (db *DB) Get(job, path string) (Record, bool, error) {
	return get(db, job, path, bucketFiles, "path", decodeRecord)
}

// get reads and decodes the value at path in one of job's buckets.
func get[T any](db *DB, job, path string, bucket []byte, what string, decode func([]byte) (T, error)) (T, bool, error) {
	var v T
	if err := errors.Join(checkJob(job), checkPath(path)); err != nil {
		return v, false, db.wrap(job, err)
	}
	var ok bool
	err := db.view(job, func(tx *bolt.Tx) error {
		b := sub(tx, job, bucket)
		if b == nil {
			return nil
		}
		raw := b.Get(pathKey(path))
		if raw == nil {
			return nil
		}
		var err error
		if v, err = decode(raw); err != nil {
			return fmt.Errorf("%s %q: %w", what, path, err)
		}
		ok = true
		return nil
	})
	return v, ok, err
}

// Children returns the records of the direct children of dir, keyed by
// name. It costs O(children), whatever lies deeper. A dir without
// children, or without a record, gives an empty map.
func (db *DB) Children(job, dir string) (map[string]Record, error) {
	if err := errors.Join(checkJob(job), checkPath(dir)); err != nil {
		return nil, db.wrap(job, err)
	}
	m := make(map[string]Record)
	err := db.view(job, func(tx *bolt.Tx) error {
		b := sub(tx, job, bucketFiles)
		if b == nil {
			return nil
		}
		prefix := dirPrefix(dir)
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			name := string(k[len(prefix):])
			if name == "" {
				continue // the root's own record, key "\x00"
			}
			r, err := decodeRecord(v)
			if err != nil {
				return fmt.Errorf("key %q: %w", k, err)
			}
			m[name] = r
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// walkChunk is how many records Walk reads per transaction.
const walkChunk = 1024

// Walk calls fn for every record of job, each directory before what is
// inside it (but not in lexical order of paths). It stops at the first
// error of fn and returns it unchanged.
//
// Walk reads in chunks and holds no transaction while fn runs, so fn may
// call any method of db, writes included; records changed during the
// walk may or may not be seen.
func (db *DB) Walk(job string, fn func(path string, r Record) error) error {
	if err := checkJob(job); err != nil {
		return db.wrap(job, err)
	}
	type entry struct {
		path string
		rec  Record
	}
	var after []byte // last key seen; nil before the first chunk
	for {
		var chunk []entry
		var last []byte
		err := db.view(job, func(tx *bolt.Tx) error {
			b := sub(tx, job, bucketFiles)
			if b == nil {
				return nil
			}
			c := b.Cursor()
			k, v := c.First()
			if after != nil {
				k, v = c.Seek(after)
				if bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && len(chunk) < walkChunk; k, v = c.Next() {
				p, err := keyPath(k)
				if err != nil {
					return err
				}
				r, err := decodeRecord(v)
				if err != nil {
					return fmt.Errorf("path %q: %w", p, err)
				}
				chunk = append(chunk, entry{p, r})
				last = k
			}
			if last != nil {
				last = bytes.Clone(last)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, e := range chunk {
			if err := fn(e.path, e.rec); err != nil {
				return err
			}
		}
		if len(chunk) < walkChunk {
			return nil
		}
		after = last
	}
}

// Count returns the number of records of job.
func (db *DB) Count(job string) (int, error) {
	if err := checkJob(job); err != nil {
		return 0, db.wrap(job, err)
	}
	var n int
	err := db.view(job, func(tx *bolt.Tx) error {
		if b := sub(tx, job, bucketFiles); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n, err
}

// Apply writes changes in one transaction: all of them or, on error, none.
// A deleted directory's record goes, but not the records inside it.
func (db *DB) Apply(job string, changes []Change) error {
	if err := checkJob(job); err != nil {
		return db.wrap(job, err)
	}
	for _, c := range changes {
		if err := checkPath(c.Path); err != nil {
			return db.wrap(job, err)
		}
	}
	if len(changes) == 0 {
		return nil
	}
	return db.update(job, func(tx *bolt.Tx) error {
		b, err := subCreate(tx, job, bucketFiles)
		if err != nil {
			return err
		}
		for _, c := range changes {
			if c.Delete {
				err = b.Delete(pathKey(c.Path))
			} else {
				err = b.Put(pathKey(c.Path), encodeRecord(c.Record))
			}
			if err != nil {
				return fmt.Errorf("path %q: %w", c.Path, err)
			}
		}
		return nil
	})
}

// PutPartial records an interrupted download of path, replacing any
// earlier one.
func (db *DB) PutPartial(job, path string, p Partial) error {
	if err := errors.Join(checkJob(job), checkPath(path)); err != nil {
		return db.wrap(job, err)
	}
	return db.update(job, func(tx *bolt.Tx) error {
		b, err := subCreate(tx, job, bucketPartial)
		if err != nil {
			return err
		}
		return b.Put(pathKey(path), encodePartial(p))
	})
}

// GetPartial returns the interrupted download of path.
func (db *DB) GetPartial(job, path string) (Partial, bool, error) {
	return get(db, job, path, bucketPartial, "partial", decodePartial)
}

// DeletePartial forgets the interrupted download of path, if any.
func (db *DB) DeletePartial(job, path string) error {
	if err := errors.Join(checkJob(job), checkPath(path)); err != nil {
		return db.wrap(job, err)
	}
	return db.update(job, func(tx *bolt.Tx) error {
		b := sub(tx, job, bucketPartial)
		if b == nil {
			return nil
		}
		return b.Delete(pathKey(path))
	})
}

// Partials returns all interrupted downloads of job, keyed by path.
func (db *DB) Partials(job string) (map[string]Partial, error) {
	if err := checkJob(job); err != nil {
		return nil, db.wrap(job, err)
	}
	m := make(map[string]Partial)
	err := db.view(job, func(tx *bolt.Tx) error {
		b := sub(tx, job, bucketPartial)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			path, err := keyPath(k)
			if err != nil {
				return err
			}
			p, err := decodePartial(v)
			if err != nil {
				return fmt.Errorf("partial %q: %w", path, err)
			}
			m[path] = p
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// AddRun appends r to the history of job and returns the ID it was given;
// r.ID is ignored. Only the last MaxRuns runs are kept, and of each run the
// first MaxRunErrors errors, cut to MaxRunErrorLen bytes.
func (db *DB) AddRun(job string, r Run) (uint64, error) {
	if err := checkJob(job); err != nil {
		return 0, db.wrap(job, err)
	}
	r = trimRun(r)
	var id uint64
	err := db.update(job, func(tx *bolt.Tx) error {
		b, err := subCreate(tx, job, bucketRuns)
		if err != nil {
			return err
		}
		if id, err = b.NextSequence(); err != nil {
			return err
		}
		if err := b.Put(runKey(id), encodeRun(r)); err != nil {
			return err
		}
		var old [][]byte
		c := b.Cursor()
		n := 0
		for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
			if n++; n > MaxRuns {
				old = append(old, bytes.Clone(k))
			}
		}
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}

// Runs returns up to n runs of job, newest first; n <= 0 means all kept.
func (db *DB) Runs(job string, n int) ([]Run, error) {
	if err := checkJob(job); err != nil {
		return nil, db.wrap(job, err)
	}
	var runs []Run
	err := db.view(job, func(tx *bolt.Tx) error {
		b := sub(tx, job, bucketRuns)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil && (n <= 0 || len(runs) < n); k, v = c.Prev() {
			if len(k) != 8 {
				return fmt.Errorf("run key %x: %w", k, ErrCorrupt)
			}
			r, err := decodeRun(binary.BigEndian.Uint64(k), v)
			if err != nil {
				return fmt.Errorf("run %x: %w", k, err)
			}
			runs = append(runs, r)
		}
		return nil
	})
	return runs, err
}

// Jobs returns the names of the jobs that have anything stored, sorted.
func (db *DB) Jobs() ([]string, error) {
	var jobs []string
	err := db.view("", func(tx *bolt.Tx) error {
		c := tx.Cursor()
		prefix := []byte(jobPrefix)
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if v == nil { // a bucket
				jobs = append(jobs, string(k[len(prefix):]))
			}
		}
		return nil
	})
	return jobs, err
}

// DeleteJob forgets everything about job. A job with nothing stored is
// not an error.
func (db *DB) DeleteJob(job string) error {
	if err := checkJob(job); err != nil {
		return db.wrap(job, err)
	}
	return db.update(job, func(tx *bolt.Tx) error {
		err := tx.DeleteBucket(jobKey(job))
		if errors.Is(err, bolt.ErrBucketNotFound) {
			return nil
		}
		return err
	})
}
