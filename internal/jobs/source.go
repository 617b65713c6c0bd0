package jobs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/bgentry/go-netrc/netrc"

	"github.com/ftpmirror/ftpmirror/ftpcore"
)

// Source is a parsed ftp:// or ftps:// URL.
type Source struct {
	Host     string // without port
	Addr     string // host:port
	Path     string // remote directory: relative to the login directory unless it starts with '/'; "" is the login directory
	User     string
	Password string
	HasPass  bool
	Implicit bool // ftps://
}

// ParseSource parses ftp://[user[:password]@]host[:port]/path. As in RFC
// 1738 (and curl, lftp), the path is relative to the login directory:
// the '/' after the host only separates it. An absolute path starts with
// %2F (ftp://host/%2Fpub) or, as lftp also takes it, with a second '/'
// (ftp://host//pub).
func ParseSource(raw string) (*Source, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, configf("bad URL %q: %w", raw, errors.Unwrap(err))
	}
	s := &Source{}
	port := "21"
	switch u.Scheme {
	case "ftp":
	case "ftps":
		s.Implicit = true
		port = "990"
	default:
		return nil, configf("bad URL %q: scheme must be ftp:// or ftps://", raw)
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, configf("bad URL %q: no host", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, configf("bad URL %q: query and fragment are not allowed", raw)
	}
	s.Host = u.Hostname()
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, configf("bad URL %q: port %s: want 1 to 65535", raw, p)
		}
		port = p
	}
	s.Addr = net.JoinHostPort(s.Host, port)
	if u.User != nil {
		s.User = u.User.Username()
		s.Password, s.HasPass = u.User.Password()
	}
	if s.Path, err = urlPath(u.EscapedPath()); err != nil {
		return nil, configf("bad URL %q: %w", raw, err)
	}
	if strings.ContainsAny(s.Path, "\r\n\x00") {
		return nil, configf("bad URL %q: control characters in the path", raw)
	}
	return s, nil
}

// urlPath turns a URL's escaped path into the remote path (RFC 1738
// section 3.2.2): the segments after the first '/', each unescaped, so
// that %2F in the first one makes the path absolute.
func urlPath(escaped string) (string, error) {
	rest, ok := strings.CutPrefix(escaped, "/")
	if !ok || rest == "" {
		return "", nil // ftp://host or ftp://host/: the login directory
	}
	segs := strings.Split(rest, "/")
	for i, seg := range segs {
		v, err := url.PathUnescape(seg)
		if err != nil {
			return "", err
		}
		segs[i] = v
	}
	p := strings.Join(segs, "/")
	if strings.HasPrefix(p, "/") {
		return path.Clean(p), nil
	}
	return strings.TrimSuffix(p, "/"), nil
}

// String returns the URL without the password, its path as ParseSource
// reads it.
func (s *Source) String() string {
	scheme := "ftp"
	if s.Implicit {
		scheme = "ftps"
	}
	rel, abs := strings.CutPrefix(s.Path, "/")
	raw := "/"
	if abs {
		raw = "/%2F"
	}
	if rel != "" {
		segs := strings.Split(rel, "/")
		for i, seg := range segs {
			segs[i] = url.PathEscape(seg)
		}
		raw += strings.Join(segs, "/")
	}
	u := url.URL{Scheme: scheme, Host: s.Addr, Path: "/" + s.Path, RawPath: raw}
	if s.User != "" {
		u.User = url.User(s.User)
	}
	return u.String()
}

// Login is who to log in as, with where the password came from.
type Login struct {
	User, Password string
	From           string   // where the password came from; "" if none was found
	Looked         []string // where ftpmirror looked for one
	Warnings       []string // things that work but should not be so
}

// Credentials returns the user and password to log in with: the user
// from the flag, else the URL, else the ~/.netrc entry for the host,
// else anonymous; the password from the URL, $FTPMIRROR_PASSWORD, then
// ~/.netrc (for that user, when one is given).
func (s *Source) Credentials(userFlag string) Login {
	l := Login{User: s.User}
	if userFlag != "" {
		l.User = userFlag
	}
	l.Looked = []string{"the URL", "$FTPMIRROR_PASSWORD"}
	if s.HasPass && (userFlag == "" || userFlag == s.User) {
		l.Password, l.From = s.Password, "the URL"
		return l
	}
	if p := os.Getenv("FTPMIRROR_PASSWORD"); p != "" {
		l.Password, l.From = p, "$FTPMIRROR_PASSWORD"
		return l
	}
	path := netrcPath()
	if path == "" {
		return l
	}
	l.Looked = append(l.Looked, path)
	m, err := netrc.FindMachine(path, s.Host)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return l
	case err != nil:
		l.Warnings = append(l.Warnings, fmt.Sprintf("%s: %v; not used", path, err))
		return l
	case m == nil || (l.User != "" && m.Login != l.User):
		return l
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		l.Warnings = append(l.Warnings, fmt.Sprintf("%s is readable by others (mode %v); chmod 600 it", path, fi.Mode().Perm()))
	}
	if l.User == "" {
		l.User = m.Login
	}
	if m.Password != "" {
		l.Password, l.From = m.Password, path
	}
	return l
}

// netrcPath is $NETRC, else ~/.netrc; "" without a home directory.
func netrcPath() string {
	if p := os.Getenv("NETRC"); p != "" {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".netrc")
}

// TLSMode parses the -tls flag value, defaulting to implicit for ftps://.
func (s *Source) TLSMode(flagValue string) (ftpcore.TLSMode, error) {
	switch flagValue {
	case "":
		if s.Implicit {
			return ftpcore.TLSImplicit, nil
		}
		return ftpcore.TLSNone, nil
	case "none":
		if s.Implicit {
			return 0, configf("-tls none contradicts an ftps:// URL")
		}
		return ftpcore.TLSNone, nil
	case "explicit":
		if s.Implicit {
			return 0, configf("-tls explicit contradicts an ftps:// URL (implicit TLS)")
		}
		return ftpcore.TLSExplicit, nil
	case "implicit":
		return ftpcore.TLSImplicit, nil
	}
	return 0, configf("-tls: want none, explicit or implicit, not %q", flagValue)
}

// Who is the user name as the server sees it: "anonymous" when none is
// given.
func (l Login) Who() string {
	if l.User == "" {
		return "anonymous"
	}
	return l.User
}

var notNameChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// SuggestName makes a job name (ValidName) of the URL's host and the
// last element of its path, for a [[job]] that ftpmirror doctor suggests.
func (src *Source) SuggestName() string {
	name := src.Host
	if base := path.Base(src.Path); base != "." && base != "/" && base != "" {
		name += "-" + base
	}
	name = strings.Trim(notNameChars.ReplaceAllString(name, "-"), ".-")
	if len(name) > 64 {
		name = name[:64]
	}
	if ValidName(name) != nil {
		name = "mirror"
	}
	return name
}

// Remote is what ftpmirror ls and doctor need to reach the URL raw: its
// parts, the FTP settings of j's connection settings (the conversation
// traced to trace, if not nil), and who logs in, warnings printed to
// stderr.
func (j *Job) Remote(raw string, trace, stderr io.Writer) (*Source, ftpcore.Config, Login, error) {
	src, err := ParseSource(raw)
	if err != nil {
		return nil, ftpcore.Config{}, Login{}, err
	}
	cfg, err := j.FTPConfig(src)
	if err != nil {
		return nil, ftpcore.Config{}, Login{}, err
	}
	if trace != nil {
		cfg.Trace = trace
	}
	cred := src.Credentials(j.User)
	for _, w := range cred.Warnings {
		fmt.Fprintf(stderr, "ftpmirror: warning: %s\n", w)
	}
	return src, cfg, cred, nil
}
