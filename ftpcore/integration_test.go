package ftpcore_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/internal/embedftp"
	"github.com/ftpmirror/ftpmirror/internal/ftpservers"
)

// sampleTree writes the tree every server test lists and fetches: names
// with spaces and UTF-8, a dot file, an old file (a Unix LIST shows its
// year instead of its time), a subdirectory, and a 1 MiB file.
func sampleTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(i*31 + i>>8)
	}
	files := map[string][]byte{
		"plain.txt":        []byte("hello\n"),
		"with space.txt":   []byte("spaces in the name\n"),
		"日本語 ファイル.txt":     []byte("utf-8 name\n"),
		".hidden":          []byte("dot file\n"),
		"old.txt":          []byte("from 2019\n"),
		"big.bin":          big,
		"sub dir/inner.md": []byte("# inner\n"),
	}
	recent := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	for name, data := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		mt := recent
		if name == "old.txt" {
			mt = time.Date(2019, 3, 4, 5, 6, 7, 0, time.UTC)
		}
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

type target struct {
	name  string
	addr  string
	user  string
	pass  string
	root  string // the served directory, on disk
	cfg   ftpcore.Config
	srv   *ftpservers.Server
	exact bool // listing times are exact (MLSD)
}

// checkServer runs the same conversation against any server.
func checkServer(t *testing.T, tg target) {
	files := sampleTree(t, tg.root)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var trace bytes.Buffer
	cfg := tg.cfg
	cfg.Trace = &trace
	cfg.Timeout = 20 * time.Second
	c, err := ftpcore.Dial(ctx, tg.addr, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	defer func() {
		if t.Failed() {
			t.Logf("conversation:\n%s", trace.String())
			if tg.srv != nil {
				t.Logf("server log:\n%s", tg.srv.Log())
			}
		}
	}()
	if err := c.Login(ctx, tg.user, tg.pass); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(trace.String(), tg.pass) && tg.pass != "" {
		t.Error("the trace shows the password")
	}
	pwd, err := c.Pwd(ctx)
	if err != nil || pwd != "/" {
		t.Fatalf("PWD = %q, %v", pwd, err)
	}
	if err := c.Cwd(ctx, "/sub dir"); err != nil {
		t.Fatal(err)
	}
	if pwd, _ := c.Pwd(ctx); pwd != "/sub dir" {
		t.Errorf("PWD after CWD = %q", pwd)
	}
	if err := c.Cdup(ctx); err != nil {
		t.Fatal(err)
	}

	entries, err := c.List(ctx, "/")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	byName := map[string]ftpcore.Entry{}
	for _, e := range entries {
		names = append(names, e.Name)
		byName[e.Name] = e
	}
	sort.Strings(names)
	want := []string{".hidden", "big.bin", "old.txt", "plain.txt", "sub dir", "with space.txt", "日本語 ファイル.txt"}
	if strings.Join(names, "|") != strings.Join(want, "|") {
		t.Fatalf("listing names %q, want %q", names, want)
	}
	t.Logf("%s listing:\n%s", tg.name, entriesText(entries))
	for name, data := range files {
		if strings.Contains(name, "/") {
			continue
		}
		e := byName[name]
		if e.Type != ftpcore.TypeFile || e.Size != int64(len(data)) {
			t.Errorf("%s: %v, want a file of %d bytes", name, e, len(data))
		}
		fi, _ := os.Stat(filepath.Join(tg.root, name))
		switch e.Precision {
		case ftpcore.TimeExact:
			if !e.Time.Equal(fi.ModTime()) {
				t.Errorf("%s: time %v, want %v", name, e.Time, fi.ModTime())
			}
		case ftpcore.TimeMinute:
			if e.Time.Unix()/60 != fi.ModTime().Unix()/60 {
				t.Errorf("%s: time %v, want %v to the minute", name, e.Time, fi.ModTime())
			}
		case ftpcore.TimeDay:
			if e.Time.Format("2006-01-02") != fi.ModTime().UTC().Format("2006-01-02") {
				t.Errorf("%s: date %v, want %v", name, e.Time, fi.ModTime())
			}
		default:
			t.Errorf("%s: no time", name)
		}
		if tg.exact && e.Precision != ftpcore.TimeExact {
			t.Errorf("%s: precision %v, want exact", name, e.Precision)
		}
	}
	if e := byName["old.txt"]; !tg.exact && e.Precision != ftpcore.TimeDay {
		t.Errorf("old.txt: precision %v, want day (a LIST shows the year)", e.Precision)
	}
	if e := byName["sub dir"]; e.Type != ftpcore.TypeDir {
		t.Errorf("sub dir: %v", e)
	}
	// Several directories at once (pipelined STATs where the server
	// lists with STAT); a missing directory is an error, never empty.
	lists, errs := c.ListMany(ctx, []string{"/sub dir", "/", "/no such dir", "/sub dir"})
	if errs[0] != nil || len(lists[0]) != 1 || lists[0][0].Name != "inner.md" {
		t.Errorf("ListMany /sub dir: %v %v", lists[0], errs[0])
	}
	if errs[1] != nil || len(lists[1]) != len(want) {
		t.Errorf("ListMany /: %d entries, %v", len(lists[1]), errs[1])
	}
	if errs[2] == nil {
		t.Errorf("ListMany of a missing directory: %v, no error", lists[2])
	}
	if errs[3] != nil || len(lists[3]) != 1 {
		t.Errorf("ListMany after the missing one: %v %v", lists[3], errs[3])
	}

	n, err := c.Size(ctx, "/big.bin")
	if err != nil || n != 1<<20 {
		t.Errorf("SIZE = %d, %v", n, err)
	}
	mt, err := c.ModTime(ctx, "/old.txt")
	if err != nil || !mt.Equal(time.Date(2019, 3, 4, 5, 6, 7, 0, time.UTC)) {
		t.Errorf("MDTM = %v, %v", mt, err)
	}

	fetch := func(path string, offset int64) []byte {
		t.Helper()
		x, err := c.Retr(ctx, path, offset)
		if err != nil {
			t.Fatalf("RETR %s from %d: %v", path, offset, err)
		}
		b, err := io.ReadAll(x)
		if err != nil {
			t.Fatalf("RETR %s: read: %v", path, err)
		}
		if err := x.Close(); err != nil {
			t.Fatalf("RETR %s: close: %v", path, err)
		}
		return b
	}
	for _, name := range []string{"big.bin", "日本語 ファイル.txt", "sub dir/inner.md", ".hidden"} {
		if got := fetch("/"+name, 0); !bytes.Equal(got, files[name]) {
			t.Errorf("RETR %s: %d bytes, want %d", name, len(got), len(files[name]))
		}
	}
	const off = 300_000
	if got := fetch("/big.bin", off); !bytes.Equal(got, files["big.bin"][off:]) {
		t.Errorf("RETR big.bin from %d: %d bytes, want %d", off, len(got), len(files["big.bin"])-off)
	}

	// The next download's commands go out before this one's final reply
	// is read (Transfer.Next), and both come out right.
	if !cfg.DisablePipelining {
		checkNext(ctx, t, c, files)
	}

	// Stopping early aborts the transfer and leaves the connection usable.
	x, err := c.Retr(ctx, "/big.bin", 0)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1000)
	if _, err := io.ReadFull(x, buf); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatalf("early close: %v", err)
	}
	if got := fetch("/plain.txt", 0); string(got) != "hello\n" {
		t.Errorf("after abort: %q", got)
	}
	if err := c.Noop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(ctx); err != nil {
		t.Errorf("QUIT: %v", err)
	}
	if tg.srv != nil {
		// proftpd and pure-ftpd may log a command after answering it.
		var cmds string
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if cmds = strings.Join(tg.srv.Commands(), "\n"); strings.Contains(cmds, "REST 300000") {
				break
			}
		}
		if !strings.Contains(cmds, "REST 300000") {
			t.Errorf("server did not log REST 300000; it logged:\n%s", cmds)
		}
	}
}

// checkNext: the next download's commands go out before this one's
// final reply is read (Transfer.Next), and both come out right.
func checkNext(ctx context.Context, t *testing.T, c *ftpcore.Conn, files map[string][]byte) {
	t.Helper()
	x0, err := c.RetrModTime(ctx, "/plain.txt", 0)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(x0); string(b) != "hello\n" {
		t.Fatalf("plain.txt: %q", b)
	}
	next, err := x0.Next(ctx, "/old.txt", 3, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := x0.Close(); err != nil {
		t.Fatal(err)
	}
	x1, err := next.Start(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	b1, _ := io.ReadAll(x1)
	if err := x1.Close(); err != nil || string(b1) != string(files["old.txt"][3:]) {
		t.Fatalf("Next: %q, %v", b1, err)
	}
	if mt, err := x1.ModTime(); err != nil || !mt.Equal(time.Date(2019, 3, 4, 5, 6, 7, 0, time.UTC)) {
		t.Errorf("Next's MDTM: %v %v", mt, err)
	}
}

func entriesText(entries []ftpcore.Entry) string {
	var b strings.Builder
	for _, e := range entries {
		b.WriteString("  " + e.String() + "\n")
	}
	return b.String()
}

func TestEmbeddedServer(t *testing.T) {
	for _, active := range []bool{false, true} {
		t.Run(mode(active), func(t *testing.T) {
			root := t.TempDir()
			srv, err := embedftp.Start(root, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Close() })
			checkServer(t, target{name: "embedded", addr: srv.Addr(), root: root, cfg: ftpcore.Config{Active: active}, exact: true})
		})
	}
}

func mode(active bool) string {
	if active {
		return "active"
	}
	return "passive"
}

func TestRealServers(t *testing.T) {
	for _, name := range ftpservers.Names() {
		for _, active := range []bool{false, true} {
			t.Run(name+"/"+mode(active), func(t *testing.T) {
				root := t.TempDir()
				srv := ftpservers.Start(t, name, root, &ftpservers.Options{ProtocolLog: true})
				checkServer(t, target{name: name, addr: srv.Addr, root: srv.Root, srv: srv,
					cfg: ftpcore.Config{Active: active, DisablePipelining: outOfOrder(name, active)}, exact: name != "vsftpd" && name != "inetutils"})
			})
		}
	}
}

func TestRealServersExplicitTLS(t *testing.T) {
	for _, name := range ftpservers.Names() {
		for _, active := range []bool{false, true} {
			t.Run(name+"/"+mode(active), func(t *testing.T) {
				root := t.TempDir()
				srv := ftpservers.Start(t, name, root, &ftpservers.Options{TLS: true, ProtocolLog: true})
				pool := x509.NewCertPool()
				if !pool.AppendCertsFromPEM(srv.CACert) {
					t.Fatal("bad CA cert")
				}
				checkServer(t, target{name: name, addr: srv.Addr, root: srv.Root, srv: srv, exact: name != "vsftpd" && name != "inetutils",
					cfg: ftpcore.Config{Active: active, TLS: ftpcore.TLSExplicit, TLSConfig: &tls.Config{RootCAs: pool},
						DisablePipelining: outOfOrder(name, active)}})
			})
		}
	}
}

// outOfOrder reports whether the server answers pipelined commands out of
// order in this mode (see TestRealServerOutOfOrder).
func outOfOrder(name string, active bool) bool { return name == "pyftpdlib" && active }

// pyftpdlib 1.5.7 in active mode answers a pipelined PORT's 200 after the
// following command's 150. The first pipelined transfer (pipelining starts
// once a transfer has worked) fails with ErrOutOfOrder and breaks the Conn,
// rather than taking the 150 for PORT's answer and the 200 for RETR's.
func TestRealServerOutOfOrder(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "a.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := ftpservers.Start(t, "pyftpdlib", root, nil)
	for _, pipelining := range []bool{true, false} {
		c, err := ftpcore.Dial(t.Context(), srv.Addr, &ftpcore.Config{Active: true, DisablePipelining: !pipelining, Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Login(t.Context(), "", ""); err != nil {
			t.Fatal(err)
		}
		var errs []error
		for range 3 {
			x, err := c.Retr(t.Context(), "/a.txt", 0)
			if err == nil {
				_, err = io.ReadAll(x)
				if cerr := x.Close(); err == nil {
					err = cerr
				}
			}
			errs = append(errs, err)
		}
		switch {
		case pipelining && (errs[0] != nil || !errors.Is(errs[1], ftpcore.ErrOutOfOrder) || !errors.Is(errs[2], ftpcore.ErrConnBroken)):
			t.Errorf("pipelined: %v; want success, then ErrOutOfOrder, then a broken Conn", errs)
		case !pipelining && errors.Join(errs...) != nil:
			t.Errorf("one command at a time: %v", errs)
		}
	}
}

// Without the CA, the server's certificate is refused before login, and
// that is permanent.
func TestRealServerTLSVerifies(t *testing.T) {
	root := t.TempDir()
	srv := ftpservers.Start(t, "vsftpd", root, &ftpservers.Options{TLS: true})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c, err := ftpcore.Dial(ctx, srv.Addr, &ftpcore.Config{TLS: ftpcore.TLSExplicit, Timeout: 10 * time.Second})
	if err == nil {
		c.Close()
		t.Fatal("Dial accepted an unknown certificate")
	}
	if ftpcore.IsTransient(err) {
		t.Errorf("certificate failure classed transient: %v", err)
	}
}
