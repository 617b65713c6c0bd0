package ftpcore

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// errUnsupportedListLine: no parser understood the line.
var errUnsupportedListLine = errors.New("unsupported LIST line")

// errSkipLine: a line that carries no entry ("total 12", a blank line,
// "." and "..", MLSD cdir and pdir).
var errSkipLine = errors.New("no entry on this line")

// listLineParsers are tried in order by parseListLine until one returns
// something other than errUnsupportedListLine. A new server format is one
// more function here and one more row in listparse_test.go.
var listLineParsers = []struct {
	format string // the dialect's name, for ParseListLine
	parse  func(line string, now time.Time, loc *time.Location) (Entry, error)
}{
	{"", parseListSkipLine},
	{"unix", parseUnixListLine},
	{"dos", parseDOSListLine},
	{"eplf", parseEPLFListLine},
	{"vms", parseVMSListLine},
	{"os2", parseOS2ListLine},
	{"os400", parseOS400ListLine},
	{"mvs", parseMVSListLine},
}

// parseListLine parses one line of a LIST reply, without its line ending.
// LIST has no standard format (RFC 959 leaves it to the server); most
// servers imitate "ls -l", IIS imitates DOS "dir".
//
// now and loc (the server's time zone, nil for UTC) decide the year of
// dates that come without one, as "Jan 25 00:17" does: see lsDate.
func parseListLine(line string, now time.Time, loc *time.Location) (Entry, error) {
	e, _, err := ParseListLine(line, now, loc)
	return e, err
}

// ParseListLine parses one line of a LIST reply as List does, and names
// the dialect of the parser that understood it: "unix", "dos", "eplf",
// "vms", "os2", "os400" or "mvs". A line that carries no entry ("total
// 12", a blank line, "." and "..") gives an error for which IsNoEntry
// is true; a line no parser understands gives format "" and an error;
// a line in a known dialect that names something invalid gives its
// format and an error wrapping ErrProtocol.
func ParseListLine(line string, now time.Time, loc *time.Location) (e Entry, format string, err error) {
	if loc == nil {
		loc = time.UTC
	}
	for _, p := range listLineParsers {
		e, err := p.parse(line, now, loc)
		if err != errUnsupportedListLine {
			return e, p.format, err
		}
	}
	return Entry{}, "", errUnsupportedListLine
}

// IsNoEntry reports whether err, from ParseListLine, says the line
// carries no entry ("total 12", "." and ".."): not a fault.
func IsNoEntry(err error) bool { return errors.Is(err, errSkipLine) }

// parseListSkipLine recognises lines without an entry: blank lines
// (pure-ftpd separates the parts of "LIST -R" with them), the "total 80"
// that GNU ls and servers running it print first, and VMS's header and
// trailer ("Directory USER1:[TEMP]", "Total of 6 files, 54 blocks.").
func parseListSkipLine(line string, _ time.Time, _ *time.Location) (Entry, error) {
	s := strings.Trim(line, " ")
	if s == "" {
		return Entry{}, errSkipLine
	}
	if d, ok := strings.CutPrefix(s, "Directory "); ok && strings.Contains(d, ":[") && strings.HasSuffix(d, "]") && !strings.Contains(d, " ") {
		return Entry{}, errSkipLine
	}
	if t, ok := strings.CutPrefix(s, "Total "); ok && (strings.HasPrefix(t, "of ") || strings.HasSuffix(t, " files")) {
		return Entry{}, errSkipLine
	}
	if n, ok := strings.CutPrefix(s, "total "); ok {
		if n = strings.TrimLeft(n, " "); n != "" && allDigits(n) {
			return Entry{}, errSkipLine
		}
	}
	return Entry{}, errUnsupportedListLine
}

// listField is one space-separated field of a line; end is the offset of
// the byte after it.
type listField struct {
	s   string
	end int
}

// maxUnixFields bounds how far parseUnixListLine looks for the date. The
// widest known layout is Cygwin's, whose group name may hold spaces
// ("group with spaces in it as allowed in cygwin see bug 38634" in
// Apache commons-net's tests): 24 fields leave room for it.
const maxUnixFields = 24

// parseUnixListLine parses the "ls -l" style that vsftpd, proftpd,
// pure-ftpd and most other servers send:
//
//	-rw-r--r--    1 0        0            1024 Mar 10 23:00 file name.txt
//	lrwxrwxrwx    1 0        0               7 Nov 25 15:38 dangling -> nowhere
//	crw-r--r--  1 root root       1, 3 Nov 25 15:38 null
//	drwxr-xr-x               folder        0 Aug 15 05:49 no links column
//	drwxr-x---+1464 chrism   chrism     41472 Feb 25 13:17 20090225
//	d [RWCEAFMS] rwinston                 512 Nov 24  2005 Favorites (Netware)
//
// Owner, group and link count vary in number and width between servers,
// so the line is anchored on the date instead: the first date (see
// lsDateAt) that follows a size. The name is everything after the one
// space that follows the date, so names with leading, trailing or
// repeated spaces survive. Spaces before the mode are dropped.
func parseUnixListLine(line string, now time.Time, loc *time.Location) (Entry, error) {
	line = strings.TrimLeft(line, " ")
	mode, _, ok := strings.Cut(line, " ")
	if !ok {
		return Entry{}, errUnsupportedListLine
	}
	var buf [maxUnixFields]listField
	fields := splitListFields(line, buf[:0])
	typ, perm, ok := unixModeType(mode)
	if !ok {
		// Netware: a type letter, then the rights in brackets.
		if len(fields) < 2 || (mode != "d" && mode != "-") {
			return Entry{}, errUnsupportedListLine
		}
		r := fields[1].s
		if len(r) < 3 || r[0] != '[' || r[len(r)-1] != ']' {
			return Entry{}, errUnsupportedListLine
		}
		typ, perm = TypeFile, r
		if mode == "d" {
			typ = TypeDir
		}
	}
	netware := perm[0] == '['

	for i := 3; i < len(fields); i++ {
		t, prec, n, ok := lsDateAt(fields[i:], now, loc)
		if !ok {
			continue
		}
		size, device, ok := lsSize(fields[i-2].s, fields[i-1].s)
		if !ok {
			continue
		}
		e := Entry{Type: typ, Size: -1, Time: t, Precision: prec, Perm: perm}
		if !device {
			n, err := strconv.ParseInt(size, 10, 64)
			if err != nil {
				return Entry{}, fmt.Errorf("%w: size %s out of range", ErrProtocol, size)
			}
			e.Size = n
		}
		end := fields[i+n-1].end
		if end < len(line) {
			e.Name = line[end+1:]
		}
		if netware {
			// Names are padded to a column (FileZilla's tests).
			e.Name = strings.TrimLeft(e.Name, " ")
		}
		if typ == TypeSymlink || typ == TypeDir {
			// Some servers show a link to a directory as a directory,
			// with its target.
			if name, target, ok := strings.Cut(e.Name, " -> "); ok {
				e.Name, e.Target = name, target
			}
		}
		return listEntry(e)
	}
	return Entry{}, errUnsupportedListLine
}

// lsDateAt reads a date at the start of f and returns it with the number
// of fields it took:
//
//	Mar 10 23:00, Jan 02  2006   month, day, time or year (ls)
//	02 Mar 16:27, 02 Mar  2006   day first (AIX, per Apache commons-net)
//	2005-04-08 11:22             ISO (ls --time-style=long-iso)
//	6月 3日 12:00, 6月 3日 2003年  CJK month and day (Japanese ls)
func lsDateAt(f []listField, now time.Time, loc *time.Location) (time.Time, TimePrecision, int, bool) {
	if len(f) >= 2 {
		if y, m, d, ok := isoDate(f[0].s); ok {
			if h, mi, ok := dosClock(f[1].s); ok && !strings.ContainsAny(f[1].s, "AaPp") {
				return time.Date(y, time.Month(m), d, h, mi, 0, 0, loc), TimeMinute, 2, true
			}
		}
	}
	if len(f) < 3 {
		return time.Time{}, 0, 0, false
	}
	if mon, ok := lsMonth(f[0].s); ok {
		t, prec, ok := lsDate(mon, f[1].s, f[2].s, now, loc)
		return t, prec, 3, ok
	}
	if mon, ok := lsMonth(f[1].s); ok {
		t, prec, ok := lsDate(mon, f[0].s, f[2].s, now, loc)
		return t, prec, 3, ok
	}
	if mon, ok := cjkNumber(f[0].s, "月", "월"); ok && mon >= 1 && mon <= 12 {
		if day, ok := cjkNumber(f[1].s, "日", "일"); ok {
			last := f[2].s
			if y, ok := cjkNumber(last, "年", "년"); ok {
				last = strconv.Itoa(y)
			}
			t, prec, ok := lsDate(time.Month(mon), strconv.Itoa(day), last, now, loc)
			return t, prec, 3, ok
		}
	}
	return time.Time{}, 0, 0, false
}

// cjkNumber reads the digits before one of the suffixes: "6月" is 6.
func cjkNumber(s string, suffixes ...string) (int, bool) {
	for _, suf := range suffixes {
		if n, ok := strings.CutSuffix(s, suf); ok && n != "" && len(n) <= 4 && allDigits(n) {
			return atoiDigits(n), true
		}
	}
	return 0, false
}

// isoDate reads YYYY-MM-DD.
func isoDate(s string) (year, mon, day int, ok bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' || !allDigits(s[:4]) || !allDigits(s[5:7]) || !allDigits(s[8:]) {
		return 0, 0, 0, false
	}
	year, mon, day = atoiDigits(s[:4]), atoiDigits(s[5:7]), atoiDigits(s[8:])
	if year < 1000 || mon < 1 || mon > 12 || day < 1 || day > daysIn(time.Month(mon), year) {
		return 0, 0, 0, false
	}
	return year, mon, day, true
}

// listEntry is the last step of every listing parser: "." and ".." are
// skipped (pure-ftpd -D and "LIST -a" elsewhere list them), any other
// name that is not one path component is a protocol error, and so is a
// symlink target with NUL, CR or LF.
func listEntry(e Entry) (Entry, error) {
	if e.Name == "." || e.Name == ".." {
		return Entry{}, errSkipLine
	}
	if !validName(e.Name) {
		return Entry{}, fmt.Errorf("%w: bad name %q", ErrProtocol, e.Name)
	}
	if strings.ContainsAny(e.Target, "\x00\r\n") {
		return Entry{}, fmt.Errorf("%w: bad symlink target %q", ErrProtocol, e.Target)
	}
	return e, nil
}

// splitListFields appends to dst the space-separated fields of line, up
// to cap(dst).
func splitListFields(line string, dst []listField) []listField {
	i := 0
	for len(dst) < cap(dst) {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		if i == len(line) {
			break
		}
		j := i
		for j < len(line) && line[j] != ' ' {
			j++
		}
		dst = append(dst, listField{s: line[i:j], end: j})
		i = j
	}
	return dst
}

// unixModeType checks an ls mode string: a type letter, nine permission
// characters and an optional marker ('+' ACL, '.' SELinux context, '@'
// macOS extended attributes), and returns the type and the mode without
// what may follow it: some servers glue the link count on
// ("drwxr-x---+1464", in Apache commons-net's tests).
func unixModeType(mode string) (EntryType, string, bool) {
	if len(mode) < 10 {
		return 0, "", false
	}
	perm := mode[:10]
	if rest := mode[10:]; rest != "" {
		if strings.ContainsRune("+.@", rune(rest[0])) {
			perm, rest = mode[:11], rest[1:]
		}
		if rest != "" && !allDigits(rest) {
			return 0, "", false
		}
	}
	for i := 1; i < 10; i++ {
		if !strings.ContainsRune("-rwxsStTlL", rune(mode[i])) {
			return 0, "", false
		}
	}
	switch c := mode[0]; {
	case c == '-':
		return TypeFile, perm, true
	case c == 'd':
		return TypeDir, perm, true
	case c == 'l':
		return TypeSymlink, perm, true
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '?':
		// b c p s, Solaris door D, HP-UX network n, and the like.
		return TypeOther, perm, true
	}
	return 0, "", false
}

var lsMonths = [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

// lsMonth reads an English month abbreviation. Servers that localise
// month names are not supported.
func lsMonth(s string) (time.Month, bool) {
	if len(s) != 3 {
		return 0, false
	}
	for i, m := range lsMonths {
		if strings.EqualFold(s, m) {
			return time.Month(i + 1), true
		}
	}
	return 0, false
}

// lsSize reads the field before the date: a decimal size, or for a device
// the "major, minor" pair ("1, 3" as two fields, or "1,3"), for which the
// size is unknown. prev is the field before that.
func lsSize(prev, s string) (size string, device, ok bool) {
	if major, minor, ok := strings.Cut(s, ","); ok {
		return "", true, major != "" && allDigits(major) && allDigits(minor)
	}
	if s == "" || !allDigits(s) {
		return "", false, false
	}
	if major, ok := strings.CutSuffix(prev, ","); ok && major != "" && allDigits(major) {
		return "", true, true
	}
	return s, false, true
}

// lsDate reads the "DD HH:MM" or "DD YYYY" after a month. ls shows the
// year only for dates more than six months away, so "HH:MM" dates get
// the year that puts them no more than a day after now (a day of slack
// for clocks and time zones): GNU ls and vsftpd 3.0.3 show the year for
// every future date, so an "HH:MM" date after now+1d belongs to the year
// before.
//
// proftpd 1.3.8 and pure-ftpd 1.0.50 differ: they show "HH:MM" for any
// date less than 180 days old, which includes every date in the future
// (a file touched to 2027-03-01 is listed as "Mar  1 00:00" in November
// 2026), so such a file comes out a year too early. MLSD, which both
// offer, does not have the problem.
func lsDate(mon time.Month, day, hm string, now time.Time, loc *time.Location) (time.Time, TimePrecision, bool) {
	if len(day) == 0 || len(day) > 2 || !allDigits(day) {
		return time.Time{}, 0, false
	}
	d := atoiDigits(day)
	if len(hm) == 4 && allDigits(hm) {
		y := atoiDigits(hm)
		if y < 1000 || d < 1 || d > daysIn(mon, y) {
			return time.Time{}, 0, false
		}
		return time.Date(y, mon, d, 0, 0, 0, 0, loc), TimeDay, true
	}
	h, m, ok := strings.Cut(hm, ":")
	if !ok || len(h) == 0 || len(h) > 2 || len(m) != 2 || !allDigits(h) || !allDigits(m) {
		return time.Time{}, 0, false
	}
	hour, minute := atoiDigits(h), atoiDigits(m)
	if hour > 23 || minute > 59 {
		return time.Time{}, 0, false
	}
	y := now.In(loc).Year()
	if time.Date(y, mon, d, hour, minute, 0, 0, loc).Sub(now) > 24*time.Hour {
		y--
	}
	if d < 1 || d > daysIn(mon, y) {
		return time.Time{}, 0, false
	}
	return time.Date(y, mon, d, hour, minute, 0, 0, loc), TimeMinute, true
}

// parseDOSListLine parses the MS-DOS "dir" style of IIS and a few
// Windows servers:
//
//	02-23-21  03:04PM       <DIR>          dir name
//	02-23-2021  03:04PM                 1234 file.txt
//	2021-02-23  15:04                   1234 file.txt
//	2002-09-02  19:06                9,730 file.txt (FileZilla's tests)
//	02/27/2021 07:29 PM      <DIR>           dir (cmd.exe's dir)
//
// Two-digit years are 1970-2069. The spaces before the name are padding
// of the size column, so leading spaces of a name cannot be told apart
// from it and are lost.
func parseDOSListLine(line string, _ time.Time, loc *time.Location) (Entry, error) {
	date, rest := cutListField(line)
	clock, rest := cutListField(rest)
	if ampm, after := cutListField(rest); strings.EqualFold(ampm, "AM") || strings.EqualFold(ampm, "PM") {
		clock, rest = clock+ampm, after
	}
	sizeField, rest := cutListField(rest)
	year, mon, day, ok := dosDate(date)
	if !ok {
		return Entry{}, errUnsupportedListLine
	}
	hour, minute, ok := dosClock(clock)
	if !ok || day > daysIn(time.Month(mon), year) {
		return Entry{}, errUnsupportedListLine
	}
	e := Entry{
		Type:      TypeFile,
		Size:      -1,
		Time:      time.Date(year, time.Month(mon), day, hour, minute, 0, 0, loc),
		Precision: TimeMinute,
		Name:      strings.TrimLeft(rest, " "),
	}
	switch {
	case sizeField == "<DIR>":
		e.Type = TypeDir
	case dosSize(sizeField) != "":
		sizeField = dosSize(sizeField)
		n, err := strconv.ParseInt(sizeField, 10, 64)
		if err != nil {
			return Entry{}, fmt.Errorf("%w: size %s out of range", ErrProtocol, sizeField)
		}
		e.Size = n
	default:
		return Entry{}, errUnsupportedListLine
	}
	return listEntry(e)
}

// cutListField returns the first space-separated field of s and what
// follows it, starting with the space.
func cutListField(s string) (field, rest string) {
	s = strings.TrimLeft(s, " ")
	i := strings.IndexByte(s, ' ')
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

// dosSize returns the digits of a size, which may have thousands
// separators ("9,730"), or "" if s is no size.
func dosSize(s string) string {
	if s == "" || !strings.Contains(s, ",") {
		if s != "" && allDigits(s) {
			return s
		}
		return ""
	}
	groups := strings.Split(s, ",")
	for i, g := range groups {
		if !allDigits(g) || g == "" || len(g) > 3 || i > 0 && len(g) != 3 {
			return ""
		}
	}
	return strings.Join(groups, "")
}

// dosDate reads MM-DD-YY, MM-DD-YYYY, YYYY-MM-DD or MM/DD/YYYY.
func dosDate(s string) (year, mon, day int, ok bool) {
	sep := "-"
	if strings.Count(s, "/") == 2 && len(s) == 10 {
		sep = "/"
	}
	parts := strings.Split(s, sep)
	if len(parts) != 3 {
		return 0, 0, 0, false
	}
	for _, p := range parts {
		if p == "" || len(p) > 4 || !allDigits(p) {
			return 0, 0, 0, false
		}
	}
	switch {
	case len(parts[0]) == 4 && len(parts[1]) == 2 && len(parts[2]) == 2:
		year, mon, day = atoiDigits(parts[0]), atoiDigits(parts[1]), atoiDigits(parts[2])
	case len(parts[0]) == 2 && len(parts[1]) == 2 && len(parts[2]) == 4:
		mon, day, year = atoiDigits(parts[0]), atoiDigits(parts[1]), atoiDigits(parts[2])
	case len(parts[0]) == 2 && len(parts[1]) == 2 && len(parts[2]) == 2:
		mon, day, year = atoiDigits(parts[0]), atoiDigits(parts[1]), atoiDigits(parts[2])
		if year < 70 {
			year += 2000
		} else {
			year += 1900
		}
	default:
		return 0, 0, 0, false
	}
	if year < 1000 || mon < 1 || mon > 12 || day < 1 {
		return 0, 0, 0, false
	}
	return year, mon, day, true
}

// dosClock reads "03:04PM" (12-hour) or "15:04" (24-hour).
func dosClock(s string) (hour, minute int, ok bool) {
	ampm := ""
	if n := len(s); n > 2 && (strings.EqualFold(s[n-2:], "AM") || strings.EqualFold(s[n-2:], "PM")) {
		s, ampm = s[:n-2], strings.ToUpper(s[n-2:])
	}
	h, m, found := strings.Cut(s, ":")
	if !found || len(h) == 0 || len(h) > 2 || len(m) != 2 || !allDigits(h) || !allDigits(m) {
		return 0, 0, false
	}
	hour, minute = atoiDigits(h), atoiDigits(m)
	switch {
	case minute > 59:
		return 0, 0, false
	case ampm == "":
		return hour, minute, hour <= 23
	case hour < 1 || hour > 12:
		return 0, 0, false
	case hour == 12:
		hour = 0
	}
	if ampm == "PM" {
		hour += 12
	}
	return hour, minute, true
}

// parseEPLFListLine parses the Easily Parsed LIST Format of D. J.
// Bernstein's publicfile and anonftpd (https://cr.yp.to/ftp/list/eplf.html):
//
//	+i8388621.48594,m825718503,r,s280,	djb.html
//
// '+', comma-terminated facts, a tab, the name. 'r' marks a file, '/' a
// directory, "s" the size, "m" the time in seconds since 1970 (UTC),
// "i" an identifier, "up" the permissions in octal.
func parseEPLFListLine(line string, _ time.Time, _ *time.Location) (Entry, error) {
	facts, name, ok := strings.Cut(line, "\t")
	if !ok || !strings.HasPrefix(facts, "+") {
		return Entry{}, errUnsupportedListLine
	}
	e := Entry{Type: TypeOther, Size: -1, Name: name}
	for _, f := range strings.Split(facts[1:], ",") {
		if f == "" {
			continue
		}
		switch v := f[1:]; f[0] {
		case 'r':
			if e.Type != TypeDir {
				e.Type = TypeFile
			}
		case '/':
			e.Type = TypeDir
		case 's':
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || !allDigits(v) {
				return Entry{}, fmt.Errorf("%w: bad EPLF size %q", ErrProtocol, v)
			}
			e.Size = n
		case 'm':
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || !allDigits(v) || n > maxEPLFTime {
				return Entry{}, fmt.Errorf("%w: bad EPLF time %q", ErrProtocol, v)
			}
			e.Time, e.Precision = time.Unix(n, 0).UTC(), TimeExact
		case 'i':
			e.Unique = v
		case 'u':
			if p, ok := strings.CutPrefix(v, "p"); ok {
				e.Perm = p
			}
		}
	}
	return listEntry(e)
}

// maxEPLFTime is 9999-12-31T23:59:59Z, the last second a four-digit year
// can name; later values are certainly bogus.
const maxEPLFTime = 253402300799
