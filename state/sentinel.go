package state

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// Sentinel is the remote sentinel file (a trace file the upstream
// rewrites at the end of each of its updates) as the last complete run
// of a job saw it when it started: while it is unchanged, the mirror is
// still current and a run may end after listing it.
type Sentinel struct {
	Path      string // relative to the mirror root
	Size      int64
	ModTime   time.Time
	Precision uint8 // as Record.Precision
	// Settings identifies the settings that decide what the mirror
	// holds (root, filters, ...), as mirror computes it: a run with
	// other settings does not trust the record.
	Settings string
	Saved    time.Time // when the run that saw it ended
}

var (
	bucketMeta  = []byte("meta")     // a job's single values
	keySentinel = []byte("sentinel") // in bucketMeta -> encodeSentinel
)

// Sentinel returns the job's sentinel record, if it has one.
func (j *Job) Sentinel() (Sentinel, bool, error) {
	var s Sentinel
	var ok bool
	if err := j.check(); err != nil {
		return s, false, err
	}
	err := j.view(func(tx *bolt.Tx) error {
		b := j.bucket(tx, bucketMeta)
		if b == nil {
			return nil
		}
		raw := b.Get(keySentinel)
		if raw == nil {
			return nil
		}
		var err error
		s, err = decodeSentinel(raw)
		ok = err == nil
		return err
	})
	return s, ok, err
}

// PutSentinel stores the job's sentinel record, replacing any earlier
// one.
func (j *Job) PutSentinel(s Sentinel) error {
	if err := j.check(s.Path); err != nil {
		return err
	}
	return j.update(func(tx *bolt.Tx) error {
		b, err := j.createBucket(tx, bucketMeta)
		if err != nil {
			return err
		}
		return b.Put(keySentinel, encodeSentinel(s))
	})
}

// DeleteSentinel forgets the job's sentinel record, if any.
func (j *Job) DeleteSentinel() error {
	if err := j.check(); err != nil {
		return err
	}
	return j.update(func(tx *bolt.Tx) error {
		b := j.bucket(tx, bucketMeta)
		if b == nil {
			return nil
		}
		return b.Delete(keySentinel)
	})
}

func encodeSentinel(s Sentinel) []byte {
	e := newEncoder()
	e.string(s.Path)
	e.varint(s.Size)
	e.time(s.ModTime)
	e.byte(s.Precision)
	e.string(s.Settings)
	e.time(s.Saved)
	return e.buf
}

func decodeSentinel(v []byte) (Sentinel, error) {
	d := newDecoder("sentinel", v)
	s := Sentinel{Path: d.string(), Size: d.varint(), ModTime: d.time(), Precision: d.byte(), Settings: d.string(), Saved: d.time()}
	if err := d.done(); err != nil {
		return Sentinel{}, err
	}
	return s, nil
}
