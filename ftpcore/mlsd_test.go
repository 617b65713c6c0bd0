package ftpcore

import (
	"errors"
	"testing"
	"time"
)

func exactUTC(y int, m time.Month, d, hour, minute, sec int) time.Time {
	return time.Date(y, m, d, hour, minute, sec, 0, time.UTC)
}

// Rows from proftpd 1.3.8 and pure-ftpd 1.0.50 (testdata/listings), the
// examples of RFC 3659 7.7, and jlaffaye/ftp's parse_test.go.
var mlsdLineTests = []struct {
	name string
	line string
	want Entry
}{
	{"proftpd file", "modify=20261125154012;perm=adfr;size=2;type=file;unique=FE00U9841AE;UNIX.group=0;UNIX.groupname=nogroup;UNIX.mode=0644;UNIX.owner=0;UNIX.ownername=ftp; plain.txt",
		Entry{Name: "plain.txt", Type: TypeFile, Size: 2, Time: exactUTC(2026, time.November, 25, 15, 40, 12), Precision: TimeExact, Unique: "FE00U9841AE", Perm: "adfr"}},
	{"proftpd leading space", "modify=20261125153846;perm=adfr;size=3;type=file;unique=FE00U9841AF;UNIX.group=0;UNIX.groupname=nogroup;UNIX.mode=0644;UNIX.owner=0;UNIX.ownername=ftp;  leading space",
		Entry{Name: " leading space", Type: TypeFile, Size: 3, Time: exactUTC(2026, time.November, 25, 15, 38, 46), Precision: TimeExact, Unique: "FE00U9841AF", Perm: "adfr"}},
	{"proftpd trailing space", "modify=20261125153846;perm=adfr;size=2;type=file;unique=FE00U9841BA;UNIX.group=0;UNIX.groupname=nogroup;UNIX.mode=0644;UNIX.owner=0;UNIX.ownername=ftp; trailing space ",
		Entry{Name: "trailing space ", Type: TypeFile, Size: 2, Time: exactUTC(2026, time.November, 25, 15, 38, 46), Precision: TimeExact, Unique: "FE00U9841BA", Perm: "adfr"}},
	{"proftpd symlink", "modify=20261125153846;perm=adfr;size=15;type=OS.unix=symlink;unique=FE00U9841AC;UNIX.group=0;UNIX.groupname=nogroup;UNIX.mode=0777;UNIX.owner=0;UNIX.ownername=ftp; dirlink",
		Entry{Name: "dirlink", Type: TypeSymlink, Size: 15, Time: exactUTC(2026, time.November, 25, 15, 38, 46), Precision: TimeExact, Unique: "FE00U9841AC", Perm: "adfr"}},
	{"proftpd dir without size", "modify=20261125153846;perm=fle;type=dir;unique=FE00U9841AC;UNIX.group=0;UNIX.groupname=nogroup;UNIX.mode=0755;UNIX.owner=0;UNIX.ownername=ftp; dir with spaces",
		Entry{Name: "dir with spaces", Type: TypeDir, Size: -1, Time: exactUTC(2026, time.November, 25, 15, 38, 46), Precision: TimeExact, Unique: "FE00U9841AC", Perm: "fle"}},
	// proftpd calls a fifo a file.
	{"proftpd fifo", "modify=20261125153846;perm=adfr;size=0;type=file;unique=FE00U9841B7;UNIX.group=0;UNIX.groupname=nogroup;UNIX.mode=0644;UNIX.owner=0;UNIX.ownername=ftp; fifo",
		Entry{Name: "fifo", Type: TypeFile, Size: 0, Time: exactUTC(2026, time.November, 25, 15, 38, 46), Precision: TimeExact, Unique: "FE00U9841B7", Perm: "adfr"}},
	{"proftpd semicolon in name", "modify=20261125153846;perm=adfr;size=2;type=file;unique=FE00U9841B1;UNIX.group=0;UNIX.groupname=nogroup;UNIX.mode=0644;UNIX.owner=0;UNIX.ownername=ftp; semi;colon=x.txt",
		Entry{Name: "semi;colon=x.txt", Type: TypeFile, Size: 2, Time: exactUTC(2026, time.November, 25, 15, 38, 46), Precision: TimeExact, Unique: "FE00U9841B1", Perm: "adfr"}},
	{"proftpd Latin-1", "modify=20261125155152;perm=adfr;size=2;type=file;unique=FE00U984142;UNIX.group=0;UNIX.groupname=nogroup;UNIX.mode=0644;UNIX.owner=0;UNIX.ownername=ftp; caf\xe9",
		Entry{Name: "caf\xe9", Type: TypeFile, Size: 2, Time: exactUTC(2026, time.November, 25, 15, 51, 52), Precision: TimeExact, Unique: "FE00U984142", Perm: "adfr"}},

	{"pure-ftpd file", "type=file;size=2;modify=20261125154012;UNIX.mode=0644;unique=fe00g9841ae; plain.txt",
		Entry{Name: "plain.txt", Type: TypeFile, Size: 2, Time: exactUTC(2026, time.November, 25, 15, 40, 12), Precision: TimeExact, Unique: "fe00g9841ae", Perm: "0644"}},
	{"pure-ftpd dir sizd", "type=dir;sizd=4096;modify=20261125153846;UNIX.mode=0755;unique=fe00g9841ab; sub",
		Entry{Name: "sub", Type: TypeDir, Size: 4096, Time: exactUTC(2026, time.November, 25, 15, 38, 46), Precision: TimeExact, Unique: "fe00g9841ab", Perm: "0755"}},
	{"pure-ftpd symlink target with spaces", "type=OS.unix=slink:dir with spaces;size=15;modify=20261125153846;UNIX.mode=0777;unique=fe00g9841b3; dirlink",
		Entry{Name: "dirlink", Type: TypeSymlink, Size: 15, Time: exactUTC(2026, time.November, 25, 15, 38, 46), Precision: TimeExact, Target: "dir with spaces", Unique: "fe00g9841b3", Perm: "0777"}},
	{"pure-ftpd dangling symlink", "type=OS.unix=slink:nowhere;size=7;modify=20261125153846;UNIX.mode=0777;unique=fe00g9841b4; dangling",
		Entry{Name: "dangling", Type: TypeSymlink, Size: 7, Time: exactUTC(2026, time.November, 25, 15, 38, 46), Precision: TimeExact, Target: "nowhere", Unique: "fe00g9841b4", Perm: "0777"}},
	{"pure-ftpd fifo", "type=unknown;size=0;modify=20261125153846;UNIX.mode=0644;unique=fe00g9841b7; fifo",
		Entry{Name: "fifo", Type: TypeOther, Size: 0, Time: exactUTC(2026, time.November, 25, 15, 38, 46), Precision: TimeExact, Unique: "fe00g9841b7", Perm: "0644"}},
	{"pure-ftpd setuid", "type=file;size=2;modify=20261125155152;UNIX.mode=04755;unique=fe00g984162; setuid",
		Entry{Name: "setuid", Type: TypeFile, Size: 2, Time: exactUTC(2026, time.November, 25, 15, 51, 52), Precision: TimeExact, Unique: "fe00g984162", Perm: "04755"}},
	{"pure-ftpd arrow in name", "type=file;size=2;modify=20261125155152;UNIX.mode=0644;unique=fe00g984112; arrow -> not link",
		Entry{Name: "arrow -> not link", Type: TypeFile, Size: 2, Time: exactUTC(2026, time.November, 25, 15, 51, 52), Precision: TimeExact, Unique: "fe00g984112", Perm: "0644"}},

	{"RFC 3659 file", "Type=file;Size=25730;Modify=19940728095854;Perm=; capmux.tar.z",
		Entry{Name: "capmux.tar.z", Type: TypeFile, Size: 25730, Time: exactUTC(1994, time.July, 28, 9, 58, 54), Precision: TimeExact}},
	{"RFC 3659 dir", "Type=dir;Modify=19990112033515;Perm=flcdmpe;Unique=keVO1+ZF4; test",
		Entry{Name: "test", Type: TypeDir, Size: -1, Time: exactUTC(1999, time.January, 12, 3, 35, 15), Precision: TimeExact, Unique: "keVO1+ZF4", Perm: "flcdmpe"}},
	{"jlaffaye upper-case facts", "Modify=20150813175250;Perm=adfr;Size=951;Type=file;Unique=119FBB87UE;UNIX.group=0;UNIX.mode=0644;UNIX.owner=0; welcome.msg",
		Entry{Name: "welcome.msg", Type: TypeFile, Size: 951, Time: exactUTC(2015, time.August, 13, 17, 52, 50), Precision: TimeExact, Unique: "119FBB87UE", Perm: "adfr"}},
	{"upper-case type value", "type=FILE;size=1; x",
		Entry{Name: "x", Type: TypeFile, Size: 1}},
	{"fraction of a second", "type=file;size=1;modify=20261125154012.5; x",
		Entry{Name: "x", Type: TypeFile, Size: 1, Time: time.Date(2026, time.November, 25, 15, 40, 12, 500_000_000, time.UTC), Precision: TimeExact}},
	{"unparsable modify", "type=file;size=1;modify=2026-11-25; x",
		Entry{Name: "x", Type: TypeFile, Size: 1}},
	{"device", "type=OS.unix=chr-13/29;modify=20261125154012; tty",
		Entry{Name: "tty", Type: TypeOther, Size: -1, Time: exactUTC(2026, time.November, 25, 15, 40, 12), Precision: TimeExact}},
	{"no facts", " plain.txt",
		Entry{Name: "plain.txt", Type: TypeOther, Size: -1}},
	{"no final semicolon", "type=file;size=3 x y",
		Entry{Name: "x y", Type: TypeFile, Size: 3}},
	{"size and sizd", "type=dir;sizd=4096;size=10; d",
		Entry{Name: "d", Type: TypeDir, Size: 10}},
	{"semicolon-space in name", "type=file;size=3; a; b",
		Entry{Name: "a; b", Type: TypeFile, Size: 3}},
}

func TestParseMLSDLine(t *testing.T) {
	for _, tt := range mlsdLineTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMLSDLine(tt.line)
			if err != nil {
				t.Fatalf("parseMLSDLine(%q): %v", tt.line, err)
			}
			if d := entryDiff(got, tt.want); d != "" {
				t.Errorf("parseMLSDLine(%q): %s", tt.line, d)
			}
		})
	}
}

var mlsdLineErrorTests = []struct {
	name string
	line string
	want error
}{
	{"empty", "", errSkipLine},
	{"blank", "  ", errSkipLine},
	{"proftpd cdir", "modify=20261125155152;perm=fle;type=cdir;unique=FE00U9841AA;UNIX.group=0;UNIX.groupname=nogroup;UNIX.mode=0755;UNIX.owner=0;UNIX.ownername=ftp; .", errSkipLine},
	{"pure-ftpd pdir", "type=pdir;sizd=4096;modify=20261125155152;UNIX.mode=0755;unique=fe00g9841aa; ..", errSkipLine},
	{"RFC 3659 cdir with a path", "Type=cdir;Modify=19981107085215;Perm=el; /tmp", errSkipLine},
	{"dot as dir", "type=dir; .", errSkipLine},

	{"jlaffaye fact without value", "modify=20150806235817;invalid;UNIX.owner=0; movies", ErrProtocol},
	// The second half of "new<LF>line" from proftpd.
	{"no facts, no space", "line", ErrProtocol},
	{"no equals sign before the space", "garbage here", ErrProtocol},
	{"empty fact name", "=x;type=file; x", ErrProtocol},
	{"negative size", "type=file;size=-1; x", ErrProtocol},
	{"size with sign", "type=file;size=+1; x", ErrProtocol},
	{"empty size", "type=file;size=; x", ErrProtocol},
	{"size overflow", "type=file;size=99999999999999999999; x", ErrProtocol},
	{"sizd overflow", "type=dir;sizd=99999999999999999999; x", ErrProtocol},
	{"slash in name", "type=file;size=1; a/b", ErrProtocol},
	{"empty name", "type=file;size=1; ", ErrProtocol},
	{"NUL in name", "type=file;size=1; a\x00b", ErrProtocol},
	// An MLST reply line keeps its leading space and names a path; the
	// caller has to take it apart.
	{"proftpd MLST line", " modify=20261125154012;perm=adfr;size=2;type=file;unique=FE00U9841AE; /plain.txt", ErrProtocol},
}

func TestParseMLSDLineErrors(t *testing.T) {
	for _, tt := range mlsdLineErrorTests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := parseMLSDLine(tt.line)
			if !errors.Is(err, tt.want) {
				t.Fatalf("parseMLSDLine(%q) = %v, %v; want error %v", tt.line, e, err, tt.want)
			}
			if e != (Entry{}) {
				t.Errorf("parseMLSDLine(%q) returned %v with its error", tt.line, e)
			}
		})
	}
}

func BenchmarkParseMLSDLine(b *testing.B) {
	lines := []string{
		"modify=20261125154012;perm=adfr;size=2;type=file;unique=FE00U9841AE;UNIX.group=0;UNIX.groupname=nogroup;UNIX.mode=0644;UNIX.owner=0;UNIX.ownername=ftp; plain.txt",
		"type=dir;sizd=4096;modify=20261125153846;UNIX.mode=0755;unique=fe00g9841ab; sub",
		"type=OS.unix=slink:dir with spaces;size=15;modify=20261125153846;UNIX.mode=0777;unique=fe00g9841b3; dirlink",
	}
	for i := 0; b.Loop(); i++ {
		if _, err := parseMLSDLine(lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
	}
}
