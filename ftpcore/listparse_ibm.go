package ftpcore

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseOS2ListLine parses the listing of IBM OS/2's FTP server, as in
// Apache commons-net's and FileZilla's tests:
//
//	     0           DIR   12-30-97   12:32  jbrekke
//	 33280      A          02-09-97   13:49  OS2LDR
//	587823    RSA    DIR   01-08-97   13:58  OS2KRNL
//	36611      A    04-23-103  10:57  24-os2 file
//
// Size, attributes (A R S H, and DIR for a directory), MM-DD-YY, HH:MM,
// the name. Some servers count years from 1900 past 99 ("103" is 2003).
// As in DOS listings, leading spaces of a name are lost.
func parseOS2ListLine(line string, _ time.Time, loc *time.Location) (Entry, error) {
	size, rest := cutListField(line)
	if size == "" || !allDigits(size) {
		return Entry{}, errUnsupportedListLine
	}
	e := Entry{Type: TypeFile, Size: -1}
	var date string
	for range 4 {
		var f string
		f, rest = cutListField(rest)
		if f == "DIR" {
			e.Type = TypeDir
		} else if f == "" || strings.Trim(f, "ARSH") != "" {
			date = f
			break
		}
	}
	mon, day, year, ok := os2Date(date)
	if !ok {
		return Entry{}, errUnsupportedListLine
	}
	clock, rest := cutListField(rest)
	hour, minute, ok := dosClock(clock)
	if !ok || strings.ContainsAny(clock, "AaPp") {
		return Entry{}, errUnsupportedListLine
	}
	e.Time, e.Precision = time.Date(year, time.Month(mon), day, hour, minute, 0, 0, loc), TimeMinute
	e.Name = strings.TrimLeft(rest, " ")
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil {
		return Entry{}, fmt.Errorf("%w: size %s out of range", ErrProtocol, size)
	}
	e.Size = n
	return listEntry(e)
}

// os2Date reads MM-DD-YY, MM-DD-YYY (years past 1900) or MM-DD-YYYY.
func os2Date(s string) (mon, day, year int, ok bool) {
	parts := strings.Split(s, "-")
	if len(parts) != 3 || len(parts[0]) != 2 || len(parts[1]) != 2 || len(parts[2]) < 2 || len(parts[2]) > 4 {
		return 0, 0, 0, false
	}
	for _, p := range parts {
		if !allDigits(p) {
			return 0, 0, 0, false
		}
	}
	mon, day, year = atoiDigits(parts[0]), atoiDigits(parts[1]), atoiDigits(parts[2])
	switch len(parts[2]) {
	case 2:
		if year < 70 {
			year += 2000
		} else {
			year += 1900
		}
	case 3:
		year += 1900
	}
	if mon < 1 || mon > 12 || day < 1 || day > daysIn(time.Month(mon), year) {
		return 0, 0, 0, false
	}
	return mon, day, year, true
}

// parseOS400ListLine parses the listing of IBM i (OS/400) for the
// integrated file system, as in Apache commons-net's tests:
//
//	PEP              4019 04/03/18 18:58:16 *STMF      einladung.zip
//	PEP             36864 04/03/24 14:06:34 *DIR       dir1/
//	ZFTPDEV 9069 05/20/15 15:36:52 *STMF /DRV/AUDWRKSHET/AUDWRK0204232015114625.PDF
//
// What a mirror of it means: stream files (*STMF) are files and *DIR
// directories, mirrored byte for byte; every other object (*FILE, *MEM,
// *LIB, *PGM, ...: database files, members, programs) has no byte-exact
// file form and comes back as TypeOther, which a mirror leaves out. The
// date's field order follows the server job's date format (*YMD, *MDY,
// *DMY), which the listing does not say, so the time is left unknown.
func parseOS400ListLine(line string, _ time.Time, _ *time.Location) (Entry, error) {
	var buf [6]listField
	f := splitListFields(line, buf[:0])
	if len(f) < 6 || !allDigits(f[1].s) || !os400Date(f[2].s) || !os400Clock(f[3].s) || !strings.HasPrefix(f[4].s, "*") || len(f[4].s) < 2 {
		return Entry{}, errUnsupportedListLine
	}
	name := strings.TrimLeft(line[f[4].end:], " ")
	e := Entry{Type: TypeOther, Size: -1, Perm: f[4].s}
	switch f[4].s {
	case "*STMF":
		e.Type = TypeFile
		n, err := strconv.ParseInt(f[1].s, 10, 64)
		if err != nil {
			return Entry{}, fmt.Errorf("%w: size %s out of range", ErrProtocol, f[1].s)
		}
		e.Size = n
	case "*DIR":
		e.Type = TypeDir
		name = strings.TrimSuffix(name, "/")
	}
	// A path (NET-573 in commons-net) names its last element.
	if i := strings.LastIndexByte(name, '/'); i >= 0 && e.Type != TypeOther {
		name = name[i+1:]
	}
	e.Name = name
	return listEntry(e)
}

func os400Date(s string) bool {
	p := strings.Split(s, "/")
	return len(p) == 3 && len(p[0]) == 2 && len(p[1]) == 2 && len(p[2]) == 2 && allDigits(p[0]+p[1]+p[2])
}

func os400Clock(s string) bool {
	if len(s) != 8 || s[5] != ':' || !allDigits(s[6:]) || atoiDigits(s[6:]) > 59 {
		return false
	}
	_, _, ok := dosClock(s[:5])
	return ok
}

// errMVS: a z/OS (MVS) dataset or member listing. Datasets are record
// files (fixed or variable records, a block size) and PDS members parts
// of them; neither has a byte-exact file form that a mirror could keep
// and compare, so they are refused, one line at a time, with this
// message.
var errMVS = fmt.Errorf("%w: a z/OS (MVS) dataset listing: datasets and PDS members are records, not files, and are not mirrored", errUnsupportedListLine)

// parseMVSListLine recognises the dataset and member listings of z/OS
// FTP servers (Apache commons-net's and FileZilla's tests) to refuse
// them with errMVS:
//
//	Volume Unit    Referred Ext Used Recfm Lrecl BlkSz Dsorg Dsname
//	SAVE00 3390   2004/06/23  1    1  FB     128  6144  PS    INCOMING.RPTBM023.D061704
//	Name      VV.MM   Created       Changed      Size  Init   Mod   Id
//	TBSHELF1  01.03 2002/09/12 2002/10/11 09:37    11    11     0 KIL001
func parseMVSListLine(line string, _ time.Time, _ *time.Location) (Entry, error) {
	if strings.HasPrefix(line, "Volume Unit") || strings.HasPrefix(line, "Name      VV.MM") {
		return Entry{}, errMVS
	}
	var buf [4]listField
	f := splitListFields(line, buf[:0])
	switch {
	case len(f) >= 3 && len(f[1].s) == 4 && allDigits(f[1].s) && mvsDate(f[2].s):
		return Entry{}, errMVS // volume, unit (3390), referred date
	case len(f) >= 4 && mvsVersion(f[1].s) && mvsDate(f[2].s) && mvsDate(f[3].s):
		return Entry{}, errMVS // member, VV.MM, created, changed
	}
	return Entry{}, errUnsupportedListLine
}

func mvsDate(s string) bool {
	return len(s) == 10 && s[4] == '/' && s[7] == '/' && allDigits(s[:4]+s[5:7]+s[8:])
}

func mvsVersion(s string) bool {
	return len(s) == 5 && s[2] == '.' && allDigits(s[:2]+s[3:])
}
