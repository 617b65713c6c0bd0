package ftpcore

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/listings/*.golden from the parsers' output")

// parseNow is the clock of every parser test, so that "Nov 25 15:38" has
// one right year.
var parseNow = time.Date(2026, time.November, 25, 15, 0, 0, 0, time.UTC)

func minuteUTC(y int, m time.Month, d, hour, minute int) time.Time {
	return time.Date(y, m, d, hour, minute, 0, 0, time.UTC)
}

func dayUTC(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// entryDiff describes the first difference between two entries, or
// returns "".
func entryDiff(got, want Entry) string {
	switch {
	case got.Name != want.Name:
		return fmt.Sprintf("Name %q, want %q", got.Name, want.Name)
	case got.Type != want.Type:
		return fmt.Sprintf("Type %v, want %v", got.Type, want.Type)
	case got.Size != want.Size:
		return fmt.Sprintf("Size %d, want %d", got.Size, want.Size)
	case !got.Time.Equal(want.Time) || got.Time.Location().String() != want.Time.Location().String():
		return fmt.Sprintf("Time %v, want %v", got.Time, want.Time)
	case got.Precision != want.Precision:
		return fmt.Sprintf("Precision %v, want %v", got.Precision, want.Precision)
	case got.Target != want.Target:
		return fmt.Sprintf("Target %q, want %q", got.Target, want.Target)
	case got.Unique != want.Unique:
		return fmt.Sprintf("Unique %q, want %q", got.Unique, want.Unique)
	case got.Perm != want.Perm:
		return fmt.Sprintf("Perm %q, want %q", got.Perm, want.Perm)
	case got.version != want.version:
		return fmt.Sprintf("VMS version %d, want %d", got.version, want.version)
	}
	return ""
}

// Rows are real lines: from the servers captured in testdata/listings
// (vsftpd 3.0.3, pure-ftpd 1.0.50, proftpd 1.3.8, GNU ls 9.1), and from
// jlaffaye/ftp's parse_test.go where they name the server.
var listLineTests = []struct {
	name string
	line string
	want Entry
}{
	// vsftpd 3.0.3: numeric owner and group, wide padding, "%b %d" days.
	{"vsftpd file", "-rw-r--r--    1 0        0            1024 Mar 10 23:00 file name.txt",
		Entry{Name: "file name.txt", Type: TypeFile, Size: 1024, Time: minuteUTC(2026, time.March, 10, 23, 0), Precision: TimeMinute, Perm: "-rw-r--r--"}},
	{"vsftpd old file", "-rw-r--r--    1 1000     1000            5 Jan 02  2006 old",
		Entry{Name: "old", Type: TypeFile, Size: 5, Time: dayUTC(2006, time.January, 2), Precision: TimeDay, Perm: "-rw-r--r--"}},
	{"vsftpd dir", "drwxr-xr-x    2 0        0            4096 Nov 25 15:38 dir with spaces",
		Entry{Name: "dir with spaces", Type: TypeDir, Size: 4096, Time: minuteUTC(2026, time.November, 25, 15, 38), Precision: TimeMinute, Perm: "drwxr-xr-x"}},
	{"vsftpd symlink", "lrwxrwxrwx    1 0        0              15 Nov 25 15:38 dirlink -> dir with spaces",
		Entry{Name: "dirlink", Type: TypeSymlink, Size: 15, Time: minuteUTC(2026, time.November, 25, 15, 38), Precision: TimeMinute, Target: "dir with spaces", Perm: "lrwxrwxrwx"}},
	{"vsftpd leading space", "-rw-r--r--    1 0        0               3 Nov 25 15:38  leading space",
		Entry{Name: " leading space", Type: TypeFile, Size: 3, Time: minuteUTC(2026, time.November, 25, 15, 38), Precision: TimeMinute, Perm: "-rw-r--r--"}},
	{"vsftpd trailing space", "-rw-r--r--    1 0        0               2 Nov 25 15:38 trailing space ",
		Entry{Name: "trailing space ", Type: TypeFile, Size: 2, Time: minuteUTC(2026, time.November, 25, 15, 38), Precision: TimeMinute, Perm: "-rw-r--r--"}},
	{"vsftpd 5 GiB", "-rw-r--r--    1 0        0        5368709120 Nov 25 15:38 big.iso",
		Entry{Name: "big.iso", Type: TypeFile, Size: 5368709120, Time: minuteUTC(2026, time.November, 25, 15, 38), Precision: TimeMinute, Perm: "-rw-r--r--"}},
	{"vsftpd future file shows year", "-rw-r--r--    1 0        0               2 Mar 01  2027 future.txt",
		Entry{Name: "future.txt", Type: TypeFile, Size: 2, Time: dayUTC(2027, time.March, 1), Precision: TimeDay, Perm: "-rw-r--r--"}},
	{"vsftpd fifo", "prw-r--r--    1 0        0               0 Nov 25 15:38 fifo",
		Entry{Name: "fifo", Type: TypeOther, Size: 0, Time: minuteUTC(2026, time.November, 25, 15, 38), Precision: TimeMinute, Perm: "prw-r--r--"}},
	{"vsftpd char device without numbers", "crw-r--r--    1 0        0               0 Nov 25 15:38 null",
		Entry{Name: "null", Type: TypeOther, Size: 0, Time: minuteUTC(2026, time.November, 25, 15, 38), Precision: TimeMinute, Perm: "crw-r--r--"}},
	{"vsftpd setuid", "-rwsr-xr-x    1 0        0               2 Nov 25 15:51 setuid",
		Entry{Name: "setuid", Type: TypeFile, Size: 2, Time: minuteUTC(2026, time.November, 25, 15, 51), Precision: TimeMinute, Perm: "-rwsr-xr-x"}},
	{"vsftpd sticky dir", "drwxrwxrwt    2 0        0            4096 Nov 25 15:51 sticky",
		Entry{Name: "sticky", Type: TypeDir, Size: 4096, Time: minuteUTC(2026, time.November, 25, 15, 51), Precision: TimeMinute, Perm: "drwxrwxrwt"}},
	{"vsftpd arrow in a file name", "-rw-r--r--    1 0        0               2 Nov 25 15:51 arrow -> not link",
		Entry{Name: "arrow -> not link", Type: TypeFile, Size: 2, Time: minuteUTC(2026, time.November, 25, 15, 51), Precision: TimeMinute, Perm: "-rw-r--r--"}},
	{"vsftpd UTF-8", "-rw-r--r--    1 0        0               2 Nov 25 15:38 héllo wörld ✓.txt",
		Entry{Name: "héllo wörld ✓.txt", Type: TypeFile, Size: 2, Time: minuteUTC(2026, time.November, 25, 15, 38), Precision: TimeMinute, Perm: "-rw-r--r--"}},
	{"vsftpd Latin-1", "-rw-r--r--    1 0        0               2 Nov 25 15:51 caf\xe9",
		Entry{Name: "caf\xe9", Type: TypeFile, Size: 2, Time: minuteUTC(2026, time.November, 25, 15, 51), Precision: TimeMinute, Perm: "-rw-r--r--"}},
	{"vsftpd tab and backslash", "-rw-r--r--    1 0        0               2 Nov 25 15:51 tab\there\\",
		Entry{Name: "tab\there\\", Type: TypeFile, Size: 2, Time: minuteUTC(2026, time.November, 25, 15, 51), Precision: TimeMinute, Perm: "-rw-r--r--"}},
	{"vsftpd semicolon", "-rw-r--r--    1 0        0               2 Nov 25 15:38 semi;colon=x.txt",
		Entry{Name: "semi;colon=x.txt", Type: TypeFile, Size: 2, Time: minuteUTC(2026, time.November, 25, 15, 38), Precision: TimeMinute, Perm: "-rw-r--r--"}},
	{"vsftpd dash", "-rw-r--r--    1 0        0               2 Nov 25 15:51 -dash",
		Entry{Name: "-dash", Type: TypeFile, Size: 2, Time: minuteUTC(2026, time.November, 25, 15, 51), Precision: TimeMinute, Perm: "-rw-r--r--"}},
	// The first half of "new<LF>line" as vsftpd and proftpd send it: a
	// well-formed line, indistinguishable from a file named "new".
	{"vsftpd first half of a name with LF", "-rw-r--r--    1 0        0               2 Nov 25 15:51 new",
		Entry{Name: "new", Type: TypeFile, Size: 2, Time: minuteUTC(2026, time.November, 25, 15, 51), Precision: TimeMinute, Perm: "-rw-r--r--"}},

	// pure-ftpd 1.0.50: "%-10d" owner and group, "%10llu" size.
	{"pure-ftpd file", "-rw-r--r--    1 1000       1000             5 Nov 25 15:35 name",
		Entry{Name: "name", Type: TypeFile, Size: 5, Time: minuteUTC(2026, time.November, 25, 15, 35), Precision: TimeMinute, Perm: "-rw-r--r--"}},
	{"pure-ftpd old file", "-rw-r--r--    1 0          0                   4 Jan  1  2020 old.txt",
		Entry{Name: "old.txt", Type: TypeFile, Size: 4, Time: dayUTC(2020, time.January, 1), Precision: TimeDay, Perm: "-rw-r--r--"}},
	{"pure-ftpd dangling symlink", "lrwxrwxrwx    1 0          0                   7 Nov 25 15:38 dangling -> nowhere",
		Entry{Name: "dangling", Type: TypeSymlink, Size: 7, Time: minuteUTC(2026, time.November, 25, 15, 38), Precision: TimeMinute, Target: "nowhere", Perm: "lrwxrwxrwx"}},

	// proftpd 1.3.8: "%-8s" names, "%8lu" size.
	{"proftpd file", "-rw-r--r--   1 ftp      nogroup        12 Nov 25 15:35 name",
		Entry{Name: "name", Type: TypeFile, Size: 12, Time: minuteUTC(2026, time.November, 25, 15, 35), Precision: TimeMinute, Perm: "-rw-r--r--"}},
	{"proftpd size wider than its column", "-rw-r--r--   1 root     root     5368709120 Nov 25 15:38 big.iso",
		Entry{Name: "big.iso", Type: TypeFile, Size: 5368709120, Time: minuteUTC(2026, time.November, 25, 15, 38), Precision: TimeMinute, Perm: "-rw-r--r--"}},
	// proftpd and pure-ftpd show a time, not a year, for every future
	// date; the file is from 2027-03-01 but comes out a year too early
	// (see lsDate).
	{"proftpd future file shows time", "-rw-r--r--   1 root     root            2 Mar  1 00:00 future.txt",
		Entry{Name: "future.txt", Type: TypeFile, Size: 2, Time: minuteUTC(2026, time.March, 1, 0, 0), Precision: TimeMinute, Perm: "-rw-r--r--"}},

	// GNU ls 9.1, as servers running /bin/ls send it.
	{"GNU ls char device", "crw-r--r--  1 root root       1, 3 Nov 25 15:38 null",
		Entry{Name: "null", Type: TypeOther, Size: -1, Time: minuteUTC(2026, time.November, 25, 15, 38), Precision: TimeMinute, Perm: "crw-r--r--"}},
	{"char device wide", "crw-rw-rw-   1 0  0   1,   3 Nov 25 15:35 null",
		Entry{Name: "null", Type: TypeOther, Size: -1, Time: minuteUTC(2026, time.November, 25, 15, 35), Precision: TimeMinute, Perm: "crw-rw-rw-"}},
	{"block device in one field", "brw-rw----   1 0  6   8,0 Nov 25 15:35 sda",
		Entry{Name: "sda", Type: TypeOther, Size: -1, Time: minuteUTC(2026, time.November, 25, 15, 35), Precision: TimeMinute, Perm: "brw-rw----"}},
	{"SELinux marker", "drwxr-xr-x.  2 root root 4096 Jan 05  2024 sel",
		Entry{Name: "sel", Type: TypeDir, Size: 4096, Time: dayUTC(2024, time.January, 5), Precision: TimeDay, Perm: "drwxr-xr-x."}},
	{"macOS xattr marker", "-rw-r--r--@  1 user  staff  6148 Oct  4 12:00 .DS_Store",
		Entry{Name: ".DS_Store", Type: TypeFile, Size: 6148, Time: minuteUTC(2026, time.October, 4, 12, 0), Precision: TimeMinute, Perm: "-rw-r--r--@"}},

	// From jlaffaye/ftp parse_test.go.
	{"ACL marker", "-rwxrw-r--+  1 521      101         2080 May 21 10:53 data.csv",
		Entry{Name: "data.csv", Type: TypeFile, Size: 2080, Time: minuteUTC(2026, time.May, 21, 10, 53), Precision: TimeMinute, Perm: "-rwxrw-r--+"}},
	{"no link count", "drwxr-xr-x               folder        0 Aug 15 05:49 !!!-Tipp des Haus!",
		Entry{Name: "!!!-Tipp des Haus!", Type: TypeDir, Size: 0, Time: minuteUTC(2026, time.August, 15, 5, 49), Precision: TimeMinute, Perm: "drwxr-xr-x"}},
	{"missing group", "-rw-r--r--   1 owner   12 Nov 25 15:35 name",
		Entry{Name: "name", Type: TypeFile, Size: 12, Time: minuteUTC(2026, time.November, 25, 15, 35), Precision: TimeMinute, Perm: "-rw-r--r--"}},
	{"missing group, old", "dr-xr-xr-x   2 root                  512 Apr  8  1994 03-unix-nogroup dir",
		Entry{Name: "03-unix-nogroup dir", Type: TypeDir, Size: 512, Time: dayUTC(1994, time.April, 8), Precision: TimeDay, Perm: "dr-xr-xr-x"}},
	{"symlink to a path", "lrwxrwxrwx    1 0        1001           27 Jul 07  2017 R-3.4.0.pkg -> el-capitan/base/R-3.4.0.pkg",
		Entry{Name: "R-3.4.0.pkg", Type: TypeSymlink, Size: 27, Time: dayUTC(2017, time.July, 7), Precision: TimeDay, Target: "el-capitan/base/R-3.4.0.pkg", Perm: "lrwxrwxrwx"}},
	{"Microsoft FTP in Unix style", "----------   1 owner    group         1803128 Jul 10 10:18 ls-lR.Z",
		Entry{Name: "ls-lR.Z", Type: TypeFile, Size: 1803128, Time: minuteUTC(2026, time.July, 10, 10, 18), Precision: TimeMinute, Perm: "----------"}},
	{"Microsoft FTP dir", "d---------   1 owner    group               0 Nov  9 19:45 Softlib",
		Entry{Name: "Softlib", Type: TypeDir, Size: 0, Time: minuteUTC(2026, time.November, 9, 19, 45), Precision: TimeMinute, Perm: "d---------"}},
	{"hostedftp.com link count 0", "-r--------   0 user group     65222236 Feb 24 00:39 RegularFile",
		Entry{Name: "RegularFile", Type: TypeFile, Size: 65222236, Time: minuteUTC(2026, time.February, 24, 0, 39), Precision: TimeMinute, Perm: "-r--------"}},
	{"spaces inside and around", "-rwxr-xr-x    3 110      1002            1234567 Dec 02  2009  foo bar ",
		Entry{Name: " foo bar ", Type: TypeFile, Size: 1234567, Time: dayUTC(2009, time.December, 2), Precision: TimeDay, Perm: "-rwxr-xr-x"}},
	{"unknown type letter", "Zrwxrwxrwx   1 root     other          7 Jan 25 00:17 bin",
		Entry{Name: "bin", Type: TypeOther, Size: 7, Time: minuteUTC(2026, time.January, 25, 0, 17), Precision: TimeMinute, Perm: "Zrwxrwxrwx"}},

	// Owner and group named like months must not be taken for the date.
	{"owner named like a month", "-rw-r--r--   1 may      jun            5 Nov 25 15:35 name",
		Entry{Name: "name", Type: TypeFile, Size: 5, Time: minuteUTC(2026, time.November, 25, 15, 35), Precision: TimeMinute, Perm: "-rw-r--r--"}},
	{"group named like a month, size like a day", "-rw-r--r--   1 0 may 12 Nov 25 15:35 name",
		Entry{Name: "name", Type: TypeFile, Size: 12, Time: minuteUTC(2026, time.November, 25, 15, 35), Precision: TimeMinute, Perm: "-rw-r--r--"}},
	{"a date in the name", "-rw-r--r--   1 0 0 5 Nov 25 15:35 Dec 01 10:00 x",
		Entry{Name: "Dec 01 10:00 x", Type: TypeFile, Size: 5, Time: minuteUTC(2026, time.November, 25, 15, 35), Precision: TimeMinute, Perm: "-rw-r--r--"}},
	{"symlink with two arrows", "lrwxrwxrwx   1 0 0 7 Nov 25 15:38 a -> b -> c",
		Entry{Name: "a", Type: TypeSymlink, Size: 7, Time: minuteUTC(2026, time.November, 25, 15, 38), Precision: TimeMinute, Target: "b -> c", Perm: "lrwxrwxrwx"}},
	{"symlink without target", "lrwxrwxrwx   1 0 0 7 Nov 25 15:38 lonely",
		Entry{Name: "lonely", Type: TypeSymlink, Size: 7, Time: minuteUTC(2026, time.November, 25, 15, 38), Precision: TimeMinute, Perm: "lrwxrwxrwx"}},
	{"leap day with year", "-rw-r--r--   1 0 0 5 Feb 29  2024 leap",
		Entry{Name: "leap", Type: TypeFile, Size: 5, Time: dayUTC(2024, time.February, 29), Precision: TimeDay, Perm: "-rw-r--r--"}},

	// The year of "HH:MM" dates: at most a day after now.
	{"year: almost a day ahead", "-rw-r--r--   1 0 0 5 Nov 26 14:59 x",
		Entry{Name: "x", Type: TypeFile, Size: 5, Time: minuteUTC(2026, time.November, 26, 14, 59), Precision: TimeMinute, Perm: "-rw-r--r--"}},
	{"year: more than a day ahead", "-rw-r--r--   1 0 0 5 Nov 26 15:01 x",
		Entry{Name: "x", Type: TypeFile, Size: 5, Time: minuteUTC(2025, time.November, 26, 15, 1), Precision: TimeMinute, Perm: "-rw-r--r--"}},
	{"year: December", "-rw-r--r--   1 0 0 5 Dec 25 10:00 x",
		Entry{Name: "x", Type: TypeFile, Size: 5, Time: minuteUTC(2025, time.December, 25, 10, 0), Precision: TimeMinute, Perm: "-rw-r--r--"}},
	{"year: January", "lrwxrwxrwx   1 root     other          7 Jan 25 00:17 bin -> usr/bin",
		Entry{Name: "bin", Type: TypeSymlink, Size: 7, Time: minuteUTC(2026, time.January, 25, 0, 17), Precision: TimeMinute, Target: "usr/bin", Perm: "lrwxrwxrwx"}},

	// IIS and other DOS-style servers.
	{"DOS dir", "02-23-2021  03:04PM       <DIR>          dir name",
		Entry{Name: "dir name", Type: TypeDir, Size: -1, Time: minuteUTC(2021, time.February, 23, 15, 4), Precision: TimeMinute}},
	{"DOS file", "02-23-2021  03:04PM                 1234 file.txt",
		Entry{Name: "file.txt", Type: TypeFile, Size: 1234, Time: minuteUTC(2021, time.February, 23, 15, 4), Precision: TimeMinute}},
	{"DOS 24h ISO date", "2021-02-23  15:04                 1234 file.txt",
		Entry{Name: "file.txt", Type: TypeFile, Size: 1234, Time: minuteUTC(2021, time.February, 23, 15, 4), Precision: TimeMinute}},
	{"DOS 24h two-digit year", "05-27-11  09:31       <DIR>          3",
		Entry{Name: "3", Type: TypeDir, Size: -1, Time: minuteUTC(2011, time.May, 27, 9, 31), Precision: TimeMinute}},
	{"IIS jlaffaye file", "08-07-15  07:50PM                  718 Post_PRR_20150901_1166_265118_13049.dat",
		Entry{Name: "Post_PRR_20150901_1166_265118_13049.dat", Type: TypeFile, Size: 718, Time: minuteUTC(2015, time.August, 7, 19, 50), Precision: TimeMinute}},
	{"IIS jlaffaye dir", "08-10-15  02:04PM       <DIR>          Billing",
		Entry{Name: "Billing", Type: TypeDir, Size: -1, Time: minuteUTC(2015, time.August, 10, 14, 4), Precision: TimeMinute}},
	{"IIS 1995", "06-29-95  03:05PM       <DIR>          muntemp",
		Entry{Name: "muntemp", Type: TypeDir, Size: -1, Time: minuteUTC(1995, time.June, 29, 15, 5), Precision: TimeMinute}},
	{"IIS midnight", "12-31-99  12:00AM                    1 midnight",
		Entry{Name: "midnight", Type: TypeFile, Size: 1, Time: minuteUTC(1999, time.December, 31, 0, 0), Precision: TimeMinute}},
	{"IIS noon", "01-01-00  12:30PM                   42 y2k.txt",
		Entry{Name: "y2k.txt", Type: TypeFile, Size: 42, Time: minuteUTC(2000, time.January, 1, 12, 30), Precision: TimeMinute}},

	// EPLF, https://cr.yp.to/ftp/list/eplf.html.
	{"EPLF dir", "+i8388621.29609,m824255902,/,\tdev",
		Entry{Name: "dev", Type: TypeDir, Size: -1, Time: time.Unix(824255902, 0).UTC(), Precision: TimeExact, Unique: "8388621.29609"}},
	{"EPLF file", "+i8388621.44468,m839956783,r,s10376,\tRFCEPLF",
		Entry{Name: "RFCEPLF", Type: TypeFile, Size: 10376, Time: time.Unix(839956783, 0).UTC(), Precision: TimeExact, Unique: "8388621.44468"}},
	{"EPLF permissions", "+i8388621.48594,m825718503,r,s280,up644,\tdjb.html",
		Entry{Name: "djb.html", Type: TypeFile, Size: 280, Time: time.Unix(825718503, 0).UTC(), Precision: TimeExact, Unique: "8388621.48594", Perm: "644"}},

	// Apache commons-net, UnixFTPEntryParserTest: ISO date (NUMERIC_DATE_CONFIG),
	// ACL mark glued to the link count, Cygwin's group with spaces,
	// Japanese month and day (commons-dev mailing list, 2004-08).
	{"ISO date", "-rw-r-----   1 neeme neeme   346 2005-04-08 11:22 services.vsp",
		Entry{Name: "services.vsp", Type: TypeFile, Size: 346, Time: minuteUTC(2005, time.April, 8, 11, 22), Precision: TimeMinute, Perm: "-rw-r-----"}},
	{"ISO date link", "lrwxrwxrwx   1 neeme neeme    23 2005-03-02 18:06 macros -> ./../../global/macros/.",
		Entry{Name: "macros", Type: TypeSymlink, Size: 23, Time: minuteUTC(2005, time.March, 2, 18, 6), Precision: TimeMinute, Target: "./../../global/macros/.", Perm: "lrwxrwxrwx"}},
	{"ACL glued to links", "drwxr-x---+1464 chrism   chrism     41472 Feb 25 13:17 20090225",
		Entry{Name: "20090225", Type: TypeDir, Size: 41472, Time: minuteUTC(2026, time.February, 25, 13, 17), Precision: TimeMinute, Perm: "drwxr-x---+"}},
	{"Cygwin group with spaces", "-rw-r--r--   1 ftp      group with spaces in it as allowed in cygwin see bug 38634   83853 Jan 22  2001 zxJDBC-1.2.4.tar.gz",
		Entry{Name: "zxJDBC-1.2.4.tar.gz", Type: TypeFile, Size: 83853, Time: dayUTC(2001, time.January, 22), Precision: TimeDay, Perm: "-rw-r--r--"}},
	{"Japanese year", "-rw-rw---- 1 ep1adm sapsys 0 6\u6708 3\u65e5 2003\u5e74 \u8a66\u9a13\u30d5\u30a1\u30a4\u30eb.csv",
		Entry{Name: "\u8a66\u9a13\u30d5\u30a1\u30a4\u30eb.csv", Type: TypeFile, Size: 0, Time: dayUTC(2003, time.June, 3), Precision: TimeDay, Perm: "-rw-rw----"}},
	{"Japanese time", "-rw-rw---- 1 ep1adm sapsys 0 8\u6708 17\u65e5 20:10 caerrinf",
		Entry{Name: "caerrinf", Type: TypeFile, Size: 0, Time: minuteUTC(2026, time.August, 17, 20, 10), Precision: TimeMinute, Perm: "-rw-rw----"}},
	// commons-net FTPConfigEntryParserTest: AIX with "dd MMM HH:mm".
	{"day before month", "-rw-r-----   1 ravensm  sca          814 02 Mar 16:27 ZMIR2.m",
		Entry{Name: "ZMIR2.m", Type: TypeFile, Size: 814, Time: minuteUTC(2026, time.March, 2, 16, 27), Precision: TimeMinute, Perm: "-rw-r-----"}},
	// Windows cmd.exe "dir" (Windows 10): indented, a space before PM,
	// thousands separators.
	{"cmd dir", " 02/28/2021 02:41 AM             1,044 reminder.txt",
		Entry{Name: "reminder.txt", Type: TypeFile, Size: 1044, Time: minuteUTC(2021, time.February, 28, 2, 41), Precision: TimeMinute}},
	// FileZilla's listing tests (WinSCP filezilla/FtpListResult.cpp).
	{"DOS thousands", "2002-09-02  19:06                9,730 19-dos-longyear file",
		Entry{Name: "19-dos-longyear file", Type: TypeFile, Size: 9730, Time: minuteUTC(2002, time.September, 2, 19, 6), Precision: TimeMinute}},
	{"OS/2 year past 99", "36611      A    04-23-103  10:57  24-os2 file",
		Entry{Name: "24-os2 file", Type: TypeFile, Size: 36611, Time: minuteUTC(2003, time.April, 23, 10, 57), Precision: TimeMinute}},
	{"VMS seconds and hundredths", "34-vms-file;1       155   2-JUL-2003 10:30:13.64",
		Entry{Name: "34-vms-file", Type: TypeFile, Size: -1, Time: minuteUTC(2003, time.July, 2, 10, 30), Precision: TimeMinute, version: 1}},
	{"VMS summary first", "57-vms-alternate-field-order-file;1   [SUMMARY]    1/3     2-AUG-2006 13:05  (RWE,RWE,RE,)",
		Entry{Name: "57-vms-alternate-field-order-file", Type: TypeFile, Size: -1, Time: minuteUTC(2006, time.August, 2, 13, 5), Precision: TimeMinute, Perm: "(RWE,RWE,RE,)", version: 1}},
	{"Netware padded", "d [R----F--] supervisor            512       Jan 16 18:53    09-netware dir",
		Entry{Name: "09-netware dir", Type: TypeDir, Size: 512, Time: minuteUTC(2026, time.January, 16, 18, 53), Precision: TimeMinute, Perm: "[R----F--]"}},
	// commons-net VMSFTPEntryParserTest, OS2FTPEntryParserTest,
	// NetwareFTPEntryParserTest, OS400FTPEntryParserTest.
	{"VMS file", "1-JUN.LIS;3              9/9           2-JUN-1998 07:32:04  [GROUP,OWNER]    (RWED,RWED,RWED,)",
		Entry{Name: "1-JUN.LIS", Type: TypeFile, Size: -1, Time: minuteUTC(1998, time.June, 2, 7, 32), Precision: TimeMinute, Perm: "(RWED,RWED,RWED,)", version: 3}},
	{"VMS dir", "DATA.DIR;1               1/9           2-JUN-1998 07:32:04  [TRANSLATED]     (,RWED,RWED,RE)",
		Entry{Name: "DATA", Type: TypeDir, Size: -1, Time: minuteUTC(1998, time.June, 2, 7, 32), Precision: TimeMinute, Perm: "(,RWED,RWED,RE)", version: 1}},
	{"OS/2 dir", "     0           DIR   05-12-97   16:52  Maintenance Desktop",
		Entry{Name: "Maintenance Desktop", Type: TypeDir, Size: 0, Time: minuteUTC(1997, time.May, 12, 16, 52), Precision: TimeMinute}},
	{"OS/2 file", "5000000000      A          11-17-98   16:07  POPUPLOG.OS2",
		Entry{Name: "POPUPLOG.OS2", Type: TypeFile, Size: 5000000000, Time: minuteUTC(1998, time.November, 17, 16, 7), Precision: TimeMinute}},
	{"Netware file", "- [RWCEAFMS] rwinston                        19968 Mar 12 15:20 Executive Summary.doc",
		Entry{Name: "Executive Summary.doc", Type: TypeFile, Size: 19968, Time: minuteUTC(2026, time.March, 12, 15, 20), Precision: TimeMinute, Perm: "[RWCEAFMS]"}},
	{"OS/400 stream file", "PEP              4019 04/03/18 18:58:16 *STMF      einladung.zip",
		Entry{Name: "einladung.zip", Type: TypeFile, Size: 4019, Perm: "*STMF"}},
	{"OS/400 dir", "PEP             36864 04/03/24 14:06:34 *DIR       dir1/",
		Entry{Name: "dir1", Type: TypeDir, Size: -1, Perm: "*DIR"}},
	{"OS/400 path", "ZFTPDEV 9069 05/20/15 15:36:52 *STMF /DRV/AUDWRKSHET/AUDWRK0204232015114625.PDF",
		Entry{Name: "AUDWRK0204232015114625.PDF", Type: TypeFile, Size: 9069, Perm: "*STMF"}},
	{"OS/400 database file", "QSYS            77824 23/02/00 15:09:55 *FILE 40-ibm-as400-date file",
		Entry{Name: "40-ibm-as400-date file", Type: TypeOther, Size: -1, Perm: "*FILE"}},
	// A directory shown with its link target (made by hand in
	// vsftpd's layout: some servers list links to directories as "d").
	{"d with arrow", "drwxr-xr-x    2 0        0            4096 Nov 25 15:38 pub -> /srv/pub",
		Entry{Name: "pub", Type: TypeDir, Size: 4096, Time: minuteUTC(2026, time.November, 25, 15, 38), Precision: TimeMinute, Target: "/srv/pub", Perm: "drwxr-xr-x"}},
	{"leading spaces", "   -rw-r--r--    1 0        0            1024 Mar 10 23:00 x",
		Entry{Name: "x", Type: TypeFile, Size: 1024, Time: minuteUTC(2026, time.March, 10, 23, 0), Precision: TimeMinute, Perm: "-rw-r--r--"}},
}

func TestParseListLine(t *testing.T) {
	for _, tt := range listLineTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseListLine(tt.line, parseNow, time.UTC)
			if err != nil {
				t.Fatalf("parseListLine(%q): %v", tt.line, err)
			}
			if d := entryDiff(got, tt.want); d != "" {
				t.Errorf("parseListLine(%q): %s", tt.line, d)
			}
		})
	}
}

func TestParseListLineNilLocation(t *testing.T) {
	got, err := parseListLine("-rw-r--r--    1 0        0            1024 Mar 10 23:00 f", parseNow, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := minuteUTC(2026, time.March, 10, 23, 0); !got.Time.Equal(want) || got.Time.Location() != time.UTC {
		t.Errorf("Time = %v, want %v", got.Time, want)
	}
}

// TestParseListLineLocation: the date is read in the server's zone, and
// the year is decided against now in that zone.
func TestParseListLineLocation(t *testing.T) {
	est := time.FixedZone("EST", -5*3600)
	tests := []struct {
		line string
		now  time.Time
		want time.Time
	}{
		{"-rw-r--r-- 1 0 0 5 Nov 25 15:38 x", parseNow, time.Date(2026, time.November, 25, 15, 38, 0, 0, est)},
		{"-rw-r--r-- 1 0 0 5 Jan 02  2006 x", parseNow, time.Date(2006, time.January, 2, 0, 0, 0, 0, est)},
		// 02:00 UTC on New Year's Day is still 2026 in New York.
		{"-rw-r--r-- 1 0 0 5 Dec 31 20:00 x", time.Date(2027, time.January, 1, 2, 0, 0, 0, time.UTC), time.Date(2026, time.December, 31, 20, 0, 0, 0, est)},
		{"12-31-26  08:00PM        5 x", parseNow, time.Date(2026, time.December, 31, 20, 0, 0, 0, est)},
	}
	for _, tt := range tests {
		got, err := parseListLine(tt.line, tt.now, est)
		if err != nil {
			t.Fatalf("parseListLine(%q): %v", tt.line, err)
		}
		if !got.Time.Equal(tt.want) || got.Time.Location() != est {
			t.Errorf("parseListLine(%q).Time = %v, want %v", tt.line, got.Time, tt.want)
		}
	}
}

var listLineErrorTests = []struct {
	name string
	line string
	want error
}{
	{"total", "total 12", errSkipLine},
	{"total 0", "total 0", errSkipLine},
	{"empty", "", errSkipLine},
	{"blank", "   ", errSkipLine},
	{"pure-ftpd dot", "drwxr-xr-x    5 0          0                4096 Nov 25 15:51 .", errSkipLine},
	{"pure-ftpd dot dot", "drwxr-xr-x    5 0          0                4096 Nov 25 15:51 ..", errSkipLine},
	{"DOS dot", "02-23-21  03:04PM       <DIR>          .", errSkipLine},
	{"EPLF dot", "+m1,/,\t.", errSkipLine},

	{"size overflow", "-rw-r--r--        0   18446744073709551615 18446744073709551615 Nov 16  2006 VIDEO_TS.VOB", ErrProtocol},
	{"slash in name", "-rw-r--r--    1 0        0               2 Nov 25 15:51 a/b", ErrProtocol},
	{"symlink name with slash", "lrwxrwxrwx    1 0        0               2 Nov 25 15:51 a/b -> c", ErrProtocol},
	{"symlink without name", "lrwxrwxrwx    1 0        0               2 Nov 25 15:51  -> c", ErrProtocol},
	{"NUL in name", "-rw-r--r--    1 0        0               2 Nov 25 15:51 a\x00b", ErrProtocol},
	{"CR in name", "-rw-r--r--    1 0        0               2 Nov 25 15:51 name\r", ErrProtocol},
	{"no name", "-rw-r--r--    1 0        0               2 Nov 25 15:51", ErrProtocol},
	{"empty name", "-rw-r--r--    1 0        0               2 Nov 25 15:51 ", ErrProtocol},
	{"name too long", "-rw-r--r--    1 0        0               2 Nov 25 15:51 " + strings.Repeat("x", 1025), ErrProtocol},
	{"DOS size overflow", "02-23-21  03:04PM    99999999999999999999 x", ErrProtocol},
	{"DOS slash", "02-23-21  03:04PM       <DIR>          a/b", ErrProtocol},
	{"DOS no name", "02-23-21  03:04PM       <DIR>", ErrProtocol},
	{"EPLF size overflow", "+s99999999999999999999,r,\tx", ErrProtocol},
	{"EPLF bad time", "+m-5,r,\tx", ErrProtocol},
	{"EPLF slash", "+r,\ta/b", ErrProtocol},

	// From jlaffaye/ftp parse_test.go: a mangled year.
	{"three-digit year", "drwxr-xr-x    3 110      1002            3 Dec 02  209 pub", errUnsupportedListLine},
	{"MLSD line", "modify=20150806235817;invalid;UNIX.owner=0; movies", errUnsupportedListLine},
	{"jlaffaye issue 97", "000000000x ", errUnsupportedListLine},
	// The second half of "new<LF>line" from vsftpd and proftpd.
	{"second half of a name with LF", "line", errUnsupportedListLine},
	{"ls -R header", "sub:", errUnsupportedListLine},
	{"German month", "-rw-r--r--   1 0 0 5 Okt 25 15:35 x", errUnsupportedListLine},
	{"seconds", "-rw-r--r--   1 0 0 5 Nov 25 15:35:12 x", errUnsupportedListLine},
	{"human size", "-rw-r--r--   1 0 0 1.0k Nov 25 15:35 x", errUnsupportedListLine},
	{"negative size", "-rw-r--r--   1 0 0 -5 Nov 25 15:35 x", errUnsupportedListLine},
	{"hour 24", "-rw-r--r--   1 0 0 5 Nov 25 24:00 x", errUnsupportedListLine},
	{"minute 60", "-rw-r--r--   1 0 0 5 Nov 25 23:60 x", errUnsupportedListLine},
	{"day 32", "-rw-r--r--   1 0 0 5 Nov 32 10:00 x", errUnsupportedListLine},
	{"day 0", "-rw-r--r--   1 0 0 5 Nov 0 10:00 x", errUnsupportedListLine},
	{"February 30", "-rw-r--r--   1 0 0 5 Feb 30  2020 x", errUnsupportedListLine},
	{"leap day in a common year", "-rw-r--r--   1 0 0 5 Feb 29 12:00 x", errUnsupportedListLine},
	{"bad permission letter", "-rw-r--r-q   1 0 0 5 Nov 25 15:35 x", errUnsupportedListLine},
	{"bad marker", "-rw-r--r--%  1 0 0 5 Nov 25 15:35 x", errUnsupportedListLine},
	{"mode only", "-rw-r--r--", errUnsupportedListLine},
	{"too few fields", "-rw-r--r-- Nov 25 15:35 x", errUnsupportedListLine},
	{"DOS month 13", "13-01-21  01:00PM                    5 x", errUnsupportedListLine},
	{"DOS February 30", "02-30-21  01:00PM                    5 x", errUnsupportedListLine},
	{"DOS 13PM", "02-23-21  13:04PM                    5 x", errUnsupportedListLine},
	{"DOS hour 24", "02-23-21  24:04                    5 x", errUnsupportedListLine},
	{"DOS no size", "04-06-1995  02:03", errUnsupportedListLine},
	{"DOS bad size", "02-23-21  03:04PM                1,23 x", errUnsupportedListLine},
	{"DOS bad thousands", "02-23-21  03:04PM                1234,567 x", errUnsupportedListLine},
	// Apache commons-net's bad samples (UnixFTPEntryParserTest,
	// VMSFTPEntryParserTest, OS2FTPEntryParserTest,
	// NetwareFTPEntryParserTest, OS400FTPEntryParserTest).
	{"commons-net Jam", "drwxr-xr-x   2 root     root         4096 Jam  4 00:03 zziplib", errUnsupportedListLine},
	{"commons-net 30:01", "drwxr-xr-x   2 root     99           4096 Feb 23 30:01 zzplayer", errUnsupportedListLine},
	{"commons-net date without time", "-rw-r--r--   1 root     root       190144 2001-04-27 zxJDBC-2.0.1b1.zip", errUnsupportedListLine},
	{"commons-net VMS FED", "AA.;2                  152/153        13-FED-1997 08:13:43  [GROUP,OWNER]    (RWED,RWED,RWED,RE)", errUnsupportedListLine},
	{"commons-net VMS bad blocks", "1-JUN.LIS;2              a/9           2-JUN-98 07:32:04  [GROUP,OWNER]    (RWED,RWED,RWED,)", errUnsupportedListLine},
	{"commons-net OS/2 25:49", "     0           DIR   13-05-97   25:49  MPTN", errUnsupportedListLine},
	{"commons-net Netware a", "a [-----F--] SCION_SYS                         512 Apr 13 23:52 SYS", errUnsupportedListLine},
	{"commons-net OS/400 STMF", "PEP              4019 04/03/18 18:58:16 STMF       einladung.zip", errUnsupportedListLine},
	{"VMS name alone", "UCX$REXECD_STARTUP.LOG;1098", errUnsupportedListLine},
	// z/OS dataset listings are refused with their own message.
	{"commons-net MVS dataset", "SAVE00 3390   2004/06/23  1    1  FB     128  6144  PS    INCOMING.RPTBM023.D061704", errMVS},
	{"commons-net MVS member", "TBSHELF1  01.03 2002/09/12 2002/10/11 09:37    11    11     0 KIL001", errMVS},
	{"commons-net MVS header", "Volume Unit    Referred Ext Used Recfm Lrecl BlkSz Dsorg Dsname", errMVS},
	{"EPLF without tab", "+i1,r, x", errUnsupportedListLine},
}

func TestParseListLineErrors(t *testing.T) {
	for _, tt := range listLineErrorTests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := parseListLine(tt.line, parseNow, time.UTC)
			if !errors.Is(err, tt.want) {
				t.Fatalf("parseListLine(%q) = %v, %v; want error %v", tt.line, e, err, tt.want)
			}
			if e != (Entry{}) {
				t.Errorf("parseListLine(%q) returned %v with its error", tt.line, e)
			}
		})
	}
}

// TestParseListLineOrder checks that each parser in the table declines
// the other formats' lines, so that the order of listLineParsers only
// matters for speed.
func TestParseListLineOrder(t *testing.T) {
	for _, tt := range listLineTests {
		n := 0
		for _, p := range listLineParsers {
			if _, err := p.parse(tt.line, parseNow, time.UTC); err != errUnsupportedListLine {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d parsers accept %q, want 1", n, tt.line)
		}
	}
}

// TestGoldenListings parses each testdata/listings/*.txt line by line, as
// Conn.list does (split at LF, CR dropped), and compares with the .golden.
func TestGoldenListings(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "listings", "*.txt"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no listings in testdata/listings: %v", err)
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			var parse func(string) (Entry, error)
			switch {
			case strings.HasSuffix(in, "-list.txt"):
				// Through a listing, which joins a VMS name alone on its
				// line with the next line.
				parse = testListing(1 << 30).parseLine
			case strings.HasSuffix(in, "-mlsd.txt"):
				parse = parseMLSDLine
			default:
				t.Fatalf("%s: name must end in -list.txt or -mlsd.txt", in)
			}
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for line := range strings.Lines(string(raw)) {
				line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
				switch e, err := parse(line); {
				case err == nil:
					b.WriteString(e.String())
				case errors.Is(err, errSkipLine):
					b.WriteString("skip")
				default:
					b.WriteString("error: " + err.Error())
				}
				b.WriteByte('\n')
			}
			got := b.String()
			golden := strings.TrimSuffix(in, ".txt") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
				for i := range max(len(gl), len(wl)) {
					var g, w string
					if i < len(gl) {
						g = gl[i]
					}
					if i < len(wl) {
						w = wl[i]
					}
					if g != w {
						t.Errorf("%s line %d:\n got %q\nwant %q", golden, i+1, g, w)
					}
				}
			}
		})
	}
}

func BenchmarkParseListLine(b *testing.B) {
	lines := []string{
		"-rw-r--r--    1 0        0            1024 Mar 10 23:00 file name.txt",
		"drwxr-xr-x    2 0        0            4096 Jan 02  2006 some directory",
		"lrwxrwxrwx    1 0        0              15 Nov 25 15:38 dirlink -> dir with spaces",
		"02-23-2021  03:04PM                 1234 file.txt",
	}
	for i := 0; b.Loop(); i++ {
		if _, err := parseListLine(lines[i%len(lines)], parseNow, time.UTC); err != nil {
			b.Fatal(err)
		}
	}
}

// TestParseListLineFormat: ParseListLine names the dialect of the
// parser that took a line, and says "no entry" for lines without one.
func TestParseListLineFormat(t *testing.T) {
	for _, tt := range []struct {
		line, format string
		noEntry, err bool
	}{
		{"-rw-r--r--    1 0        0            1024 Mar 10 23:00 file.txt", "unix", false, false},
		{"02-23-21  03:04PM       <DIR>          dir name", "dos", false, false},
		{"+i8388621.48594,m825718503,r,s280,\tdjb.html", "eplf", false, false},
		{"total 12", "", true, true},
		{"drwxr-xr-x    2 0        0            4096 Mar 10 23:00 ..", "unix", true, true},
		{"what is this", "", false, true},
	} {
		e, format, err := ParseListLine(tt.line, parseNow, time.UTC)
		if format != tt.format || IsNoEntry(err) != tt.noEntry || (err != nil) != tt.err {
			t.Errorf("ParseListLine(%q) = %v, %q, %v; want format %q, no entry %v, error %v", tt.line, e, format, err, tt.format, tt.noEntry, tt.err)
		}
	}
}
