package main

import (
	"bufio"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/ftpmirror/ftpmirror/ftpcore"
)

// source is a parsed ftp:// or ftps:// URL.
type source struct {
	Host     string // without port
	Addr     string // host:port
	Path     string // remote directory; "" means the login directory
	User     string
	Password string
	HasPass  bool
	Implicit bool // ftps://
}

// parseSource parses ftp://[user[:password]@]host[:port]/path.
func parseSource(raw string) (*source, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, usagef("bad URL %q: %v", raw, err)
	}
	s := &source{}
	port := "21"
	switch u.Scheme {
	case "ftp":
	case "ftps":
		s.Implicit = true
		port = "990"
	default:
		return nil, usagef("bad URL %q: scheme must be ftp:// or ftps://", raw)
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, usagef("bad URL %q: no host", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, usagef("bad URL %q: query and fragment are not allowed", raw)
	}
	s.Host = u.Hostname()
	if p := u.Port(); p != "" {
		port = p
	}
	s.Addr = net.JoinHostPort(s.Host, port)
	if u.User != nil {
		s.User = u.User.Username()
		s.Password, s.HasPass = u.User.Password()
	}
	s.Path = u.Path
	if strings.ContainsAny(s.Path, "\r\n\x00") {
		return nil, usagef("bad URL %q: control characters in the path", raw)
	}
	if s.Path == "/" {
		// ftp://host/ is the login directory, as for lftp and curl.
		s.Path = ""
	}
	return s, nil
}

// String returns the URL without the password.
func (s *source) String() string {
	scheme := "ftp"
	if s.Implicit {
		scheme = "ftps"
	}
	u := url.URL{Scheme: scheme, Host: s.Addr, Path: s.Path}
	if s.User != "" {
		u.User = url.User(s.User)
	}
	return u.String()
}

// credentials returns the user and password to log in with: the user
// from the flag or URL (flag wins); the password from the URL,
// $FTPMIRROR_PASSWORD, then ~/.netrc; anonymous without a user.
func (s *source) credentials(userFlag string) (user, password string) {
	user = s.User
	if userFlag != "" {
		user = userFlag
	}
	if s.HasPass && (userFlag == "" || userFlag == s.User) {
		return user, s.Password
	}
	if p, ok := os.LookupEnv("FTPMIRROR_PASSWORD"); ok {
		return user, p
	}
	if u, p, ok := netrcLookup(s.Host, user); ok {
		return u, p
	}
	return user, ""
}

// netrcLookup finds host's entry in $NETRC or ~/.netrc. With a user
// given, only an entry for that login counts; without, the entry's login
// is used. A "default" entry applies to every host.
func netrcLookup(host, user string) (string, string, bool) {
	path := os.Getenv("NETRC")
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", "", false
		}
		path = filepath.Join(home, ".netrc")
	}
	f, err := os.Open(path)
	if err != nil {
		return "", "", false
	}
	defer f.Close()
	var toks []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		toks = append(toks, strings.Fields(line)...)
	}
	type entry struct{ machine, login, password string }
	var entries []entry
	for i := 0; i < len(toks); i++ {
		switch toks[i] {
		case "machine", "default":
			e := entry{}
			if toks[i] == "machine" && i+1 < len(toks) {
				i++
				e.machine = toks[i]
			}
			entries = append(entries, e)
		case "login", "password", "account":
			if i+1 < len(toks) && len(entries) > 0 {
				e := &entries[len(entries)-1]
				if toks[i] == "login" {
					e.login = toks[i+1]
				} else if toks[i] == "password" {
					e.password = toks[i+1]
				}
				i++
			}
		case "macdef":
			return "", "", false // macros are not supported; stop rather than misparse
		}
	}
	for _, e := range entries {
		if e.machine != "" && !strings.EqualFold(e.machine, host) {
			continue
		}
		if user != "" && e.login != user {
			continue
		}
		return e.login, e.password, true
	}
	return "", "", false
}

// tlsMode parses the -tls flag value, defaulting to implicit for ftps://.
func (s *source) tlsMode(flagValue string) (ftpcore.TLSMode, error) {
	switch flagValue {
	case "":
		if s.Implicit {
			return ftpcore.TLSImplicit, nil
		}
		return ftpcore.TLSNone, nil
	case "none":
		if s.Implicit {
			return 0, usagef("-tls none contradicts an ftps:// URL")
		}
		return ftpcore.TLSNone, nil
	case "explicit":
		if s.Implicit {
			return 0, usagef("-tls explicit contradicts an ftps:// URL (implicit TLS)")
		}
		return ftpcore.TLSExplicit, nil
	case "implicit":
		return ftpcore.TLSImplicit, nil
	}
	return 0, usagef("-tls: want none, explicit or implicit, not %q", flagValue)
}
