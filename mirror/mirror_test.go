package mirror_test

import (
	"cmp"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/internal/embedftp"
	"github.com/ftpmirror/ftpmirror/internal/treetest"
	"github.com/ftpmirror/ftpmirror/mirror"
	"github.com/ftpmirror/ftpmirror/state"
)

// env is one source tree served by a server, a target and a state.
type env struct {
	t      *testing.T
	src    string
	target string
	db     *state.DB
	addr   string
	user   string
	pass   string
	ftp    ftpcore.Config
	// parallel, if set, replaces Options.Parallel's 4.
	parallel int
}

func newEmbedded(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, src: filepath.Join(dir, "src"), target: filepath.Join(dir, "target")}
	if err := os.Mkdir(e.src, 0o755); err != nil {
		t.Fatal(err)
	}
	srv, err := embedftp.Start(e.src, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	e.addr = srv.Addr()
	e.openState(filepath.Join(dir, "state.db"))
	return e
}

func (e *env) openState(path string) {
	db, err := state.Open(path, &state.Options{NoSync: true})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { db.Close() })
	e.db = db
}

func (e *env) opts() *mirror.Options {
	return &mirror.Options{
		Job: "test", Addr: e.addr, User: e.user, Password: e.pass, FTP: e.ftp,
		Root: "/", Target: e.target, State: e.db, Parallel: cmp.Or(e.parallel, 4),
		Retries: 3, MaxDelete: defaultMaxDelete, // as the command line's defaults
	}
}

// run runs a sync and fails the test on an error or a failed file.
func (e *env) run(o *mirror.Options) *mirror.Summary {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), 2*time.Minute)
	defer cancel()
	sum, err := runPlanned(e.t, ctx, o, filepath.Dir(e.target))
	if err != nil {
		e.t.Fatalf("run: %v", err)
	}
	if sum.Failed > 0 {
		e.t.Fatalf("run: %d failed: %v", sum.Failed, sum.Errors)
	}
	return sum
}

func TestMirrorIncremental(t *testing.T) {
	e := newEmbedded(t)
	treetest.Make(t, e.src, 300, 4096, 1)

	sum := e.run(e.opts())
	if sum.Fetched != 300 || sum.Result != mirror.ResultOK {
		t.Fatalf("first run fetched %d (%s), want 300: %+v", sum.Fetched, sum.Result, sum)
	}
	treetest.Equal(t, e.src, e.target, true)

	sum = e.run(e.opts())
	if sum.Fetched != 0 || sum.Unchanged != 300 {
		t.Fatalf("second run fetched %d, unchanged %d; want 0 and 300", sum.Fetched, sum.Unchanged)
	}

	changed, deleted, added := treetest.Mutate(t, e.src, 5, 2)
	o := e.opts()
	o.Delete = true
	sum = e.run(o)
	if want := int64(len(changed) + len(added)); sum.Fetched != want {
		t.Errorf("third run fetched %d, want %d", sum.Fetched, want)
	}
	if sum.Deleted != int64(len(deleted)) {
		t.Errorf("third run deleted %d, want %d", sum.Deleted, len(deleted))
	}
	treetest.Equal(t, e.src, e.target, true)

	runs, err := e.db.Job("test").Runs(10)
	if err != nil || len(runs) != 3 || runs[0].Fetched != sum.Fetched {
		t.Errorf("run history: %v %+v", err, runs)
	}
}

// A first run over a tree that another tool made (same bytes, same
// times) adopts it instead of downloading it again.
func TestMirrorAdopts(t *testing.T) {
	e := newEmbedded(t)
	treetest.Make(t, e.src, 50, 2048, 3)
	if err := os.CopyFS(e.target, os.DirFS(e.src)); err != nil {
		t.Fatal(err)
	}
	for _, f := range treetest.Files(t, e.src) {
		fi, _ := os.Stat(filepath.Join(e.src, f))
		os.Chtimes(filepath.Join(e.target, f), fi.ModTime(), fi.ModTime())
	}
	sum := e.run(e.opts())
	if sum.Fetched != 0 || sum.Adopted != 50 {
		t.Fatalf("fetched %d, adopted %d; want 0 and 50 (%v)", sum.Fetched, sum.Adopted, sum.Errors)
	}
	sum = e.run(e.opts())
	if sum.Unchanged != 50 {
		t.Fatalf("second run: unchanged %d, want 50", sum.Unchanged)
	}
}

// A local file changed behind the mirror's back is fetched again; one the
// user added is left alone, also by -delete.
func TestMirrorLocalChanges(t *testing.T) {
	e := newEmbedded(t)
	treetest.Make(t, e.src, 20, 1024, 4)
	e.run(e.opts())
	files := treetest.Files(t, e.target)
	os.WriteFile(filepath.Join(e.target, files[0]), []byte("tampered"), 0o644)
	os.Remove(filepath.Join(e.target, files[1]))
	mine := filepath.Join(e.target, "my notes.txt")
	os.WriteFile(mine, []byte("mine"), 0o644)
	o := e.opts()
	o.Delete = true
	sum := e.run(o)
	if sum.Fetched != 2 {
		t.Errorf("fetched %d, want 2", sum.Fetched)
	}
	if b, err := os.ReadFile(mine); err != nil || string(b) != "mine" {
		t.Errorf("user's file: %q %v", b, err)
	}
	os.Remove(mine)
	treetest.Equal(t, e.src, e.target, true)
}

// The deletion guard: a remote root that suddenly lists empty must not
// wipe the mirror.
func TestMirrorMaxDeleteGuard(t *testing.T) {
	e := newEmbedded(t)
	treetest.Make(t, e.src, 40, 512, 5)
	e.run(e.opts())
	before := treetest.Files(t, e.target)

	entries, _ := os.ReadDir(e.src)
	for _, de := range entries {
		os.RemoveAll(filepath.Join(e.src, de.Name()))
	}
	o := e.opts()
	o.Delete = true
	sum, err := mirror.Run(t.Context(), o)
	if !errors.Is(err, mirror.ErrSafetyGuard) {
		t.Fatalf("err = %v, want ErrSafetyGuard", err)
	}
	if sum == nil || sum.Result != mirror.ResultGuard || sum.Deleted != 0 {
		t.Fatalf("summary %+v", sum)
	}
	if !strings.Contains(err.Error(), "nothing deleted") {
		t.Errorf("error should say nothing was deleted: %v", err)
	}
	after := treetest.Files(t, e.target)
	if len(after) != len(before) {
		t.Fatalf("mirror lost files: %d before, %d after", len(before), len(after))
	}
	// With a count limit high enough, the same run goes through.
	o.MaxDelete = mirror.DeleteLimit{N: 1000}
	sum = e.run(o)
	if sum.Deleted != int64(len(before)) {
		t.Fatalf("deleted %d, want %d", sum.Deleted, len(before))
	}
}

func TestMirrorDryRun(t *testing.T) {
	e := newEmbedded(t)
	treetest.Make(t, e.src, 30, 512, 6)
	o := e.opts()
	o.DryRun = true
	var mu sync.Mutex
	var plan []mirror.Action
	o.Report = func(a mirror.Action) {
		mu.Lock()
		plan = append(plan, a)
		mu.Unlock()
	}
	sum := e.run(o)
	if sum.Result != mirror.ResultDryRun || sum.Fetched != 30 {
		t.Fatalf("summary %+v", sum)
	}
	fetches := 0
	for _, a := range plan {
		if a.Verb == mirror.VerbFetch {
			fetches++
		}
	}
	if fetches != 30 {
		t.Errorf("plan has %d fetches, want 30", fetches)
	}
	if _, err := os.Stat(e.target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dry run created the target: %v", err)
	}
	if n, _ := e.db.Job("test").Count(); n != 0 {
		t.Errorf("dry run wrote %d state records", n)
	}
	if runs, _ := e.db.Job("test").Runs(1); len(runs) != 0 {
		t.Errorf("dry run recorded a run")
	}
}

func TestMirrorFilters(t *testing.T) {
	e := newEmbedded(t)
	for _, f := range []string{"a/keep.iso", "a/skip.txt", "b/deep/x.iso", "tmp/y.iso", "big.iso"} {
		p := filepath.Join(e.src, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		size := 10
		if f == "big.iso" {
			size = 5000
		}
		os.WriteFile(p, make([]byte, size), 0o644)
	}
	o := e.opts()
	o.Include = []string{"*.iso"}
	o.Exclude = []string{"tmp"}
	o.MaxSize = 1000
	e.run(o)
	got := treetest.Files(t, e.target)
	want := []string{"a/keep.iso", "b/deep/x.iso"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// An interrupted download keeps its partial file, and the next run
// continues it with REST from where it stopped.
func TestMirrorResumeEmbedded(t *testing.T) {
	e := newEmbedded(t)
	big := make([]byte, 6<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	os.WriteFile(filepath.Join(e.src, "big.bin"), big, 0o644)

	o := e.opts()
	o.LimitRate = 2 << 20
	o.Progress = &mirror.Progress{}
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		for o.Progress.BytesDone.Load() < 1<<20 {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	if _, err := mirror.Run(ctx, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: err = %v", err)
	}
	parts, err := e.db.Job("test").Partials()
	if err != nil || len(parts) != 1 {
		t.Fatalf("partials after interruption: %v %v", parts, err)
	}
	tmp := filepath.Join(e.target, parts["big.bin"].Temp)
	fi, err := os.Stat(tmp)
	if err != nil || fi.Size() == 0 || fi.Size() >= int64(len(big)) {
		t.Fatalf("partial file: %v %v", fi, err)
	}
	if _, err := os.Stat(filepath.Join(e.target, "big.bin")); err == nil {
		t.Fatal("a half-written file appeared under its final name")
	}

	sum := e.run(e.opts())
	if sum.Resumed != 1 || sum.Bytes != int64(len(big))-fi.Size() {
		t.Fatalf("resumed %d with %d bytes; want 1 with %d", sum.Resumed, sum.Bytes, int64(len(big))-fi.Size())
	}
	treetest.Equal(t, e.src, e.target, true)
	if parts, _ := e.db.Job("test").Partials(); len(parts) != 0 {
		t.Errorf("partial record left: %v", parts)
	}
}
