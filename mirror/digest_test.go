package mirror

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/internal/ftpservers"
	"github.com/ftpmirror/ftpmirror/internal/hostileftp"
	"github.com/ftpmirror/ftpmirror/state"
)

// hashEnv is a hostileftp server with HASH, a target and a state.
type hashEnv struct {
	t      *testing.T
	srv    *hostileftp.Server
	target string
	db     *state.DB
}

func newHashEnv(t *testing.T, root *hostileftp.Node, opts *hostileftp.Options) *hashEnv {
	t.Helper()
	srv, err := hostileftp.Start(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	dir := t.TempDir()
	db, err := state.Open(filepath.Join(dir, "state.db"), &state.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &hashEnv{t: t, srv: srv, target: filepath.Join(dir, "target"), db: db}
}

// run syncs once and returns the summary and the HASH and RETR commands
// the server got during the run.
func (e *hashEnv) run(verify VerifyMode) (*Summary, error, []string) {
	e.t.Helper()
	before := len(e.srv.Commands())
	sum, err := Run(e.t.Context(), &Options{Job: "job", Addr: e.srv.Addr(), Root: "/", Target: e.target,
		State: e.db, Parallel: 2, Retries: 2, FTP: ftpcore.Config{Timeout: 5 * time.Second}, Verify: verify})
	var cmds []string
	for _, c := range e.srv.Commands()[before:] {
		if strings.HasPrefix(c, "HASH ") || strings.HasPrefix(c, "RETR ") || strings.HasPrefix(c, "REST ") {
			cmds = append(cmds, c)
		}
	}
	return sum, err, cmds
}

func (e *hashEnv) file(rel string) string {
	b, _ := os.ReadFile(filepath.Join(e.target, rel))
	return string(b)
}

func count(cmds []string, cmd string) int {
	n := 0
	for _, c := range cmds {
		if c == cmd {
			n++
		}
	}
	return n
}

// A server whose HASH disagrees with the bytes it sends: the file is
// fetched once more, then fails, and the old copy stays. A digest that
// was wrong once only (the file changed between HASH and RETR) costs
// one more fetch. Every file committed has the SHA-256 of its bytes in
// its record.
func TestVerifyLyingHash(t *testing.T) {
	t1 := time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC)
	var lie atomic.Int32 // HASH answers to falsify, for /a and /b
	lieAlways := atomic.Bool{}
	opts := &hostileftp.Options{Hash: true, HashSum: func(p string, data []byte) []byte {
		sum := sha256.Sum256(data)
		if p != "/c" && (lieAlways.Load() && p == "/a" || lie.Add(-1) >= 0) {
			sum[0] ^= 0xff
		}
		return sum[:]
	}}
	tree := func(a, b string, mt time.Time) *hostileftp.Node {
		return hostileftp.Dir("/", hostileftp.File("a", []byte(a), mt), hostileftp.File("b", []byte(b), mt),
			hostileftp.File("c", []byte("sea"), t1))
	}
	e := newHashEnv(t, tree("one", "bee", t1), opts)
	sum, err, _ := e.run(VerifyAuto)
	if err != nil || sum.Fetched != 3 || sum.Verified != 3 || sum.Failed != 0 {
		t.Fatalf("first run: %v %+v", err, sum)
	}
	for name, want := range map[string]string{"a": "one", "b": "bee", "c": "sea"} {
		rec, ok, err := e.db.Job("job").Get(name)
		wantSum := sha256.Sum256([]byte(want))
		if err != nil || !ok || !bytes.Equal(rec.Digest, wantSum[:]) {
			t.Errorf("record of %s: %+v %v %v, want digest %x", name, rec, ok, err, wantSum)
		}
	}

	// Both change; /a's HASH lies every time, /b's once.
	t2 := t1.Add(time.Hour)
	e.srv.SetTree(tree("two", "BEE", t2))
	lieAlways.Store(true)
	lie.Store(0)
	sum, err, cmds := e.run(VerifyAuto)
	if err != nil || sum.Failed != 1 || sum.Fetched != 1 || sum.Verified != 1 {
		t.Fatalf("second run: %v %+v", err, sum)
	}
	if !strings.Contains(strings.Join(sum.Errors, "\n"), "digest mismatch") || !strings.Contains(strings.Join(sum.Errors, "\n"), "/a") {
		t.Errorf("errors %q, want /a's digest mismatch", sum.Errors)
	}
	if got := e.file("a"); got != "one" {
		t.Errorf("a = %q, want the old copy kept", got)
	}
	if n := count(cmds, "RETR /a"); n != 2 {
		t.Errorf("/a fetched %d times, want 2 (once more after the mismatch): %q", n, cmds)
	}
	if left, _ := filepath.Glob(filepath.Join(e.target, ".ftpmirror-*")); len(left) > 0 {
		t.Errorf("temporary files left: %q", left)
	}

	// /b lies once: fetched again, then right.
	e.srv.SetTree(tree("two", "bEE", t2.Add(time.Hour)))
	lieAlways.Store(false)
	lie.Store(1)
	sum, err, cmds = e.run(VerifyAuto)
	if err != nil || sum.Failed != 0 || sum.Fetched != 2 || sum.Verified != 2 {
		t.Fatalf("third run: %v %+v", err, sum)
	}
	if e.file("a") != "two" || e.file("b") != "bEE" {
		t.Errorf("a = %q, b = %q", e.file("a"), e.file("b"))
	}
	if n := count(cmds, "RETR /a") + count(cmds, "RETR /b"); n != 3 {
		t.Errorf("%d RETRs of /a and /b, want 3 (one lie): %q", n, cmds)
	}

	// verify=off asks nothing.
	e.srv.SetTree(tree("three", "bee", t2.Add(2*time.Hour)))
	lie.Store(100)
	sum, err, cmds = e.run(VerifyOff)
	if err != nil || sum.Failed != 0 || sum.Verified != 0 || count(cmds, "HASH /a") != 0 {
		t.Errorf("verify off: %v %+v %q", err, sum, cmds)
	}
}

// An interrupted download whose bytes on disk went bad before the resume
// (the overlap compared at the resume is intact): the server's digest
// finds it, and the file is fetched again from the start. An intact one
// is resumed and confirmed by the digest.
func TestVerifyResumedDownload(t *testing.T) {
	t1 := time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC)
	content := bytes.Repeat([]byte("0123456789abcdef"), (3<<19)/16) // 1.5 MiB
	root := hostileftp.Dir("/", hostileftp.File("good", content, t1), hostileftp.File("bad", content, t1))
	e := newHashEnv(t, root, &hostileftp.Options{Hash: true})
	if err := os.Mkdir(e.target, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"good", "bad"} {
		part := bytes.Clone(content[:1<<20])
		if name == "bad" {
			part[100] ^= 1 // far before the overlap
		}
		p := state.Partial{Size: int64(len(content)), ModTime: t1, Precision: uint8(ftpcore.TimeExact), Temp: tempPath(name), Started: t1}
		if err := e.db.Job("job").PutPartial(name, p); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(e.target, p.Temp)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(e.target, p.Temp), part, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sum, err, cmds := e.run(VerifyAuto)
	if err != nil || sum.Failed != 0 || sum.Fetched != 2 || sum.Verified != 2 || sum.Resumed != 1 {
		t.Fatalf("run: %v %+v", err, sum)
	}
	for _, name := range []string{"good", "bad"} {
		if got := e.file(name); got != string(content) {
			t.Errorf("%s: %d bytes, not the remote file", name, len(got))
		}
	}
	if count(cmds, "RETR /good") != 1 || count(cmds, "RETR /bad") != 2 || count(cmds, "HASH /bad") != 2 {
		t.Errorf("commands %q: want /good resumed once, /bad resumed then fetched again", cmds)
	}
	if count(cmds, "REST 983040") != 2 { // 1 MiB less the 64 KiB overlap
		t.Errorf("commands %q: want both resumed from 1 MiB less the overlap", cmds)
	}
}

// verify=on with a server that offers no checksum is a run that cannot
// do what it was asked: nothing is fetched. auto fetches unverified.
func TestVerifyOnWithoutChecksum(t *testing.T) {
	root := hostileftp.Dir("/", hostileftp.File("a", []byte("a"), time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC)))
	e := newHashEnv(t, root, nil)
	sum, err, _ := e.run(VerifyOn)
	if !errors.Is(err, ErrNotStarted) || !strings.Contains(err.Error(), "no checksum command") || sum.Fetched != 0 {
		t.Errorf("verify on: %v %+v", err, sum)
	}
	sum, err, cmds := e.run(VerifyAuto)
	if err != nil || sum.Fetched != 1 || sum.Verified != 0 || count(cmds, "HASH /a") != 0 {
		t.Errorf("verify auto: %v %+v %q", err, sum, cmds)
	}
}

// On proftpd with mod_digest: an interrupted download whose kept bytes
// went bad on disk is caught by HASH when resumed and fetched again;
// an intact one is resumed and confirmed.
func TestVerifyResumedProftpd(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	content := bytes.Repeat([]byte("0123456789abcdef"), (3<<19)/16) // 1.5 MiB
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"good", "bad"} {
		writeAt(t, filepath.Join(src, name), content, time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	}
	srv := ftpservers.Start(t, "proftpd", src, &ftpservers.Options{Digest: true})
	db, err := state.Open(filepath.Join(dir, "state.db"), &state.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	target := filepath.Join(dir, "target")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := ftpcore.Dial(t.Context(), srv.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(t.Context(), "", ""); err != nil {
		t.Fatal(err)
	}
	entries, err := c.List(t.Context(), "/")
	c.Close()
	if err != nil || len(entries) != 2 {
		t.Fatalf("listing: %v %+v", err, entries)
	}
	for _, e := range entries {
		part := bytes.Clone(content[:1<<20])
		if e.Name == "bad" {
			part[100] ^= 1
		}
		p := state.Partial{Size: e.Size, ModTime: e.Time, Precision: uint8(e.Precision), Temp: tempPath(e.Name), Started: e.Time}
		if err := db.Job("job").PutPartial(e.Name, p); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(target, p.Temp)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(target, p.Temp), part, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := Run(t.Context(), &Options{Job: "job", Addr: srv.Addr, Root: "/", Target: target, State: db,
		Parallel: 2, FTP: ftpcore.Config{Timeout: 20 * time.Second}})
	if err != nil || sum.Failed != 0 || sum.Fetched != 2 || sum.Verified != 2 || sum.Resumed != 1 {
		t.Fatalf("run: %v %+v", err, sum)
	}
	for _, name := range []string{"good", "bad"} {
		if got, err := os.ReadFile(filepath.Join(target, name)); err != nil || !bytes.Equal(got, content) {
			t.Errorf("%s: %d bytes, not the remote file (%v)", name, len(got), err)
		}
	}
}
