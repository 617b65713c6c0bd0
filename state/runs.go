package state

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// AddRun appends r to the job's history and returns the ID it was given;
// r.ID is ignored. Only the last MaxRuns runs are kept, and of each run the
// first MaxRunErrors errors, cut to MaxRunErrorLen bytes.
func (j *Job) AddRun(r Run) (uint64, error) {
	if err := j.check(); err != nil {
		return 0, err
	}
	r = trimRun(r)
	var id uint64
	err := j.update(func(tx *bolt.Tx) error {
		b, err := j.createBucket(tx, bucketRuns)
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

// Runs returns up to n runs of the job, newest first; n <= 0 means all kept.
func (j *Job) Runs(n int) ([]Run, error) {
	if err := j.check(); err != nil {
		return nil, err
	}
	var runs []Run
	err := j.view(func(tx *bolt.Tx) error {
		b := j.bucket(tx, bucketRuns)
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
