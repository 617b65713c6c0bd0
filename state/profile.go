package state

import (
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Profile is what runs learned of how to talk to a server, beyond
// pipelining, REST and width (Server): the next run's connections start
// from it instead of trying again, one by one, what is known to fail.
type Profile struct {
	// Listing is the listing command that works: "MLSD", "STAT",
	// "LIST -a", "LIST" or "NLST" (ftpcore.Config.Listing). Empty: not
	// learned.
	Listing string
	// NoEPSV: the server refused EPSV; connections ask PASV straight
	// away.
	NoEPSV bool
	// PASVElsewhere: a PASV reply named another address than the
	// server's (a server behind NAT); data connections go to the control
	// connection's address all the same.
	PASVElsewhere bool
	// Active is whether the server's connect-back in active mode works,
	// as last tested (ActiveTested), and PassiveCost and ActiveCost what
	// one listing took in each mode then.
	Active                  ActiveResult
	PassiveCost, ActiveCost time.Duration
	ActiveTested            time.Time
	// RTT is the control connection's round trip (the least of a few
	// NOOPs) when active mode was tested: active mode saves one round
	// trip per file, worth nothing on a LAN. Zero: not measured
	// (records older than it).
	RTT time.Duration
	// Checksum is the checksum command that runs send with RETR
	// ("XSHA256 SHA-256"); empty: none chosen.
	Checksum string
	// Features are the server's FEAT lines as last seen ("MLST
	// type*;size*;"), sorted, at most MaxFeatures of at most
	// maxFeatureLen bytes each.
	Features []string
	// Pipelined: a data transfer whose commands went out in one write
	// was answered in order; connections pipeline from their first
	// transfer (ftpcore.Config.PipelineFirst).
	Pipelined bool
	// Runs counts the runs that started from Listing and NoEPSV since
	// they were last learned afresh.
	Runs int
}

// ActiveResult is what is known of active mode's connect-back.
type ActiveResult uint8

const (
	ActiveUnknown ActiveResult = iota // never tested
	ActiveWorks                       // the server's data connection came
	ActiveFails                       // it never came (a firewall or NAT)
)

func (a ActiveResult) String() string {
	switch a {
	case ActiveWorks:
		return "works"
	case ActiveFails:
		return "fails"
	}
	return "unknown"
}

// MaxFeatures bounds the FEAT lines kept; maxFeatureLen, each one.
const (
	MaxFeatures   = 64
	maxFeatureLen = 128
)

// BoundFeatures returns lines cut to what a Profile keeps.
func BoundFeatures(lines []string) []string {
	out := make([]string, 0, min(len(lines), MaxFeatures))
	for _, l := range lines[:min(len(lines), MaxFeatures)] {
		if len(l) > maxFeatureLen {
			l = l[:maxFeatureLen]
		}
		out = append(out, l)
	}
	return out
}

func encodeProfile(e *encoder, p Profile) {
	var flags byte
	if p.NoEPSV {
		flags |= 1
	}
	if p.PASVElsewhere {
		flags |= 2
	}
	if p.Pipelined {
		flags |= 4
	}
	e.byte(flags)
	e.string(p.Listing)
	e.byte(byte(p.Active))
	e.uvarint(uint64(max(p.PassiveCost, 0) / time.Microsecond))
	e.uvarint(uint64(max(p.ActiveCost, 0) / time.Microsecond))
	e.time(p.ActiveTested)
	e.string(p.Checksum)
	e.uvarint(uint64(p.Runs))
	f := BoundFeatures(p.Features)
	e.uvarint(uint64(len(f)))
	for _, l := range f {
		e.string(l)
	}
}

func decodeProfile(d *decoder) Profile {
	flags := d.byte()
	p := Profile{NoEPSV: flags&1 != 0, PASVElsewhere: flags&2 != 0, Pipelined: flags&4 != 0, Listing: d.string(), Active: ActiveResult(d.byte())}
	if p.Active > ActiveFails {
		d.fail("bad active result")
	}
	p.PassiveCost = d.micros()
	p.ActiveCost = d.micros()
	p.ActiveTested = d.time()
	p.Checksum = d.string()
	p.Runs = int(min(d.uvarint(), 1<<30))
	n := d.uvarint()
	if n > MaxFeatures {
		d.fail("too many FEAT lines")
		return p
	}
	for range n {
		p.Features = append(p.Features, d.string())
	}
	return p
}

// micros reads a duration stored in microseconds.
func (d *decoder) micros() time.Duration {
	v := d.uvarint()
	if v > 1<<40 {
		d.fail("bad duration")
		return 0
	}
	return time.Duration(v) * time.Microsecond
}

// Servers returns the records of every server, by key (ServerKey).
func (db *DB) Servers() (map[string]Server, error) {
	m := map[string]Server{}
	err := db.view("", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketServers)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			s, err := decodeServer(v)
			if err != nil {
				return fmt.Errorf("server %q: %w", k, err)
			}
			m[string(k)] = s
			return nil
		})
	})
	return m, err
}

// Describe says in plain words what the record holds, one line each.
func (s Server) Describe() []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	switch s.Listing {
	case "":
		add("listing: not learned yet")
	case "STAT":
		add("listing: STAT -a over the control connection (no data connection)")
	default:
		add("listing: %s", s.Listing)
	}
	if s.NoEPSV {
		add("passive mode: EPSV refused, PASV used")
	} else {
		add("passive mode: EPSV")
	}
	if s.PASVElsewhere {
		add("PASV names another address than the server's (NAT): data connections go to the server's address")
	}
	switch s.Active {
	case ActiveWorks:
		add("active mode: works (tested %s; a listing took %v passive, %v active; round trip %v)", s.ActiveTested.Format(time.DateOnly), s.PassiveCost, s.ActiveCost, s.RTT)
	case ActiveFails:
		add("active mode: fails: a listing in active mode did not work (tested %s)", s.ActiveTested.Format(time.DateOnly))
	default:
		add("active mode: not tested")
	}
	switch {
	case s.NoPipelining:
		add("pipelining: off (replies came out of order)")
	case s.Pipelined:
		add("pipelining: on, from each connection's first transfer (answered in order before)")
	default:
		add("pipelining: on, from each connection's second transfer")
	}
	add("REST (resume, segments): %s", yesNo(!s.NoREST, "works", "refused"))
	if s.Parallel > 0 {
		add("connections: -parallel auto settled at %d", s.Parallel)
	}
	if s.ParallelLimit > 0 {
		add("connections: the server refused more than %d", s.ParallelLimit)
	}
	add("checksum: %s", yesNo(s.Checksum != "", s.Checksum, "none"))
	if len(s.Features) > 0 {
		add("FEAT: %s", strings.Join(s.Features, ", "))
	}
	if !s.Updated.IsZero() {
		add("updated: %s", s.Updated.Format(time.RFC3339))
	}
	return out
}

func yesNo(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}
