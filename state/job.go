package state

import (
	"bytes"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Job is the part of a [DB] that belongs to one job: its records
// ([Job.Get], [Job.Apply]), its interrupted downloads ([Job.PutPartial])
// and its run history ([Job.AddRun]). It is safe for concurrent use, as
// its DB is. The name is checked by every method, which returns an error
// for an empty or overlong one.
type Job struct {
	db   *DB
	name string
}

// Job returns the handle of the job name. Nothing is read or written
// until a method of the handle is called.
func (db *DB) Job(name string) *Job { return &Job{db: db, name: name} }

// Name returns the job's name.
func (j *Job) Name() string { return j.name }

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

// check returns an error, naming the file and job, unless the job's
// name and paths are valid.
func (j *Job) check(paths ...string) error {
	err := checkJob(j.name)
	for _, p := range paths {
		err = errors.Join(err, checkPath(p))
	}
	return j.wrap(err)
}

func (j *Job) view(fn func(*bolt.Tx) error) error   { return j.db.view(j.name, fn) }
func (j *Job) update(fn func(*bolt.Tx) error) error { return j.db.update(j.name, fn) }
func (j *Job) wrap(err error) error                 { return j.db.wrap(j.name, err) }

// bucket returns the job's sub-bucket name, or nil if there is none.
func (j *Job) bucket(tx *bolt.Tx, name []byte) *bolt.Bucket {
	b := tx.Bucket(jobKey(j.name))
	if b == nil {
		return nil
	}
	return b.Bucket(name)
}

// createBucket returns the job's sub-bucket name, creating what is
// missing.
func (j *Job) createBucket(tx *bolt.Tx, name []byte) (*bolt.Bucket, error) {
	b, err := tx.CreateBucketIfNotExists(jobKey(j.name))
	if err != nil {
		return nil, err
	}
	return b.CreateBucketIfNotExists(name)
}

// get reads and decodes the value at path in one of the job's buckets.
func get[T any](j *Job, path string, bucket []byte, what string, decode func([]byte) (T, error)) (T, bool, error) {
	var v T
	if err := j.check(path); err != nil {
		return v, false, err
	}
	var ok bool
	err := j.view(func(tx *bolt.Tx) error {
		b := j.bucket(tx, bucket)
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
	j := db.Job(job)
	if err := j.check(); err != nil {
		return err
	}
	return j.update(func(tx *bolt.Tx) error {
		err := tx.DeleteBucket(jobKey(job))
		if errors.Is(err, bolt.ErrBucketNotFound) {
			return nil
		}
		return err
	})
}
