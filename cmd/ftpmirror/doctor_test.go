package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/jobs"

	"github.com/ftpmirror/ftpmirror/internal/ftpservers"
	"github.com/ftpmirror/ftpmirror/internal/hostileftp"
)

func doctorServer(t *testing.T, opts *hostileftp.Options) *hostileftp.Server {
	t.Helper()
	now := time.Now().Add(-time.Hour)
	srv, err := hostileftp.Start(hostileftp.Dir("",
		hostileftp.Dir("pub", hostileftp.File("a.txt", []byte("alpha\n"), now), hostileftp.File("b.txt", []byte("beta\n"), now))), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// emptyDirs points HOME and XDG_STATE_HOME at empty directories and
// changes into a third; the returned func fails the test if doctor
// wrote anything in any of them.
func emptyDirs(t *testing.T) func() {
	t.Helper()
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	t.Setenv("HOME", dirs[0])
	t.Setenv("XDG_STATE_HOME", dirs[1])
	t.Setenv("NETRC", filepath.Join(dirs[0], ".netrc"))
	t.Setenv("FTPMIRROR_PASSWORD", "")
	t.Chdir(dirs[2])
	return func() {
		for _, d := range dirs {
			if ents, _ := os.ReadDir(d); len(ents) > 0 {
				t.Errorf("doctor wrote %s in %s", ents[0].Name(), d)
			}
		}
	}
}

// TestDoctorJobBlockChecks: doctor prints the profile and a [[job]]
// block that check accepts, and writes nothing.
func TestDoctorJobBlockChecks(t *testing.T) {
	srv := doctorServer(t, &hostileftp.Options{Style: hostileftp.StyleUnix})
	nothingWritten := emptyDirs(t)
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"doctor", "-active-timeout", "2s", "ftp://" + srv.Addr() + "/pub"}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	out := stdout.String()
	for _, w := range []string{"greeting:          hostileftp ready", "listing with:", "LIST dialect:      unix (2 lines)", "active mode:       works"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	nothingWritten()
	i := strings.Index(out, "[[job]]")
	if i < 0 {
		t.Fatalf("no [[job]] block:\n%s", out)
	}
	block := out[i:]
	for _, w := range []string{`name = "127.0.0.1-pub"`, `source = "ftp://` + srv.Addr() + `/pub"`, `mode = "auto"`, "parallel = 4"} {
		if !strings.Contains(block, w) {
			t.Errorf("block lacks %q:\n%s", w, block)
		}
	}
	jobs := filepath.Join(t.TempDir(), "jobs.toml")
	if err := os.WriteFile(jobs, []byte(block), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	if code := run(t.Context(), []string{"check", "-jobs", jobs}, &stdout, &stderr); code != exitOK {
		t.Fatalf("check of the block: exit %d\n%s\n%s", code, stderr.String(), block)
	}
}

// TestDoctorJSON: -json prints the profile, the suggestion and the
// block as one JSON object.
func TestDoctorJSON(t *testing.T) {
	srv := doctorServer(t, nil)
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"doctor", "-json", "ftp://" + srv.Addr() + "/"}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	var v struct {
		Greeting  string
		Listing   struct{ Command string }
		Suggested struct{ Mode string }
		Job       string
	}
	if err := json.Unmarshal(stdout.Bytes(), &v); err != nil {
		t.Fatalf("%v:\n%s", err, stdout.String())
	}
	if v.Greeting != "hostileftp ready" || v.Listing.Command != "MLSD" || v.Suggested.Mode != "auto" || !strings.HasPrefix(v.Job, "[[job]]\n") {
		t.Errorf("JSON: %+v", v)
	}
}

// TestDoctorProbeConnectionsSaysSo: with -probe-connections N, doctor
// says before it starts that it will open up to N connections.
func TestDoctorProbeConnectionsSaysSo(t *testing.T) {
	srv := doctorServer(t, nil)
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"doctor", "-probe-connections", "3", "ftp://" + srv.Addr() + "/"}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "will open up to 3 connections") || !strings.Contains(stdout.String(), "at least 3 at once") {
		t.Errorf("stderr:\n%s\nstdout:\n%s", stderr.String(), stdout.String())
	}
	if code := run(t.Context(), []string{"doctor", "-probe-connections", "65", "ftp://" + srv.Addr() + "/"}, &stdout, &stderr); code != exitUsage {
		t.Errorf("-probe-connections 65: exit %d, want %d", code, exitUsage)
	}
}

// TestDoctorCannotLogIn: a refused login or a closed port is exit
// status 5, with the server's reply and a next step.
func TestDoctorCannotLogIn(t *testing.T) {
	srv := doctorServer(t, &hostileftp.Options{Hook: func(s *hostileftp.Session, verb, arg string) bool {
		if verb == "PASS" {
			s.Reply("530 Login incorrect.")
			return true
		}
		return false
	}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	emptyDirs(t)
	for _, tt := range []struct{ url, want string }{
		{"ftp://bob@" + srv.Addr() + "/", "530 Login incorrect.; next: no password was found for bob@127.0.0.1"},
		{"ftp://" + closed + "/", "next: nothing answers on " + closed},
	} {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), []string{"doctor", tt.url}, &stdout, &stderr)
		if code != exitNotStarted || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", tt.url, code, stderr.String(), exitNotStarted, tt.want)
		}
	}
}

// TestDoctorRealServers runs doctor against each real server: it exits
// 0 and its [[job]] block passes check. go test -v shows what it printed.
func TestDoctorRealServers(t *testing.T) {
	for _, name := range ftpservers.Names() {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.MkdirAll(filepath.Join(root, "pub", "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"pub/a.txt", "pub/sub/b.txt"} {
				if err := os.WriteFile(filepath.Join(root, f), []byte("some bytes\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			srv := ftpservers.Start(t, name, root, nil)
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), []string{"doctor", "-probe-connections", "4", "ftp://" + srv.Addr + "/pub"}, &stdout, &stderr)
			t.Logf("ftpmirror doctor ftp://%s/pub (%s):\n%s%s", srv.Addr, name, stderr.String(), stdout.String())
			if code != exitOK {
				t.Fatalf("exit %d", code)
			}
			out := stdout.String()
			i := strings.Index(out, "[[job]]")
			if i < 0 {
				t.Fatal("no [[job]] block")
			}
			jobs := filepath.Join(t.TempDir(), "jobs.toml")
			if err := os.WriteFile(jobs, []byte(out[i:]), 0o600); err != nil {
				t.Fatal(err)
			}
			stdout.Reset()
			if code := run(t.Context(), []string{"check", "-jobs", jobs}, &stdout, &stderr); code != exitOK {
				t.Fatalf("check: exit %d\n%s", code, stderr.String())
			}
		})
	}
}

// TestDoctorRealServerTLS: with explicit TLS, doctor names the TLS
// version and vsftpd's need for session reuse, and its [[job]] block
// (tls, tls_ca_file) passes check.
func TestDoctorRealServerTLS(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "a.txt"), []byte("some bytes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := ftpservers.Start(t, "vsftpd", root, &ftpservers.Options{TLS: true})
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, srv.CACert, 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"doctor", "-tls", "explicit", "-tls-ca-file", ca, "ftp://" + srv.Addr + "/"}, &stdout, &stderr)
	t.Logf("ftpmirror doctor -tls explicit ftp://%s/ (vsftpd):\n%s%s", srv.Addr, stderr.String(), stdout.String())
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	out := stdout.String()
	for _, w := range []string{"TLS:               explicit, TLS 1.", "TLS session reuse: data connections must resume", `tls = "explicit"`, "tls_ca_file = " + strconv.Quote(ca)} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q", w)
		}
	}
	jobs := filepath.Join(t.TempDir(), "jobs.toml")
	if err := os.WriteFile(jobs, []byte(out[strings.Index(out, "[[job]]"):]), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := run(t.Context(), []string{"check", "-jobs", jobs}, &stdout, &stderr); code != exitOK {
		t.Fatalf("check: exit %d\n%s", code, stderr.String())
	}
}

func TestDoctorJobName(t *testing.T) {
	for raw, want := range map[string]string{
		"ftp://ftp.example.org/pub/debian/":  "ftp.example.org-debian",
		"ftp://ftp.example.org/":             "ftp.example.org",
		"ftp://ftp.example.org/%2F":          "ftp.example.org",
		"ftp://[::1]:2121/a b":               "1-a-b",
		"ftp://x/" + strings.Repeat("é", 40): "x",
		"ftp://-/.":                          "mirror",
	} {
		src, err := jobs.ParseSource(raw)
		if err != nil {
			t.Fatal(err)
		}
		got := src.SuggestName()
		if got != want || jobs.ValidName(got) != nil {
			t.Errorf("SuggestName(%s) = %q, want %q", raw, got, want)
		}
	}
}
