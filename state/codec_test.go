package state

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var (
	t0     = time.Date(2024, time.March, 10, 23, 0, 0, 123456789, time.UTC)
	tEpoch = time.Unix(0, 0).UTC() // must not decode as the zero time
	tOld   = time.Date(1000, time.January, 1, 0, 0, 0, 7, time.UTC)
	tLate  = time.Date(9999, time.December, 31, 23, 59, 59, 999999999, time.UTC)
)

func TestRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		r    Record
	}{
		{"zero", Record{}},
		{"file", Record{Kind: KindFile, Size: 12345, ModTime: t0, Precision: 3, Fetched: t0.Add(time.Hour)}},
		{"dir", Record{Kind: KindDir, ModTime: t0.Truncate(time.Minute), Precision: 2}},
		{"symlink", Record{Kind: KindSymlink, Target: "../other dir/ü\xe9", Precision: 1}},
		{"epoch is not zero", Record{ModTime: tEpoch, Fetched: tEpoch}},
		{"outside UnixNano", Record{ModTime: tOld, Fetched: tLate}},
		{"extremes", Record{Kind: 255, Size: math.MinInt64, Precision: 255, Target: strings.Repeat("x", 70000)}},
		{"max size", Record{Size: math.MaxInt64}},
		{"digest", Record{Size: 4, ModTime: t0, Precision: 3, Digest: bytes.Repeat([]byte{0xab}, 32)}},
		{"stale", Record{Size: 4, Stale: true}},
		{"stale with digest", Record{Size: 4, Stale: true, Digest: []byte{1, 2, 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := encodeRecord(tt.r)
			if v[0] != codecVersion {
				t.Fatalf("version byte %d", v[0])
			}
			got, err := decodeRecord(v)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.r) {
				t.Errorf("got %+v, want %+v", got, tt.r)
			}
		})
	}
}

func TestPartialRoundTrip(t *testing.T) {
	tests := []Partial{
		{},
		{Size: 1 << 40, ModTime: t0, Precision: 3, Temp: ".ftpmirror-tmp/a b/ü.part", Started: t0},
		{ModTime: tEpoch, Started: tOld, Temp: "\xff\xfe"},
		{Size: 40 << 20, ModTime: t0, Temp: "x", Started: t0, Segments: []Segment{
			{Start: 0, End: 10 << 20, Done: 10 << 20}, {Start: 10 << 20, End: 20 << 20, Done: 12345}, {Start: 20 << 20, End: 40 << 20}}},
	}
	for _, p := range tests {
		got, err := decodePartial(encodePartial(p))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Errorf("got %+v, want %+v", got, p)
		}
	}
}

func TestRunRoundTrip(t *testing.T) {
	tests := []Run{
		{ID: 1},
		{
			ID: 7, Start: t0, End: t0.Add(time.Minute), Result: "partial",
			Listed: 1, Fetched: 2, Adopted: 3, Deleted: 4, Skipped: 5, Failed: -6, Bytes: math.MaxInt64,
			Errors: []string{"retr a: 550 no", "", "ü\xe9"},
		},
	}
	for _, r := range tests {
		got, err := decodeRun(r.ID, encodeRun(r))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("got %+v, want %+v", got, r)
		}
	}
}

// Times keep their instant, not their zone or monotonic reading.
func TestTimeZones(t *testing.T) {
	for _, in := range []time.Time{
		time.Now(),
		t0.In(time.FixedZone("CET", 3600)),
		time.Date(1, time.January, 1, 0, 0, 0, 1, time.UTC), // the zero time plus 1ns
	} {
		got, err := decodeRecord(encodeRecord(Record{ModTime: in}))
		if err != nil {
			t.Fatal(err)
		}
		if !got.ModTime.Equal(in) || got.ModTime.Location() != time.UTC {
			t.Errorf("%v: got %v", in, got.ModTime)
		}
	}
}

// Every prefix of a value, and every wrong version, is ErrCorrupt.
func TestDecodeDamaged(t *testing.T) {
	values := map[string][]byte{
		"record":  encodeRecord(Record{Kind: KindSymlink, Size: 300, ModTime: tOld, Target: "abc", Fetched: t0}),
		"partial": encodePartial(Partial{Size: 300, ModTime: t0, Temp: "x", Started: tLate}),
		"run":     encodeRun(Run{Start: t0, Result: "ok", Bytes: 1 << 50, Errors: []string{"a", "bc"}}),
	}
	decode := map[string]func([]byte) error{
		"record":  func(v []byte) error { _, err := decodeRecord(v); return err },
		"partial": func(v []byte) error { _, err := decodePartial(v); return err },
		"run":     func(v []byte) error { _, err := decodeRun(1, v); return err },
	}
	for name, v := range values {
		dec := decode[name]
		for i := range len(v) {
			if err := dec(v[:i]); !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s truncated to %d bytes: err = %v", name, i, err)
			}
		}
		if err := dec(append(bytes.Clone(v), 0)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s with a trailing byte: err = %v", name, err)
		}
		for _, ver := range []byte{0, 2, 255} {
			w := bytes.Clone(v)
			w[0] = ver
			err := dec(w)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "version") {
				t.Errorf("%s version %d: err = %v", name, ver, err)
			}
		}
	}
	// Lengths and counts larger than the value.
	for _, v := range [][]byte{
		{1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},             // record: huge target length
		{1, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80}, // record: unterminated uvarint
		{1, 0, 2, 0, 0xff, 0x01},                                  // record: bad nanoseconds
		{1, 0, 0, 9},                                              // record: unknown time tag
	} {
		if _, err := decodeRecord(v); !errors.Is(err, ErrCorrupt) {
			t.Errorf("record %x: err = %v", v, err)
		}
	}
	run := encodeRun(Run{})
	run[len(run)-1] = 100 // error count
	if _, err := decodeRun(1, run); !errors.Is(err, ErrCorrupt) {
		t.Errorf("run with error count 100: err = %v", err)
	}
}

// A record written before digests existed decodes, without one; a
// record with a digest ends with its flags and digest.
func TestRecordDigestCompatible(t *testing.T) {
	// Version 1, file, size 4, ModTime zero, precision 3, no target,
	// Fetched and ListTime zero, list precision 2: as written before.
	old := []byte{1, 0, 8, 0, 3, 0, 0, 0, 2}
	r, err := decodeRecord(old)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Record{Size: 4, Precision: 3, ListPrecision: 2}); !reflect.DeepEqual(r, want) {
		t.Errorf("old record: %+v, want %+v", r, want)
	}
	if v := encodeRecord(r); !bytes.Equal(v, old) {
		t.Errorf("a record without digest encodes as %x, want %x as before", v, old)
	}
	withDigest := append(bytes.Clone(old), 0, 2, 0xca, 0xfe)
	if r, err := decodeRecord(withDigest); err != nil || !bytes.Equal(r.Digest, []byte{0xca, 0xfe}) || r.Stale {
		t.Errorf("with digest: %+v, %v", r, err)
	}
	for _, bad := range [][]byte{
		append(bytes.Clone(old), 2, 0),    // unknown flag
		append(bytes.Clone(old), 0, 3, 1), // digest longer than the value
		append(bytes.Clone(old), 1),       // flags without a digest
	} {
		if _, err := decodeRecord(bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%x: err = %v, want ErrCorrupt", bad, err)
		}
	}
}

// A partial whose segments make no sense is corrupt.
func TestPartialBadSegments(t *testing.T) {
	for _, sg := range []Segment{{Start: -1, End: 5}, {Start: 5, End: 4}, {Start: 0, End: 10, Done: 11}, {Start: 0, End: 10, Done: -1}} {
		if _, err := decodePartial(encodePartial(Partial{Size: 10, Segments: []Segment{sg}})); !errors.Is(err, ErrCorrupt) {
			t.Errorf("segment %+v: err = %v", sg, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(encodeRecord(Record{Kind: KindSymlink, Size: 300, ModTime: tOld, Target: "abc", Fetched: t0}))
	f.Add(encodePartial(Partial{Size: 300, ModTime: t0, Temp: "x", Started: tLate}))
	f.Add(encodePartial(Partial{Size: 300, Temp: "x", Segments: []Segment{{0, 100, 100}, {100, 300, 7}}}))
	f.Add(encodeRun(Run{Start: t0, Result: "ok", Errors: []string{"a", "bc"}}))
	f.Fuzz(func(t *testing.T, v []byte) {
		if r, err := decodeRecord(v); err == nil {
			// A value may be written in more than one way (non-minimal
			// varints), but its decoding must survive a round trip.
			if r2, err := decodeRecord(encodeRecord(r)); err != nil || !reflect.DeepEqual(r, r2) {
				t.Errorf("record %x: %+v re-decodes as %+v, %v", v, r, r2, err)
			}
		} else if !errors.Is(err, ErrCorrupt) {
			t.Errorf("record %x: err = %v", v, err)
		}
		if _, err := decodePartial(v); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Errorf("partial %x: err = %v", v, err)
		}
		if _, err := decodeRun(1, v); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Errorf("run %x: err = %v", v, err)
		}
		if p, err := keyPath(v); err == nil {
			if checkPath(p) == nil && !bytes.Equal(pathKey(p), v) {
				t.Errorf("key %q -> path %q -> key %q", v, p, pathKey(p))
			}
		} else if !errors.Is(err, ErrCorrupt) {
			t.Errorf("key %q: err = %v", v, err)
		}
	})
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"abcdefghijk", 10, "abcdefg..."},
		{"abcdef€€", 10, "abcdef..."}, // does not split the euro sign
		{"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 10, "\xff\xff\xff\xff\xff\xff\xff..."},
	}
	for _, tt := range tests {
		got := truncate(tt.in, tt.n)
		if got != tt.want || len(got) > tt.n {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
		if utf8.ValidString(tt.in) && !utf8.ValidString(got) {
			t.Errorf("truncate(%q, %d) = %q: invalid UTF-8", tt.in, tt.n, got)
		}
	}
}

func TestPathKey(t *testing.T) {
	paths := []string{"", "a", "a/b", "a/b/c", "ab", "a b", "a-", "a-/x", "ü/\xe9", `back\slash`, "a/.."}
	var keys [][]byte
	for _, p := range paths {
		if err := checkPath(p); err != nil {
			t.Fatal(err)
		}
		k := pathKey(p)
		got, err := keyPath(k)
		if err != nil || got != p {
			t.Errorf("keyPath(pathKey(%q)) = %q, %v", p, got, err)
		}
		keys = append(keys, k)
	}
	// In key order, each directory comes before what is inside it.
	sort.Slice(keys, func(i, j int) bool { return bytes.Compare(keys[i], keys[j]) < 0 })
	seen := map[string]bool{}
	for _, k := range keys {
		p, _ := keyPath(k)
		for dir := p; strings.Contains(dir, "/"); {
			dir = dir[:strings.LastIndexByte(dir, '/')]
			if slices.Contains(paths, dir) && !seen[dir] {
				t.Errorf("%q comes before its directory %q", p, dir)
			}
		}
		seen[p] = true
	}

	for _, p := range []string{"/a", "a/", "a//b", "/", "a\x00b", strings.Repeat("x", 40000)} {
		if err := checkPath(p); !errors.Is(err, errInvalidPath) {
			t.Errorf("checkPath(%q) = %v", p, err)
		}
	}
	for _, k := range []string{"abc", "a\x00", "\x00a\x00b", "a\x00b\x00c", "a\x00b/c"} {
		if _, err := keyPath([]byte(k)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("keyPath(%q): err = %v", k, err)
		}
	}
}
