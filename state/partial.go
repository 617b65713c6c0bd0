package state

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// PutPartial records an interrupted download of path, replacing any
// earlier one.
func (j *Job) PutPartial(path string, p Partial) error {
	if err := j.check(path); err != nil {
		return err
	}
	return j.update(func(tx *bolt.Tx) error {
		b, err := j.createBucket(tx, bucketPartial)
		if err != nil {
			return err
		}
		return b.Put(pathKey(path), encodePartial(p))
	})
}

// GetPartial returns the interrupted download of path.
func (j *Job) GetPartial(path string) (Partial, bool, error) {
	return get(j, path, bucketPartial, "partial", decodePartial)
}

// DeletePartial forgets the interrupted download of path, if any.
func (j *Job) DeletePartial(path string) error {
	if err := j.check(path); err != nil {
		return err
	}
	return j.update(func(tx *bolt.Tx) error {
		b := j.bucket(tx, bucketPartial)
		if b == nil {
			return nil
		}
		return b.Delete(pathKey(path))
	})
}

// Partials returns all interrupted downloads of the job, keyed by path.
func (j *Job) Partials() (map[string]Partial, error) {
	if err := j.check(); err != nil {
		return nil, err
	}
	m := make(map[string]Partial)
	err := j.view(func(tx *bolt.Tx) error {
		b := j.bucket(tx, bucketPartial)
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
