package state

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Get returns the record at path.
func (j *Job) Get(path string) (Record, bool, error) {
	return get(j, path, bucketFiles, "path", decodeRecord)
}

// Children returns the records of the direct children of dir, keyed by
// name. It costs O(children), whatever lies deeper. A dir without
// children, or without a record, gives an empty map.
func (j *Job) Children(dir string) (map[string]Record, error) {
	if err := j.check(dir); err != nil {
		return nil, err
	}
	m := make(map[string]Record)
	n := 0
	err := j.view(func(tx *bolt.Tx) error {
		b := j.bucket(tx, bucketFiles)
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
			n += len(k) + len(v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	j.db.touched(2 * n) // pages are at least half full
	return m, nil
}

// walkChunk is how many records Walk reads per transaction.
const walkChunk = 1024

// Walk calls fn for every record of the job, each directory before what is
// inside it (but not in lexical order of paths). It stops at the first
// error of fn and returns it unchanged.
//
// Walk reads in chunks and holds no transaction while fn runs, so fn may
// call any method of the DB, writes included; records changed during the
// walk may or may not be seen.
func (j *Job) Walk(fn func(path string, r Record) error) error {
	if err := j.check(); err != nil {
		return err
	}
	type entry struct {
		path string
		rec  Record
	}
	var after []byte // last key seen; nil before the first chunk
	for {
		var chunk []entry
		var last []byte
		n := 0
		err := j.view(func(tx *bolt.Tx) error {
			b := j.bucket(tx, bucketFiles)
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
				n += len(k) + len(v)
			}
			if last != nil {
				last = bytes.Clone(last)
			}
			return nil
		})
		if err != nil {
			return err
		}
		j.db.touched(2 * n)
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

// Count returns the number of records of the job.
func (j *Job) Count() (int, error) {
	if err := j.check(); err != nil {
		return 0, err
	}
	var n int
	err := j.view(func(tx *bolt.Tx) error {
		if b := j.bucket(tx, bucketFiles); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n, err
}

// Apply writes changes in one transaction: all of them or, on error, none.
// A deleted directory's record goes, but not the records inside it.
func (j *Job) Apply(changes []Change) error {
	if err := j.check(); err != nil {
		return err
	}
	for _, c := range changes {
		if err := checkPath(c.Path); err != nil {
			return j.wrap(err)
		}
	}
	if len(changes) == 0 {
		return nil
	}
	err := j.update(func(tx *bolt.Tx) error {
		b, err := j.createBucket(tx, bucketFiles)
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
	if err == nil {
		j.db.changes.Add(int64(len(changes)))
		j.db.touched(len(changes) * j.db.bolt.Info().PageSize) // each may have mapped a page
	}
	return err
}
