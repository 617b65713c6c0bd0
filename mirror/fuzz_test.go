package mirror

import (
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzCheckName: a name that checkName accepts is one local path
// component, which os.Root and filepath agree stays where it is put.
func FuzzCheckName(f *testing.F) {
	for _, s := range []string{"plain.txt", "..", ".", "", "../x", "/etc/x", "a/b", `a\b`, "nul\x00",
		"cr\r", "lf\n", "\x7f", "caf\xe9", "iac\xff\xfb", strings.Repeat("n", 256), ".ftpmirror-0123456789abcdef.part",
		"e\u0301", "C:", "con", " lead", "trail ", "..."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if checkNameFor(true, name) == nil {
			// Windows: no separator of either kind, no control byte.
			if strings.ContainsAny(name, "/\\:") || path.Clean(name) != name || name == "." || name == ".." {
				t.Fatalf("checkNameFor(windows) accepted %q", name)
			}
			for i := 0; i < len(name); i++ {
				if name[i] < 0x20 || name[i] == 0x7f {
					t.Fatalf("checkNameFor(windows) accepted control byte in %q", name)
				}
			}
			if checkNameFor(false, name) != nil {
				t.Fatalf("POSIX refuses %q, which Windows accepts", name)
			}
		}
		if checkName(name) != nil {
			return
		}
		if !filepath.IsLocal(name) || filepath.Base(name) != name || path.Clean(name) != name {
			t.Fatalf("checkName accepted %q, which is not one local component", name)
		}
		if len(name) > maxNameBytes || strings.ContainsAny(name, "/\x00") || isTempName(name) {
			t.Fatalf("checkName accepted %q", name)
		}
	})
}

// FuzzLinkTarget: a remote symlink target that -symlinks=keep accepts
// resolves, from the link's directory, to a path inside the mirror that
// is not the link itself.
func FuzzLinkTarget(f *testing.F) {
	for _, s := range [][3]string{
		{"/pub", "a/link", "../b"}, {"/pub", "link", "../../etc/passwd"}, {"/pub", "a/l", "/pub/x"},
		{"/pub", "a/l", "/pubx/y"}, {"/", "l", "/etc/passwd"}, {"/pub", "a/b/l", "../../.."},
		{"/pub", "l", "."}, {"/pub", "l", "l"}, {"/pub", "a/l", "./../a/../../x"}, {"", "l", "x"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, remoteRoot, rel, target string) {
		if remoteRoot != "" && remoteRoot != "/" && (!strings.HasPrefix(remoteRoot, "/") || path.Clean(remoteRoot) != remoteRoot) {
			return // resolveRoot only makes clean absolute roots
		}
		for _, part := range strings.Split(rel, "/") {
			if checkName(part) != nil {
				return // walk only makes paths of checked names
			}
		}
		r := &runner{remoteRoot: remoteRoot}
		got, ok := r.linkTarget(rel, target)
		if !ok {
			return
		}
		resolved := path.Join(path.Dir(rel), got)
		if strings.HasPrefix(got, "/") || !filepath.IsLocal(resolved) && resolved != "." {
			t.Fatalf("linkTarget(%q, %q) = %q: resolves to %q, outside the mirror", rel, target, got, resolved)
		}
		if resolved == rel {
			t.Fatalf("linkTarget(%q, %q) = %q: points to itself", rel, target, got)
		}
	})
}
