package ftpcore

import (
	"strings"
	"time"
)

// parseVMSListLine parses the LIST lines of OpenVMS servers (MultiNet,
// TCPware, HP TCP/IP Services), as in Apache commons-net's and
// FileZilla's tests:
//
//	1-JUN.LIS;1              9/9           2-JUN-1998 07:32:04  [GROUP,OWNER]    (RWED,RWED,RWED,RE)
//	DATA.DIR;1               1/9           2-JUN-1998 07:32:04  [TRANSLATED]     (,RWED,RWED,RE)
//	34-vms-file;1       155   2-JUL-2003 10:30:13.64
//	35-vms-notime-file;1    2/8    15-JAN-2000    [IV2_XXX]   (RWED,RWED,RE,)
//	57-vms-alternate-field-order-file;1   [SUMMARY]    1/3     2-AUG-2006 13:05  (RWE,RWE,RE,)
//
// The name comes without its version (";1"): RETR of a name without a
// version fetches the newest, and the listing keeps the entry of the
// newest version only (Entry.version, see listing). A directory is
// "NAME.DIR;1" and comes back as "NAME". Sizes are in blocks of 512
// bytes, used and allocated, which do not say the size in bytes: Size is
// -1. Times are the server's, to the minute.
//
// A name too long for its column goes on a line of its own, the rest on
// the next (listing joins the two; see vmsNameOnly).
func parseVMSListLine(line string, _ time.Time, loc *time.Location) (Entry, error) {
	var buf [8]listField
	fields := splitListFields(line, buf[:0])
	if len(fields) < 3 {
		return Entry{}, errUnsupportedListLine
	}
	name, version, ok := vmsName(fields[0].s)
	if !ok {
		return Entry{}, errUnsupportedListLine
	}
	e := Entry{Type: TypeFile, Size: -1, Name: name, version: version}
	sized := false
	for i := 1; i < len(fields); i++ {
		f := fields[i].s
		switch {
		case vmsBlocks(f):
			sized = true
		case strings.HasPrefix(f, "["):
			// [GROUP,OWNER], [TRANSLATED], [SUMMARY]
		case strings.HasPrefix(f, "(") && strings.HasSuffix(f, ")"):
			e.Perm = f
		default:
			y, m, d, ok := vmsDate(f)
			if !ok || !sized || e.Precision != TimeUnknown {
				return Entry{}, errUnsupportedListLine
			}
			e.Time, e.Precision = time.Date(y, time.Month(m), d, 0, 0, 0, 0, loc), TimeDay
			if i+1 < len(fields) {
				if h, mi, ok := vmsClock(fields[i+1].s); ok {
					e.Time, e.Precision = e.Time.Add(time.Duration(h)*time.Hour+time.Duration(mi)*time.Minute), TimeMinute
					i++
				}
			}
		}
	}
	if e.Precision == TimeUnknown {
		return Entry{}, errUnsupportedListLine
	}
	if n := len(e.Name); n > 4 && strings.EqualFold(e.Name[n-4:], ".DIR") {
		e.Type, e.Name = TypeDir, e.Name[:n-4]
	}
	return listEntry(e)
}

// vmsName splits "NAME.EXT;12" into the name and the version.
func vmsName(s string) (string, int, bool) {
	i := strings.LastIndexByte(s, ';')
	if i <= 0 || i == len(s)-1 || len(s)-i > 6 || !allDigits(s[i+1:]) {
		return "", 0, false
	}
	return s[:i], atoiDigits(s[i+1:]), true
}

// vmsNameOnly reports whether line is a VMS name alone, whose entry
// goes on in the next line.
func vmsNameOnly(line string) bool {
	if strings.ContainsAny(line, " \t") {
		return false
	}
	_, _, ok := vmsName(line)
	return ok
}

// vmsBlocks reads a size in blocks: "9/9" (used/allocated) or "155".
func vmsBlocks(s string) bool {
	used, alloc, found := strings.Cut(s, "/")
	return used != "" && len(used) <= 12 && allDigits(used) && (!found || alloc != "" && len(alloc) <= 12 && allDigits(alloc))
}

// vmsDate reads "2-JUN-1998" (the month in any case).
func vmsDate(s string) (year, mon, day int, ok bool) {
	parts := strings.Split(s, "-")
	if len(parts) != 3 || len(parts[0]) < 1 || len(parts[0]) > 2 || !allDigits(parts[0]) || len(parts[2]) != 4 || !allDigits(parts[2]) {
		return 0, 0, 0, false
	}
	m, ok := lsMonth(parts[1])
	if !ok {
		return 0, 0, 0, false
	}
	year, mon, day = atoiDigits(parts[2]), int(m), atoiDigits(parts[0])
	if year < 1000 || day < 1 || day > daysIn(m, year) {
		return 0, 0, 0, false
	}
	return year, mon, day, true
}

// vmsClock reads "07:32", "07:32:04" or "10:30:13.64", to the minute.
func vmsClock(s string) (hour, minute int, ok bool) {
	if len(s) < 5 || s[2] != ':' {
		return 0, 0, false
	}
	if rest := s[5:]; rest != "" {
		sec, frac, _ := strings.Cut(rest, ".")
		if len(sec) != 3 || sec[0] != ':' || !allDigits(sec[1:]) || atoiDigits(sec[1:]) > 59 || !allDigits(frac) {
			return 0, 0, false
		}
	}
	return dosClock(s[:5])
}

// newestVersions keeps, of the entries with a VMS version, the newest
// of each name, where the oldest stood.
func newestVersions(entries []Entry) []Entry {
	newest := map[string]int{} // name -> index in out
	out := entries[:0]
	for _, e := range entries {
		if e.version == 0 {
			out = append(out, e)
			continue
		}
		if i, ok := newest[e.Name]; ok {
			if e.version > out[i].version {
				out[i] = e
			}
			continue
		}
		newest[e.Name] = len(out)
		out = append(out, e)
	}
	return out
}
