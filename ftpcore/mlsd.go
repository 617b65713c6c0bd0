package ftpcore

import (
	"fmt"
	"strconv"
	"strings"
)

// parseMLSDLine parses one line of an MLSD listing (RFC 3659 7.2):
// "fact=value;fact=value; name". Fact names and type values are
// case-insensitive; unknown facts are ignored.
//
//	type    file, dir; cdir and pdir give errSkipLine; OS.unix=symlink
//	        (proftpd) and OS.unix=slink:target (pure-ftpd) give
//	        TypeSymlink; anything else (pure-ftpd's "unknown" for fifos
//	        and devices) TypeOther, as does a missing type
//	size    Size; sizd (pure-ftpd's size of a directory) when size is absent
//	modify  Time in UTC with TimeExact; a value that does not parse
//	        leaves TimeUnknown rather than failing the line
//	unique  Unique
//	perm    Perm; UNIX.mode ("0644") when there is no perm fact
//
// The facts end at the first "; ", not at the first space: pure-ftpd
// 1.0.50 puts the symlink target unquoted into the type fact, spaces and
// all ("type=OS.unix=slink:dir with spaces;size=15;...; dirlink"). A line
// that starts with a space has no facts. The name is the rest of the line
// and may contain spaces and ';'.
func parseMLSDLine(line string) (Entry, error) {
	if strings.Trim(line, " ") == "" {
		return Entry{}, errSkipLine
	}
	facts, name, ok := cutMLSDFacts(line)
	if !ok {
		return Entry{}, fmt.Errorf("%w: no facts before the name", ErrProtocol)
	}
	e := Entry{Type: TypeOther, Size: -1, Name: name}
	sizd := int64(-1)
	mode, havePerm := "", false
	for facts != "" {
		var f string
		f, facts, _ = strings.Cut(facts, ";")
		if f == "" {
			continue
		}
		key, val, ok := strings.Cut(f, "=")
		if !ok || key == "" {
			return Entry{}, fmt.Errorf("%w: bad fact %q", ErrProtocol, f)
		}
		switch {
		case strings.EqualFold(key, "type"):
			typ, target, skip := mlsdType(val)
			if skip {
				return Entry{}, errSkipLine
			}
			e.Type, e.Target = typ, target
		case strings.EqualFold(key, "size"):
			n, err := mlsdSize(val)
			if err != nil {
				return Entry{}, err
			}
			e.Size = n
		case strings.EqualFold(key, "sizd"):
			n, err := mlsdSize(val)
			if err != nil {
				return Entry{}, err
			}
			sizd = n
		case strings.EqualFold(key, "modify"):
			if t, ok := scanTimeVal(val); ok {
				e.Time, e.Precision = t, TimeExact
			}
		case strings.EqualFold(key, "unique"):
			e.Unique = val
		case strings.EqualFold(key, "perm"):
			e.Perm, havePerm = val, true
		case strings.EqualFold(key, "UNIX.mode"):
			mode = val
		}
	}
	if e.Size < 0 {
		e.Size = sizd
	}
	if !havePerm {
		e.Perm = mode
	}
	return listEntry(e)
}

// cutMLSDFacts splits a line into its facts (with the final ';') and the
// name.
func cutMLSDFacts(line string) (facts, name string, ok bool) {
	if name, ok := strings.CutPrefix(line, " "); ok {
		return "", name, true
	}
	if i := strings.Index(line, "; "); i >= 0 {
		return line[:i+1], line[i+2:], true
	}
	// Facts without the final ';' that RFC 3659 asks for.
	facts, name, ok = strings.Cut(line, " ")
	return facts, name, ok && strings.Contains(facts, "=")
}

// mlsdType interprets the value of a type fact.
func mlsdType(v string) (typ EntryType, target string, skip bool) {
	switch {
	case strings.EqualFold(v, "file"):
		return TypeFile, "", false
	case strings.EqualFold(v, "dir"):
		return TypeDir, "", false
	case strings.EqualFold(v, "cdir"), strings.EqualFold(v, "pdir"):
		return 0, "", true
	}
	const prefix = "os.unix=slink"
	if len(v) >= len(prefix) && strings.EqualFold(v[:len(prefix)], prefix) {
		target, _ := strings.CutPrefix(v[len(prefix):], ":")
		return TypeSymlink, target, false
	}
	if strings.EqualFold(v, "os.unix=symlink") {
		return TypeSymlink, "", false
	}
	return TypeOther, "", false
}

// mlsdSize parses a size or sizd fact: a non-negative decimal that fits
// an int64.
func mlsdSize(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || v == "" || !allDigits(v) {
		return 0, fmt.Errorf("%w: bad size %q", ErrProtocol, v)
	}
	return n, nil
}
