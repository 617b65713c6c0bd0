package mirror_test

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ftpmirror/ftpmirror/internal/treetest"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// readTree returns every regular file under dir (followed if a symlink)
// with its contents, read through one Root, so that the tree is
// resolved once.
func readTree(dir string) (map[string]string, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	out := map[string]string{}
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := root.ReadFile(p)
		out[p] = string(data)
		return err
	})
	return out, err
}

func mustReadTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	m, err := readTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func snapshotNames(t *testing.T, target string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(target, "snapshots"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Name() != "next" {
			names = append(names, e.Name())
		}
	}
	return names
}

// TestRealServerSnapshotReader: a reader that walks the tree through
// current, over and over, while a snapshot sync with changes, additions
// and deletions runs, finds in every pass exactly the old version or
// exactly the new one. Unchanged files are hard links to the old
// version's.
func TestRealServerSnapshotReader(t *testing.T) {
	e, _ := newReal(t, "vsftpd", false)
	treetest.Make(t, e.src, 60, 8192, 21)
	o := e.opts()
	o.Publish = mirror.PublishSnapshot
	o.Delete = true
	sum := e.run(o)
	current := filepath.Join(e.target, "current")
	old := mustReadTree(t, current)
	if want := mustReadTree(t, e.src); !maps.Equal(old, want) || sum.Snapshot == "" {
		t.Fatalf("first snapshot (%q) differs from the source: %d files, want %d", sum.Snapshot, len(old), len(want))
	}
	oldDir, _ := filepath.EvalSymlinks(current)

	changed, deleted, added := treetest.Mutate(t, e.src, 30, 22)
	if len(changed) == 0 || len(deleted) == 0 || len(added) == 0 {
		t.Fatalf("mutation: %d changed, %d deleted, %d added", len(changed), len(deleted), len(added))
	}
	next := mustReadTree(t, e.src)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var passes, sawOld, sawNew int
	var mixed []string
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			got, err := readTree(current)
			passes++
			switch {
			case err != nil:
				mixed = append(mixed, err.Error())
			case maps.Equal(got, old):
				sawOld++
			case maps.Equal(got, next):
				sawNew++
			default:
				mixed = append(mixed, describeMix(got, old, next))
			}
		}
	})
	o.LimitRate = 256 << 10 // a run long enough for many passes
	sum = e.run(o)
	close(stop)
	wg.Wait()
	if len(mixed) > 0 {
		t.Fatalf("%d of %d passes saw neither version, first: %s", len(mixed), passes, mixed[0])
	}
	t.Logf("passes %d old %d new %d", passes, sawOld, sawNew)
	if sawOld == 0 || passes < 3 {
		t.Errorf("%d passes, %d of the old version, %d of the new: the reader ran too little to tell", passes, sawOld, sawNew)
	}
	if got := mustReadTree(t, current); !maps.Equal(got, next) || sum.Snapshot == "" {
		t.Fatalf("after the run, current (%q) is not the new version", sum.Snapshot)
	}
	// Unchanged files share the old version's inode.
	newDir, _ := filepath.EvalSymlinks(current)
	for p := range next {
		if old[p] != next[p] || slices.Contains(changed, p) {
			continue
		}
		a, _ := os.Stat(filepath.Join(oldDir, p))
		b, _ := os.Stat(filepath.Join(newDir, p))
		if a == nil || b == nil || !os.SameFile(a, b) {
			t.Errorf("%s: not a hard link to the old version's", p)
			break
		}
	}
}

// describeMix says how a tree differs from both versions.
func describeMix(got, old, next map[string]string) string {
	var b strings.Builder
	for p, c := range got {
		if o, ok := old[p]; !ok || o != c {
			b.WriteString("new-or-other " + p + "; ")
			break
		}
	}
	for p, c := range got {
		if n, ok := next[p]; !ok || n != c {
			b.WriteString("old-or-other " + p)
			break
		}
	}
	return b.String()
}

// TestRealServerSnapshotFailedRun: a run where a file fails leaves
// current as it was, and the next run goes on in snapshots/next and
// publishes; only keep_snapshots versions stay, the current one among
// them.
func TestRealServerSnapshotFailedRun(t *testing.T) {
	e, _ := newReal(t, "vsftpd", false)
	treetest.Make(t, e.src, 20, 2048, 31)
	o := e.opts()
	o.Publish = mirror.PublishSnapshot
	o.KeepSnapshots = 2
	e.run(o)
	current := filepath.Join(e.target, "current")
	first, err := os.Readlink(current)
	if err != nil {
		t.Fatal(err)
	}
	old := mustReadTree(t, current)

	bad := filepath.Join(e.src, "new.bin")
	if err := os.WriteFile(bad, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(bad, 0o700); err != nil { // vsftpd's anonymous user cannot read it
		t.Fatal(err)
	}
	sum, err := mirror.Run(t.Context(), o)
	if err != nil || sum.Result != mirror.ResultPartial || sum.Snapshot != "" {
		t.Fatalf("run with a failing file: %v %+v", err, sum)
	}
	if l, _ := os.Readlink(current); l != first || !maps.Equal(mustReadTree(t, current), old) {
		t.Fatalf("a partial run switched current: %s -> %s", first, l)
	}

	os.Chmod(bad, 0o644)
	sum = e.run(o)
	if sum.Fetched != 1 || sum.Snapshot == "" {
		t.Fatalf("run after the fix fetched %d, published %q", sum.Fetched, sum.Snapshot)
	}
	if got := mustReadTree(t, current); !maps.Equal(got, mustReadTree(t, e.src)) {
		t.Fatalf("current is not the source's tree")
	}
	os.WriteFile(filepath.Join(e.src, "more.bin"), []byte("more"), 0o644)
	sum = e.run(o)
	names := snapshotNames(t, e.target)
	if l, _ := os.Readlink(current); len(names) != 2 || l != "snapshots/"+names[1] || sum.Snapshot != names[1] {
		t.Fatalf("after three published runs with keep 2: snapshots %q, current -> %s, published %q", names, l, sum.Snapshot)
	}
}

// TestRealServerSnapshotSentinel: a snapshot run whose sentinel is
// unchanged ends ok without publishing, and current stays; a changed
// sentinel publishes a new version.
func TestRealServerSnapshotSentinel(t *testing.T) {
	e, _ := newReal(t, "vsftpd", false)
	treetest.Make(t, e.src, 10, 2048, 37)
	if err := os.WriteFile(filepath.Join(e.src, "trace"), []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := e.opts()
	o.Publish = mirror.PublishSnapshot
	o.Sentinel = "trace"
	e.run(o)
	current := filepath.Join(e.target, "current")
	first, err := os.Readlink(current)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := mirror.Run(t.Context(), o)
	if err != nil || sum.Result != mirror.ResultOK || !sum.SentinelUnchanged || sum.Snapshot != "" {
		t.Fatalf("unchanged sentinel: %v %+v", err, sum)
	}
	if l, _ := os.Readlink(current); l != first || len(snapshotNames(t, e.target)) != 1 {
		t.Fatalf("an unchanged sentinel switched current %s -> %s, versions %v", first, l, snapshotNames(t, e.target))
	}
	if err := os.WriteFile(filepath.Join(e.src, "trace"), []byte("22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if sum := e.run(o); sum.SentinelUnchanged || sum.Snapshot == "" {
		t.Fatalf("changed sentinel: %+v", sum)
	}
}

// TestRealServerSnapshotVerify: verify checks the version current
// names: a byte changed there is found.
func TestRealServerSnapshotVerify(t *testing.T) {
	e, _ := newReal(t, "vsftpd", false)
	treetest.Make(t, e.src, 10, 2048, 41)
	o := e.opts()
	o.Publish = mirror.PublishSnapshot
	e.run(o)
	vo := &mirror.VerifyOptions{Job: o.Job, Target: e.target, State: o.State}
	if sum, err := mirror.Verify(t.Context(), vo); err != nil || sum.Files != 10 || sum.Digests != 10 || len(sum.Mismatches) != 0 {
		t.Fatalf("verify of a fresh snapshot: %v %+v", err, sum)
	}
	cur, err := filepath.EvalSymlinks(filepath.Join(e.target, "current"))
	if err != nil {
		t.Fatal(err)
	}
	files := treetest.Files(t, cur)
	p := filepath.Join(cur, files[0])
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{'!'}, 0)
	f.Close()
	os.Chtimes(p, fi.ModTime(), fi.ModTime())
	sum, err := mirror.Verify(t.Context(), vo)
	if !errors.Is(err, mirror.ErrMismatch) || len(sum.Mismatches) != 1 || sum.Mismatches[0].Path != files[0] {
		t.Fatalf("verify after a byte changed in current/%s: %v %+v", files[0], err, sum)
	}
}

// TestRealServerSnapshotDeleteGuard: the delete guard holds in snapshot
// mode: a run that would delete more than MaxDelete allows stops with
// the guard, deletes nothing, and does not switch current.
func TestRealServerSnapshotDeleteGuard(t *testing.T) {
	e, _ := newReal(t, "vsftpd", false)
	treetest.Make(t, e.src, 10, 2048, 43)
	o := e.opts()
	o.Publish = mirror.PublishSnapshot
	o.Delete = true
	e.run(o)
	current := filepath.Join(e.target, "current")
	first, err := os.Readlink(current)
	if err != nil {
		t.Fatal(err)
	}
	before := mustReadTree(t, current)
	files := treetest.Files(t, e.src)
	for _, f := range files[:6] { // 6 of 10: over the default 50%
		if err := os.Remove(filepath.Join(e.src, f)); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := mirror.Run(t.Context(), o)
	if !errors.Is(err, mirror.ErrSafetyGuard) || sum.Deleted != 0 || sum.Snapshot != "" {
		t.Fatalf("6 of 10 gone in snapshot mode: %v %+v", err, sum)
	}
	if l, _ := os.Readlink(current); l != first || !maps.Equal(mustReadTree(t, current), before) {
		t.Fatalf("the guard's run changed what current shows: %s -> %s", first, l)
	}
}
