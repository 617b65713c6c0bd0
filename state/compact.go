package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// A B+tree filled in the order a mirror finishes its files keeps its
// pages about two thirds full, and the pages freed by deletes stay in
// the file. A run reads every page of its job, and bbolt maps them, so
// the slack is memory as well as disk: at 200,000 files, 41 MB of pages
// for 27.5 MB of records. Compacting rewrites the file with full pages.
const (
	// CompactChanges is how many records a DB must have written or
	// deleted since Open before [DB.CloseCompact] looks at its pages: a
	// run that changed little did not make it sparser.
	CompactChanges = 10000
	// compactSlack and compactMinSlack: the file is rewritten when at
	// least this share of it, and this many bytes, are not records.
	compactSlack    = 0.25
	compactMinSlack = 1 << 20
	// compactTxSize bounds what one transaction of the copy holds in
	// memory.
	compactTxSize = 256 << 10
)

// releaseEvery is how many bytes of pages a DB may have mapped, reading
// or writing records, between two releases of its mapped pages. A run
// reads every page of its job, and bbolt maps them: without it, the
// whole file would count in the process's memory by the end of a run.
const releaseEvery = 4 << 20

// touched counts n bytes of pages read or written, and releases the
// mapped pages every releaseEvery bytes. It must not be called inside a
// transaction.
func (db *DB) touched(n int) {
	if db.touchedBytes.Add(int64(n)) < releaseEvery {
		return
	}
	db.touchedBytes.Store(0)
	_ = db.view("", func(tx *bolt.Tx) error { release(tx); return nil })
}

// Compaction says what [DB.CloseCompact] did.
type Compaction struct {
	// Before and After are the bytes of pages in use (the file grows
	// in larger steps); After is 0 when the file was not rewritten.
	Before, After int64
}

// CloseCompact closes db, first rewriting its file with full pages if at
// least minChanges records were written or deleted since Open and at
// least a quarter of the file (1 MiB at least) is slack. Nothing else
// may use db during the call, or after it.
//
// The copy is written beside the file, synced and renamed over it while
// db still holds the lock; a process waiting for that lock gets the old
// file when db closes, which [Open] notices and opens the new one. A
// crash leaves either file whole. A read-only db is only closed.
func (db *DB) CloseCompact(minChanges int64) (Compaction, error) {
	var c Compaction
	if db.readOnly || db.changes.Load() < minChanges || db.broken.Load() != nil {
		return c, db.Close()
	}
	sparse, size, err := db.sparse()
	c.Before = size
	if err == nil && sparse {
		c.After, err = db.rewrite()
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return c, err
}

// sparse reports whether enough of the file is slack to rewrite it. It
// reads every record, releasing the pages as it goes: bbolt's own
// Bucket.Stats would map the whole file at once.
func (db *DB) sparse() (bool, int64, error) {
	var size, records int64
	err := db.view("", func(tx *bolt.Tx) error {
		size = tx.Size()
		read := 0
		return walkAll(tx, func(_ [][]byte, k, v []byte, _ uint64) error {
			records += int64(leafElementSize + len(k) + len(v))
			if read += len(k) + len(v); read > releaseEvery/2 {
				release(tx)
				read = 0
			}
			return nil
		})
	})
	if err != nil {
		return false, 0, err
	}
	// Full pages hold the records, a header each, and the branch pages
	// above them: a few percent more.
	slack := size - (records*103/100 + 4*int64(db.bolt.Info().PageSize))
	return slack >= compactMinSlack && float64(slack) >= compactSlack*float64(size), size, nil
}

// leafElementSize is what bbolt stores beside each key and value on a
// leaf page: flags, position and the two lengths.
const leafElementSize = 16

// walkAll calls fn for each bucket (v nil, with its sequence) and each
// value in tx, depth first; path names the buckets above k.
func walkAll(tx *bolt.Tx, fn func(path [][]byte, k, v []byte, seq uint64) error) error {
	var walk func(path [][]byte, b *bolt.Bucket) error
	walk = func(path [][]byte, b *bolt.Bucket) error {
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if v != nil {
				if err := fn(path, k, v, 0); err != nil {
					return err
				}
				continue
			}
			inner := b.Bucket(k)
			if err := fn(path, k, nil, inner.Sequence()); err != nil {
				return err
			}
			if err := walk(append(path[:len(path):len(path)], k), inner); err != nil {
				return err
			}
		}
		return nil
	}
	return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
		if err := fn(nil, name, nil, b.Sequence()); err != nil {
			return err
		}
		return walk([][]byte{name}, b)
	})
}

// rewrite copies the database into a new file with full pages and
// renames it over db's file. It returns the new file's size.
func (db *DB) rewrite() (int64, error) {
	tmp := db.path + ".compact"
	fail := func(err error) (int64, error) {
		_ = os.Remove(tmp)
		return 0, fmt.Errorf("state %s: compact: %w", db.path, err)
	}
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fail(err) // left by a crash: we hold the lock, it is nobody's
	}
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		return fail(err)
	}
	var size int64
	err = db.protect("", func() error { return db.copyTo(dst) })
	if err == nil {
		err = dst.View(func(tx *bolt.Tx) error { size = tx.Size(); return nil })
	}
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fail(err)
	}
	if err := keepOwner(db.path, tmp); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, db.path); err != nil {
		return fail(err)
	}
	return size, syncDir(filepath.Dir(db.path))
}

// copyTo copies every bucket and value of db into dst, an empty
// database, with full pages. It is bolt.Compact, but releases db's
// mapped pages at each of its commits: copying reads every page, which
// would otherwise all count in the process's memory at once.
func (db *DB) copyTo(dst *bolt.DB) error {
	return db.bolt.View(func(src *bolt.Tx) error {
		out, err := dst.Begin(true)
		if err != nil {
			return err
		}
		defer func() { _ = out.Rollback() }()
		size := 0
		err = walkAll(src, func(path [][]byte, k, v []byte, seq uint64) error {
			if size += len(k) + len(v); size > compactTxSize {
				if err := out.Commit(); err != nil {
					return err
				}
				release(src)
				if out, err = dst.Begin(true); err != nil {
					return err
				}
				size = 0
			}
			if len(path) == 0 {
				b, err := out.CreateBucket(k)
				if err != nil {
					return err
				}
				return b.SetSequence(seq)
			}
			to := out.Bucket(path[0])
			for _, name := range path[1:] {
				to = to.Bucket(name)
			}
			to.FillPercent = 1.0
			if v != nil {
				return to.Put(k, v)
			}
			b, err := to.CreateBucket(k)
			if err != nil {
				return err
			}
			return b.SetSequence(seq)
		})
		if err != nil {
			return err
		}
		return out.Commit()
	})
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
