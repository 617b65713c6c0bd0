package state

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Server is what runs learned about one FTP server that later runs
// should know from the start, whichever job meets it.
type Server struct {
	// NoPipelining: the server answered pipelined commands out of order
	// (pyftpdlib in active mode); send one command at a time.
	NoPipelining bool
	// NoREST: the server refused REST; fetch files in one stream from
	// byte 0, without segments, and restart interrupted ones.
	NoREST bool
	// Parallel is the number of connections that a run with -parallel
	// auto settled at: the next one starts there. Zero: not learned.
	Parallel int
	// ParallelLimit is the most connections the server allowed when it
	// last refused one more ("421 Too many users"): -parallel auto stays
	// at or below it. Zero: no refusal seen.
	ParallelLimit int
	// Profile is the rest of what runs learned of the server (profile.go).
	Profile
	// ClockOffset is how far the server's LIST times run ahead of UTC
	// (MDTM's) when read in the job's time zone: the server's zone,
	// learned by comparing LIST and MDTM for recent files, a multiple of
	// 15 minutes. Valid when ClockLearned is not zero.
	ClockOffset time.Duration
	// ClockLearned is when a run learned ClockOffset; zero: not learned.
	ClockLearned time.Time
	// ClockSamples is how many files agreed on ClockOffset.
	ClockSamples int
	// Updated is when a run last changed the record.
	Updated time.Time
}

// bucketServers is a top-level bucket: ServerKey -> encodeServer. Its
// name does not start with jobPrefix, so it is no job.
var bucketServers = []byte("servers")

// ServerKey returns the key of a server's record: its address
// ("host:port") and the user logged in as, since one address may serve
// several accounts with different set-ups behind a proxy.
func ServerKey(addr, user string) string { return addr + " " + user }

// Server returns the record of the server key (see ServerKey).
func (db *DB) Server(key string) (Server, bool, error) {
	var s Server
	var ok bool
	err := db.view("", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketServers)
		if b == nil {
			return nil
		}
		raw := b.Get([]byte(key))
		if raw == nil {
			return nil
		}
		var err error
		if s, err = decodeServer(raw); err != nil {
			return fmt.Errorf("server %q: %w", key, err)
		}
		ok = true
		return nil
	})
	return s, ok, err
}

// PutServer stores the record of the server key.
func (db *DB) PutServer(key string, s Server) error {
	if key == "" || len(key) > bolt.MaxKeySize {
		return db.wrap("", fmt.Errorf("bad server key of %d bytes", len(key)))
	}
	return db.update("", func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketServers)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), encodeServer(s))
	})
}

func encodeServer(s Server) []byte {
	e := newEncoder()
	var flags byte
	if s.NoPipelining {
		flags |= 1
	}
	if s.NoREST {
		flags |= 2
	}
	e.byte(flags)
	e.time(s.Updated)
	e.uvarint(uint64(s.Parallel))
	e.uvarint(uint64(s.ParallelLimit))
	encodeProfile(e, s.Profile)
	e.time(s.ClockLearned)
	e.varint(int64(s.ClockOffset / time.Second))
	e.uvarint(uint64(s.ClockSamples))
	e.uvarint(uint64(max(s.Profile.RTT, 0) / time.Microsecond))
	return e.buf
}

// width reads a number of connections, which is small.
func (d *decoder) width() uint64 {
	n := d.uvarint()
	if n > 1<<16 {
		d.fail("bad number of connections")
		return 0
	}
	return n
}

func decodeServer(v []byte) (Server, error) {
	d := newDecoder("server", v)
	flags := d.byte()
	s := Server{NoPipelining: flags&1 != 0, NoREST: flags&2 != 0, Updated: d.time()}
	if len(d.buf) > 0 { // records written before -parallel auto end here
		s.Parallel, s.ParallelLimit = int(d.width()), int(d.width())
	}
	if len(d.buf) > 0 { // records written before the profile end here
		s.Profile = decodeProfile(d)
	}
	if len(d.buf) > 0 { // records written before clock calibration end here
		s.ClockLearned = d.time()
		s.ClockOffset = d.clockOffset()
		s.ClockSamples = int(d.width())
	}
	if len(d.buf) > 0 { // records written before the round trip end here
		s.Profile.RTT = d.micros()
	}
	if err := d.done(); err != nil {
		return Server{}, err
	}
	return s, nil
}

// clockOffset reads a zone offset in seconds, which is within a day.
func (d *decoder) clockOffset() time.Duration {
	n := d.varint()
	if n < -86400 || n > 86400 {
		d.fail("bad clock offset")
		return 0
	}
	return time.Duration(n) * time.Second
}
