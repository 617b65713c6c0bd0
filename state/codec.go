package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// Values are a version byte followed by the fields in order: integers as
// encoding/binary varints, strings as a uvarint length and the bytes, times
// as a tag byte (timeZero, timeNano, timeSec) and their value. A value that
// is truncated, too long, or of another version is corrupt.
const codecVersion = 1

const (
	timeZero = 0 // the zero time.Time, no value follows
	timeNano = 1 // varint UnixNano
	timeSec  = 2 // varint Unix seconds, uvarint nanoseconds: outside UnixNano's range (years 1678-2262)
)

type encoder struct{ buf []byte }

func newEncoder() *encoder { return &encoder{buf: []byte{codecVersion}} }

func (e *encoder) byte(b byte)      { e.buf = append(e.buf, b) }
func (e *encoder) varint(v int64)   { e.buf = binary.AppendVarint(e.buf, v) }
func (e *encoder) uvarint(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }
func (e *encoder) string(s string)  { e.uvarint(uint64(len(s))); e.buf = append(e.buf, s...) }
func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.byte(timeZero)
		return
	}
	if n := t.UnixNano(); time.Unix(0, n).Equal(t) {
		e.byte(timeNano)
		e.varint(n)
		return
	}
	e.byte(timeSec)
	e.varint(t.Unix())
	e.uvarint(uint64(t.Nanosecond()))
}

// decoder reads what encoder wrote. The first problem is kept in err and
// every later read returns a zero value, so callers check err once.
type decoder struct {
	buf []byte
	err error
}

func newDecoder(what string, v []byte) *decoder {
	d := &decoder{buf: v}
	switch {
	case len(v) == 0:
		d.fail(what + ": empty value")
	case v[0] != codecVersion:
		d.fail(fmt.Sprintf("%s: unknown version %d", what, v[0]))
	default:
		d.buf = v[1:]
	}
	return d
}

func (d *decoder) fail(msg string) {
	if d.err == nil {
		d.err = fmt.Errorf("%s: %w", msg, ErrCorrupt)
	}
	d.buf = nil
}

func (d *decoder) byte() byte {
	if len(d.buf) == 0 {
		d.fail("truncated value")
		return 0
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return b
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.buf)) {
		d.fail("string longer than value")
		return ""
	}
	s := string(d.buf[:n]) // copies out of bbolt's memory
	d.buf = d.buf[n:]
	return s
}

func (d *decoder) time() time.Time {
	switch tag := d.byte(); tag {
	case timeZero:
		return time.Time{}
	case timeNano:
		n := d.varint()
		if d.err != nil {
			return time.Time{}
		}
		return time.Unix(0, n).UTC()
	case timeSec:
		sec, nsec := d.varint(), d.uvarint()
		if d.err != nil {
			return time.Time{}
		}
		if nsec >= 1e9 {
			d.fail("bad nanoseconds")
			return time.Time{}
		}
		return time.Unix(sec, int64(nsec)).UTC()
	default:
		d.fail(fmt.Sprintf("unknown time tag %d", tag))
		return time.Time{}
	}
}

// done reports the first error, or trailing bytes.
func (d *decoder) done() error {
	if d.err == nil && len(d.buf) > 0 {
		d.fail(fmt.Sprintf("%d trailing bytes", len(d.buf)))
	}
	return d.err
}

func encodeRecord(r Record) []byte {
	e := newEncoder()
	e.byte(byte(r.Kind))
	e.varint(r.Size)
	e.time(r.ModTime)
	e.byte(r.Precision)
	e.string(r.Target)
	e.time(r.Fetched)
	e.time(r.ListTime)
	e.byte(r.ListPrecision)
	// Optional at the end, so that a record without them reads as
	// before they existed (and old records still decode).
	if len(r.Digest) > 0 || r.Stale {
		var flags byte
		if r.Stale {
			flags |= recordStale
		}
		e.byte(flags)
		e.string(string(r.Digest))
	}
	return e.buf
}

// Flags of a record's optional tail.
const recordStale = 1 << 0

func decodeRecord(v []byte) (Record, error) {
	d := newDecoder("record", v)
	var r Record
	r.Kind = Kind(d.byte())
	r.Size = d.varint()
	r.ModTime = d.time()
	r.Precision = d.byte()
	r.Target = d.string()
	r.Fetched = d.time()
	r.ListTime = d.time()
	r.ListPrecision = d.byte()
	if len(d.buf) > 0 && d.err == nil {
		flags := d.byte()
		if flags&^recordStale != 0 {
			d.fail(fmt.Sprintf("unknown record flags %#x", flags))
		}
		r.Stale = flags&recordStale != 0
		if s := d.string(); s != "" {
			r.Digest = []byte(s)
		}
	}
	if err := d.done(); err != nil {
		return Record{}, err
	}
	return r, nil
}

func encodePartial(p Partial) []byte {
	e := newEncoder()
	e.varint(p.Size)
	e.time(p.ModTime)
	e.byte(p.Precision)
	e.string(p.Temp)
	e.time(p.Started)
	// Segments are optional at the end, so that a record of a download
	// in one stream is the same as before they existed.
	if len(p.Segments) > 0 {
		e.uvarint(uint64(len(p.Segments)))
		for _, sg := range p.Segments {
			e.varint(sg.Start)
			e.varint(sg.End)
			e.varint(sg.Done)
		}
	}
	return e.buf
}

func decodePartial(v []byte) (Partial, error) {
	d := newDecoder("partial", v)
	var p Partial
	p.Size = d.varint()
	p.ModTime = d.time()
	p.Precision = d.byte()
	p.Temp = d.string()
	p.Started = d.time()
	if len(d.buf) > 0 && d.err == nil {
		n := d.uvarint()
		if n == 0 || n > uint64(len(d.buf)) { // none is not written; each takes 3 bytes or more
			d.fail(fmt.Sprintf("%d segments in %d bytes", n, len(d.buf)))
			n = 0
		}
		for range n {
			sg := Segment{Start: d.varint(), End: d.varint(), Done: d.varint()}
			if sg.Start < 0 || sg.End < sg.Start || sg.Done < 0 || sg.Done > sg.End-sg.Start {
				d.fail(fmt.Sprintf("bad segment %+v", sg))
			}
			p.Segments = append(p.Segments, sg)
		}
	}
	if err := d.done(); err != nil {
		return Partial{}, err
	}
	return p, nil
}

// encodeRun leaves out r.ID: the key holds it.
func encodeRun(r Run) []byte {
	e := newEncoder()
	e.time(r.Start)
	e.time(r.End)
	e.string(r.Result)
	for _, n := range [...]int64{r.Listed, r.Fetched, r.Adopted, r.Deleted, r.Skipped, r.Failed, r.Bytes} {
		e.varint(n)
	}
	e.uvarint(uint64(len(r.Errors)))
	for _, s := range r.Errors {
		e.string(s)
	}
	return e.buf
}

func decodeRun(id uint64, v []byte) (Run, error) {
	d := newDecoder("run", v)
	r := Run{ID: id}
	r.Start = d.time()
	r.End = d.time()
	r.Result = d.string()
	for _, p := range [...]*int64{&r.Listed, &r.Fetched, &r.Adopted, &r.Deleted, &r.Skipped, &r.Failed, &r.Bytes} {
		*p = d.varint()
	}
	n := d.uvarint()
	if n > uint64(len(d.buf)) { // each string takes at least its length byte
		d.fail("error count longer than value")
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		r.Errors = append(r.Errors, d.string())
	}
	if err := d.done(); err != nil {
		return Run{}, err
	}
	return r, nil
}

// runKey is the key of run id: big-endian, so keys sort by id.
func runKey(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

// trimRun applies MaxRunErrors and MaxRunErrorLen to a copy of r.
func trimRun(r Run) Run {
	errs := r.Errors
	if len(errs) > MaxRunErrors {
		errs = errs[:MaxRunErrors]
	}
	r.Errors = nil
	for _, s := range errs {
		r.Errors = append(r.Errors, truncate(s, MaxRunErrorLen))
	}
	return r
}

// truncate cuts s to at most n bytes, marking the cut with "..." and not
// splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "..."
	cut := n - len(mark)
	for i := 0; i < utf8.UTFMax && cut > 0 && !utf8.RuneStart(s[cut]); i++ {
		cut--
	}
	return s[:cut] + mark
}

// Keys of the files and partial buckets are dir + "\x00" + name, so that
// the direct children of a directory are contiguous and Children is a
// range scan. The root, path "", has the key "\x00" (empty dir, empty
// name). Since '\x00' sorts before every byte of a name, a directory's key
// sorts before the keys of everything inside it.
var errInvalidPath = errors.New("invalid path")

func checkPath(p string) error {
	switch {
	case strings.HasPrefix(p, "/"), strings.HasSuffix(p, "/"), strings.Contains(p, "//"):
		return fmt.Errorf("%w %q: want '/'-separated names, no leading, trailing or double slash", errInvalidPath, p)
	case strings.IndexByte(p, 0) >= 0:
		return fmt.Errorf("%w %q: contains NUL", errInvalidPath, p)
	case len(p)+1 > bolt.MaxKeySize:
		return fmt.Errorf("%w: %d bytes long, limit is %d", errInvalidPath, len(p), bolt.MaxKeySize-1)
	}
	return nil
}

// pathKey returns the key of p, which must have passed checkPath.
func pathKey(p string) []byte {
	dir, name := "", p
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		dir, name = p[:i], p[i+1:]
	}
	k := make([]byte, 0, len(p)+1)
	k = append(k, dir...)
	k = append(k, 0)
	return append(k, name...)
}

// dirPrefix returns the prefix shared by the keys of dir's direct children.
func dirPrefix(dir string) []byte {
	return append([]byte(dir), 0)
}

// keyPath is the inverse of pathKey.
func keyPath(k []byte) (string, error) {
	i := bytes.IndexByte(k, 0)
	if i < 0 {
		return "", fmt.Errorf("key %q: no separator: %w", k, ErrCorrupt)
	}
	dir, name := k[:i], k[i+1:]
	if bytes.IndexByte(name, 0) >= 0 || bytes.IndexByte(name, '/') >= 0 || (len(name) == 0 && len(dir) > 0) {
		return "", fmt.Errorf("key %q: bad name: %w", k, ErrCorrupt)
	}
	if len(dir) == 0 {
		return string(name), nil
	}
	return string(dir) + "/" + string(name), nil
}
