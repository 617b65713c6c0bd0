package mirror

import (
	"fmt"
	"path"
	"runtime"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// maxNameBytes is NAME_MAX on Linux and most file systems.
const maxNameBytes = 255

// checkName returns an error unless a remote name can be one local path
// component on this platform: see checkNameFor.
func checkName(name string) error {
	return checkNameFor(runtime.GOOS == "windows", name)
}

// checkNameFor returns an error unless a remote name can be one local
// path component: not empty, ".", or ".."; at most 255 bytes; not one of
// ftpmirror's own temporary names; and no '/' or NUL, the only bytes a
// POSIX file name cannot hold. Every other byte is kept exactly: a
// backslash, a tab or an escape byte is legal in a POSIX name, and
// os.Root keeps the name where it is put. Wherever a name is shown it is
// quoted (quotePath).
//
// Windows targets keep stricter rules: '\' is a separator there, and
// control bytes, <>:"|?*, a trailing dot or space, and device names
// (CON, NUL, COM1, ...) cannot be stored or mean something else.
func checkNameFor(windows bool, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty name")
	case name == "." || name == "..":
		return fmt.Errorf("name %q is a path", name)
	case len(name) > maxNameBytes:
		return fmt.Errorf("name of %d bytes is longer than %d", len(name), maxNameBytes)
	case isTempName(name):
		return fmt.Errorf("name %q looks like ftpmirror's temporary files", name)
	}
	for i := 0; i < len(name); i++ {
		switch b := name[i]; {
		case b == '/' || windows && b == '\\':
			return fmt.Errorf("name %q holds a path separator", name)
		case b == 0 || windows && (b < 0x20 || b == 0x7f):
			return fmt.Errorf("name %q holds control byte %#02x", name, b)
		case windows && strings.IndexByte(`<>:"|?*`, b) >= 0:
			return fmt.Errorf("name %q holds %q, which Windows does not allow", name, b)
		}
	}
	if windows {
		if strings.HasSuffix(name, ".") || strings.HasSuffix(name, " ") {
			return fmt.Errorf("name %q ends in a dot or space, which Windows drops", name)
		}
		base, _, _ := strings.Cut(name, ".")
		base = strings.ToUpper(strings.TrimRight(base, " "))
		switch {
		case base == "CON", base == "PRN", base == "AUX", base == "NUL",
			len(base) == 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) && base[3] >= '0' && base[3] <= '9':
			return fmt.Errorf("name %q is a Windows device name", name)
		}
	}
	return nil
}

// Before issue 15 temporary files were hidden, recognisable names beside
// the final file: ".ftpmirror-" + 16 hex digits of a hash of the name +
// ".part" (oldTempPath). Now they live in the staging directory
// (staging.go); a name of the old form is still refused from servers,
// and one left in the tree by an older version is adopted or removed.
const (
	tempPrefix = ".ftpmirror-"
	tempSuffix = ".part"
)

// isTempName reports whether name has the form of an old temporary file.
func isTempName(name string) bool {
	return strings.HasPrefix(name, tempPrefix) && strings.HasSuffix(name, tempSuffix)
}

// joinRel joins a relative directory and a name.
func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// localPath turns a relative mirror path into a name for os.Root: the
// root itself is ".".
func localPath(rel string) string {
	if rel == "" {
		return "."
	}
	return rel
}

// glob is a compiled Include or Exclude pattern, matched by
// github.com/bmatcuk/doublestar: "*" and "?" stop at '/', "**" as a whole
// path element crosses directories, "[...]" is a character class
// ("[!...]" negated), "{a,b}" a choice. On top of it:
//   - a pattern without '/' matches a base name at any depth ("*.iso");
//     one with '/' matches the whole path relative to the root (a leading
//     '/' is allowed and ignored);
//   - a trailing "/**" matches what is below a directory, not the
//     directory itself, so that -exclude "a/**" still lists a;
//   - a backslash is a character like any other, as it is in a POSIX
//     name, not an escape.
type glob struct {
	pattern string // as given
	ds      string // for doublestar
	base    bool   // matches base names
	dir     string // with a trailing "/**": the directory, which does not match
}

// ValidateGlob reports whether pattern is a valid Include/Exclude glob.
func ValidateGlob(pattern string) error {
	_, err := compileGlob(pattern)
	return err
}

func compileGlob(pattern string) (*glob, error) {
	p := strings.TrimPrefix(pattern, "/")
	if p == "" {
		return nil, fmt.Errorf("glob %q: empty", pattern)
	}
	g := &glob{pattern: pattern, base: !strings.Contains(pattern, "/"), ds: strings.ReplaceAll(p, `\`, `\\`)}
	if !doublestar.ValidatePattern(g.ds) {
		return nil, fmt.Errorf("glob %q: %w", pattern, doublestar.ErrBadPattern)
	}
	g.dir, _ = strings.CutSuffix(g.ds, "/**")
	if g.dir == g.ds {
		g.dir = ""
	}
	return g, nil
}

func (g *glob) match(rel string) bool {
	if g.base {
		rel = path.Base(rel)
	}
	if !doublestar.MatchUnvalidated(g.ds, rel) {
		return false
	}
	return g.dir == "" || !doublestar.MatchUnvalidated(g.dir, rel)
}

// filter decides which paths a run mirrors.
type filter struct {
	include, exclude []*glob
}

func newFilter(include, exclude []string) (*filter, error) {
	var f filter
	var err error
	if f.include, err = compileGlobs(include); err != nil {
		return nil, err
	}
	if f.exclude, err = compileGlobs(exclude); err != nil {
		return nil, err
	}
	return &f, nil
}

// compileGlobs compiles patterns.
func compileGlobs(patterns []string) ([]*glob, error) {
	var globs []*glob
	for _, p := range patterns {
		g, err := compileGlob(p)
		if err != nil {
			return nil, err
		}
		globs = append(globs, g)
	}
	return globs, nil
}

// matchAny reports whether rel matches one of globs.
func matchAny(globs []*glob, rel string) bool {
	for _, g := range globs {
		if g.match(rel) {
			return true
		}
	}
	return false
}

// excluded reports whether rel matches an Exclude pattern.
func (f *filter) excluded(rel string) bool { return matchAny(f.exclude, rel) }

// file reports whether the file at rel is mirrored.
func (f *filter) file(rel string) bool {
	if f.excluded(rel) {
		return false
	}
	return len(f.include) == 0 || matchAny(f.include, rel)
}
