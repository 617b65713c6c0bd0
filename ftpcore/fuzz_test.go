package ftpcore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Besides the f.Add seeds, each fuzzer reads the corpus committed in
// testdata/fuzz/<FuzzName>/; anything a fuzzer ever found stays there.

// checkListResult holds for every listing parser: an entry is either
// valid or absent, and errors are of the three documented kinds.
func checkListResult(t *testing.T, line string, e Entry, err error) {
	t.Helper()
	if err != nil {
		if e != (Entry{}) {
			t.Errorf("%q: entry %v returned with error %v", line, e, err)
		}
		if !errors.Is(err, errSkipLine) && !errors.Is(err, errUnsupportedListLine) && !errors.Is(err, ErrProtocol) {
			t.Errorf("%q: error %v is none of errSkipLine, errUnsupportedListLine, ErrProtocol", line, err)
		}
		return
	}
	if !validName(e.Name) {
		t.Errorf("%q: invalid name %q", line, e.Name)
	}
	if !strings.Contains(line, e.Name) {
		t.Errorf("%q: name %q is not in the line", line, e.Name)
	}
	if strings.ContainsAny(e.Target, "\x00\r\n") {
		t.Errorf("%q: bad target %q", line, e.Target)
	}
	if e.Size < -1 {
		t.Errorf("%q: size %d", line, e.Size)
	}
	if e.Type > TypeOther || e.Precision > TimeExact {
		t.Errorf("%q: type %d, precision %d out of range", line, e.Type, e.Precision)
	}
	if (e.Precision == TimeUnknown) != e.Time.IsZero() {
		t.Errorf("%q: time %v with precision %v", line, e.Time, e.Precision)
	}
}

// addListingSeeds adds every line of the golden inputs whose name ends
// in suffix.
func addListingSeeds(f *testing.F, suffix string) {
	files, _ := filepath.Glob(filepath.Join("testdata", "listings", "*"+suffix))
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for line := range strings.Lines(string(raw)) {
			f.Add(strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"))
		}
	}
}

func FuzzParseListLine(f *testing.F) {
	for _, tt := range listLineTests {
		f.Add(tt.line)
	}
	for _, tt := range listLineErrorTests {
		f.Add(tt.line)
	}
	addListingSeeds(f, "-list.txt")
	zone := time.FixedZone("UTC+14", 14*3600)
	f.Fuzz(func(t *testing.T, line string) {
		e, err := parseListLine(line, parseNow, time.UTC)
		checkListResult(t, line, e, err)
		e, err = parseListLine(line, parseNow, zone)
		checkListResult(t, line, e, err)
		if err == nil && (e.Precision == TimeDay || e.Precision == TimeMinute) && e.Time.Location() != zone {
			t.Errorf("%q: time %v not in the server's zone", line, e.Time)
		}
	})
}

func FuzzParseMLSDLine(f *testing.F) {
	for _, tt := range mlsdLineTests {
		f.Add(tt.line)
	}
	for _, tt := range mlsdLineErrorTests {
		f.Add(tt.line)
	}
	addListingSeeds(f, "-mlsd.txt")
	f.Fuzz(func(t *testing.T, line string) {
		e, err := parseMLSDLine(line)
		checkListResult(t, line, e, err)
		if err == nil && e.Precision != TimeUnknown && (e.Precision != TimeExact || e.Time.Location() != time.UTC) {
			t.Errorf("%q: time %v (%v), want exact UTC", line, e.Time, e.Precision)
		}
	})
}

func FuzzParsePASV(f *testing.F) {
	for _, s := range []string{
		"Entering Passive Mode (192,168,1,2,19,137).",
		"Entering Passive Mode (127,0,0,1,68,251)",
		"Entering Passive Mode 192,168,1,2,19,137",
		"Entering Passive Mode (256,1,1,1,1,1)",
		"Entering Passive Mode (1,2,3,4,0,0)",
		"Entering Passive Mode (1,2,3,4,5,6789)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		ip, port, err := parsePASV(msg)
		if err != nil {
			if !errors.Is(err, ErrProtocol) || ip != nil || port != 0 {
				t.Errorf("%q: %v, %d, %v", msg, ip, port, err)
			}
			return
		}
		if ip.To4() == nil || port < 1 || port > 65535 {
			t.Errorf("%q: %v, %d", msg, ip, port)
		}
	})
}

func FuzzParseEPSV(f *testing.F) {
	for _, s := range []string{
		"Entering Extended Passive Mode (|||6446|)",
		"Extended Passive mode OK (|||18761|)",
		"Entering Extended Passive Mode (!!!6446!)",
		"Entering Extended Passive Mode (|1|192.168.1.2|6446|)",
		"Entering Extended Passive Mode (|||65536|)",
		"Entering Extended Passive Mode (1116446)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		port, err := parseEPSV(msg)
		if err != nil {
			if !errors.Is(err, ErrProtocol) || port != 0 {
				t.Errorf("%q: %d, %v", msg, port, err)
			}
			return
		}
		if port < 1 || port > 65535 {
			t.Errorf("%q: port %d", msg, port)
		}
	})
}

func FuzzParsePWD(f *testing.F) {
	for _, s := range []string{
		`"/" is the current directory`,
		`"/" is your current location`,
		`"/some ""quoted"" dir" is current directory`,
		`"" is empty`,
		`"/unterminated`,
		"/home is current directory",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		dir, err := parsePWD(msg)
		if err != nil {
			if !errors.Is(err, ErrProtocol) || dir != "" {
				t.Errorf("%q: %q, %v", msg, dir, err)
			}
			return
		}
		if dir == "" || strings.ContainsAny(dir, "\x00\r\n") {
			t.Errorf("%q: bad directory %q", msg, dir)
		}
		// Quoting the result the way a server does gives it back.
		again, err := parsePWD(`"` + strings.ReplaceAll(dir, `"`, `""`) + `" is current directory`)
		if err != nil || again != dir {
			t.Errorf("%q: %q does not survive quoting: %q, %v", msg, dir, again, err)
		}
	})
}

func FuzzParseMDTM(f *testing.F) {
	for _, s := range []string{
		"20261125154012",
		" 20200101000000 ",
		"20261125154012.123456789",
		"20161231235960",
		"191001011112000",
		"20260230000000",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := parseMDTM(s)
		if err != nil {
			if !errors.Is(err, ErrProtocol) || !tm.IsZero() {
				t.Errorf("%q: %v, %v", s, tm, err)
			}
			return
		}
		if tm.Location() != time.UTC || tm.Year() < 1000 || tm.Year() > 9999 {
			t.Errorf("%q: %v", s, tm)
		}
		// Formatting the result and parsing it again gives it back.
		again, err := parseMDTM(tm.Format("20060102150405.000000000"))
		if err != nil || !again.Equal(tm) {
			t.Errorf("%q: %v does not survive formatting: %v, %v", s, tm, again, err)
		}
	})
}

// FuzzListing feeds whole listings through a listing, as Conn.list
// does: a VMS name alone on its line is joined with the next one, and
// the newest VMS version of a name is kept. Every entry holds to the
// parsers' promises and names are not repeated by the VMS pass.
func FuzzListing(f *testing.F) {
	for _, name := range []string{"commons-net-vms-list.txt", "filezilla-list.txt", "vsftpd-3.0.3-list.txt"} {
		raw, err := os.ReadFile(filepath.Join("testdata", "listings", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(raw))
	}
	f.Fuzz(func(t *testing.T, text string) {
		l := testListing(1 << 20)
		for line := range strings.Lines(text) {
			if err := l.add(strings.TrimRight(line, "\r\n")); err != nil {
				return
			}
		}
		entries, err := l.result()
		var le *ListError
		if err != nil && (!errors.As(err, &le) || le.Count < len(le.Lines) || len(le.Lines) > maxBadLines) {
			t.Fatalf("error %v", err)
		}
		versions := map[string]bool{}
		for _, e := range entries {
			if !validName(e.Name) {
				t.Fatalf("invalid name %q", e.Name)
			}
			if e.version != 0 {
				if versions[e.Name] {
					t.Fatalf("two versions of %q kept", e.Name)
				}
				versions[e.Name] = true
			}
		}
	})
}
