package state

import (
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
	changes atomic.Int64 // records written or deleted since Open
	// touchedBytes counts bytes of records since the mapped pages were
	// last released.
	touchedBytes atomic.Int64

	readOnly bool
	closed   atomic.Bool
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

	b, err := openCurrent(path, &bolt.Options{
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

	db := &DB{bolt: b, path: path, readOnly: o.ReadOnly}
	if err := db.check(); err != nil {
		_ = b.Close()
		return nil, err
	}
	return db, nil
}

// openCurrent is openBolt for the file that is at path once its lock is
// held. Waiting for the lock, it may have got the file that a compaction
// (see [DB.CloseCompact]) then renamed its copy over: that one is closed
// and path opened again.
func openCurrent(path string, o *bolt.Options) (*bolt.DB, error) {
	for tries := 1; ; tries++ {
		db, file, err := openBolt(path, o)
		if err != nil {
			return nil, err
		}
		held, herr := file.Stat()
		now, nerr := os.Stat(path)
		switch {
		case herr != nil || nerr != nil:
			err = errors.Join(herr, nerr)
		case os.SameFile(held, now):
			return db, nil
		case tries < 3:
			_ = db.Close()
			continue
		default:
			err = errors.New("the file was replaced each time its lock was taken")
		}
		_ = db.Close()
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
}

// openBolt is bolt.Open made safe for garbage files: a panic or a memory
// fault (a truncated file is mapped beyond its end) while reading the
// file becomes a panicError, and the file, with its lock, is closed. It
// returns the file it opened too.
func openBolt(path string, o *bolt.Options) (db *bolt.DB, file *os.File, err error) {
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
	db, err = bolt.Open(path, 0o600, o)
	return db, file, err
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

// Close closes the database and releases its lock. Closing it again
// does nothing.
func (db *DB) Close() error {
	if db.closed.Swap(true) {
		return nil
	}
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("state %s: %w", db.path, err)
	}
	return nil
}

// Path returns the file name passed to [Open].
func (db *DB) Path() string { return db.path }

func (db *DB) view(job string, fn func(*bolt.Tx) error) error   { return db.tx(job, false, fn) }
func (db *DB) update(job string, fn func(*bolt.Tx) error) error { return db.tx(job, true, fn) }

// tx runs fn in a transaction. A panic or memory fault inside it (bbolt
// trusts the pages it reads) marks db broken and becomes an error
// wrapping ErrCorrupt. Errors are returned with the file and job named.
func (db *DB) tx(job string, write bool, fn func(*bolt.Tx) error) error {
	return db.protect(job, func() (err error) {
		if write {
			err = db.bolt.Update(fn)
			if err == nil {
				db.commits.Add(1)
			}
		} else {
			err = db.bolt.View(fn)
		}
		return db.wrap(job, err)
	})
}

// protect runs fn, which reads db's pages. A panic or memory fault
// inside it marks db broken and becomes an error wrapping ErrCorrupt.
func (db *DB) protect(job string, fn func() error) (err error) {
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
	return fn()
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
