package state

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	bolt "go.etcd.io/bbolt"
)

// openTest opens a fresh database that is closed when the test ends.
func openTest(t testing.TB) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "state.db"), &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

// oddNames are names a server may send; all but '/' and NUL are allowed.
var oddNames = []string{
	"with space",
	" leading and trailing ",
	"ünïcödé 日本語",
	"caf\xe9 latin-1",
	`back\slash`,
	"new\nline",
	"tab\there",
	"-",
	"...",
	"\x01\x7f\xff",
	strings.Repeat("long", 1000),
}

func TestOpenCreates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "state.db")
	db, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if db.Path() != path {
		t.Errorf("Path() = %q, want %q", db.Path(), path)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]fs.FileMode{dir: 0o700 | fs.ModeDir, path: 0o600} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		// The umask can only take bits away.
		if fi.Mode()&^want != 0 {
			t.Errorf("%s: mode %v, want at most %v", name, fi.Mode(), want)
		}
	}
}

func TestRecords(t *testing.T) {
	db := openTest(t)
	want := map[string]Record{
		"":                {Kind: KindDir},
		"zero":            {},
		"dir":             {Kind: KindDir, ModTime: t0, Precision: 2, Fetched: t0},
		"dir/file":        {Kind: KindFile, Size: 42, ModTime: t0, Precision: 3, Fetched: t0},
		"dir/link":        {Kind: KindSymlink, Target: "../zero"},
		"dir/sub/deep/er": {Size: 1, ModTime: tOld, Fetched: tLate},
		"epoch":           {ModTime: tEpoch},
		"ünïcödé/日本語.txt": {Size: 7},
	}
	for _, n := range oddNames {
		want[n] = Record{Size: int64(len(n)), Target: n}
		want["dir/"+n] = Record{Size: int64(len(n))}
		want[n+"/"+n] = Record{Size: int64(len(n))}
	}
	var changes []Change
	for p, r := range want {
		changes = append(changes, Change{Path: p, Record: r})
	}
	if err := db.Job("job").Apply(changes); err != nil {
		t.Fatal(err)
	}

	for p, r := range want {
		got, ok, err := db.Job("job").Get(p)
		if err != nil || !ok || !reflect.DeepEqual(got, r) {
			t.Errorf("Get(%q) = %+v, %v, %v; want %+v", p, got, ok, err, r)
		}
	}
	if n, err := db.Job("job").Count(); err != nil || n != len(want) {
		t.Errorf("Count = %d, %v; want %d", n, err, len(want))
	}
	walked := map[string]Record{}
	err := db.Job("job").Walk(func(p string, r Record) error {
		if _, dup := walked[p]; dup {
			t.Errorf("Walk visits %q twice", p)
		}
		walked[p] = r
		return nil
	})
	if err != nil || !reflect.DeepEqual(walked, want) {
		t.Errorf("Walk = %v, %v; want %v", walked, err, want)
	}

	// Missing paths, jobs and names.
	for _, q := range []struct{ job, path string }{{"job", "nope"}, {"job", "dir/nope"}, {"other", "dir"}} {
		if _, ok, err := db.Job(q.job).Get(q.path); ok || err != nil {
			t.Errorf("Get(%q, %q) = %v, %v; want not found", q.job, q.path, ok, err)
		}
	}
	if n, err := db.Job("other").Count(); n != 0 || err != nil {
		t.Errorf("Count(other) = %d, %v", n, err)
	}

	// Returned values must not alias bbolt's pages, which the next write
	// reuses.
	got, _, _ := db.Job("job").Get("dir/link")
	if err := db.Job("job").Apply([]Change{{Path: "dir/link", Record: Record{Target: "XXXXXXXX"}}}); err != nil {
		t.Fatal(err)
	}
	if got.Target != "../zero" {
		t.Errorf("an earlier Get's Target changed to %q", got.Target)
	}
}

func TestApplyDeletes(t *testing.T) {
	db := openTest(t)
	apply := func(changes ...Change) {
		t.Helper()
		if err := db.Job("j").Apply(changes); err != nil {
			t.Fatal(err)
		}
	}
	apply(Change{Path: "a", Record: Record{Kind: KindDir}},
		Change{Path: "a/b", Record: Record{Size: 1}},
		Change{Path: "c", Record: Record{Size: 2}})
	apply(Change{Path: "a/b", Delete: true},
		Change{Path: "missing", Delete: true},
		Change{Path: "c", Record: Record{Size: 3}},
		Change{Path: "d", Record: Record{Size: 4}},
		Change{Path: "d", Delete: true}, // later changes win
		Change{Path: "e", Delete: true},
		Change{Path: "e", Record: Record{Size: 5}})
	want := map[string]int64{"a": 0, "c": 3, "e": 5}
	got := map[string]int64{}
	if err := db.Job("j").Walk(func(p string, r Record) error { got[p] = r.Size; return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after deletes: %v, want %v", got, want)
	}

	// One bad path fails the whole Apply before anything is written.
	err := db.Job("j").Apply([]Change{{Path: "f"}, {Path: "/abs"}})
	if !errors.Is(err, errInvalidPath) || !strings.Contains(err.Error(), `job "j"`) {
		t.Errorf("Apply with a bad path: %v", err)
	}
	if _, ok, _ := db.Job("j").Get("f"); ok {
		t.Error("Apply with a bad path wrote the good one")
	}
	if err := db.Job("j").Apply(nil); err != nil {
		t.Errorf("Apply(nil) = %v", err)
	}
}

func TestChildren(t *testing.T) {
	db := openTest(t)
	paths := []string{"", "a", "a/b", "a/b/c", "a/b/c/d", "ab", "ab/x", "a b", "a-", "a-/y", "z", "a/ü", "a/" + oddNames[3]}
	var changes []Change
	for _, p := range paths {
		changes = append(changes, Change{Path: p, Record: Record{Size: int64(len(p))}})
	}
	if err := db.Job("j").Apply(changes); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dir  string
		want []string
	}{
		{"", []string{"a", "a b", "a-", "ab", "z"}},
		{"a", []string{"b", "ü", oddNames[3]}},
		{"a/b", []string{"c"}},
		{"a/b/c", []string{"d"}},
		{"ab", []string{"x"}},
		{"a-", []string{"y"}},
		{"z", nil},
		{"missing", nil},
	}
	for _, tt := range tests {
		m, err := db.Job("j").Children(tt.dir)
		if err != nil {
			t.Fatal(err)
		}
		got := slices.Sorted(maps.Keys(m))
		if want := slices.Sorted(slices.Values(tt.want)); !slices.Equal(got, want) {
			t.Errorf("Children(%q) = %q, want %q", tt.dir, got, want)
		}
		for name, r := range m {
			p := name
			if tt.dir != "" {
				p = tt.dir + "/" + name
			}
			if r.Size != int64(len(p)) {
				t.Errorf("Children(%q)[%q] is the record of another path", tt.dir, name)
			}
		}
	}
	if m, err := db.Job("nojob").Children(""); err != nil || len(m) != 0 {
		t.Errorf("Children of a missing job = %v, %v", m, err)
	}
}

func TestWalk(t *testing.T) {
	db := openTest(t)
	// More than walkChunk records, so Walk takes several transactions.
	want := map[string]bool{"": true}
	var changes []Change
	for i := range 30 {
		d := fmt.Sprintf("d%02d", i)
		want[d] = true
		changes = append(changes, Change{Path: d, Record: Record{Kind: KindDir}})
		for j := range 100 {
			p := fmt.Sprintf("%s/f%03d", d, j)
			want[p] = true
			changes = append(changes, Change{Path: p})
		}
	}
	changes = append(changes, Change{Path: "", Record: Record{Kind: KindDir}})
	if err := db.Job("j").Apply(changes); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	err := db.Job("j").Walk(func(p string, r Record) error {
		if seen[p] {
			t.Errorf("%q seen twice", p)
		}
		if i := strings.LastIndexByte(p, '/'); i >= 0 && !seen[p[:i]] {
			t.Errorf("%q before its directory", p)
		}
		if p != "" && !seen[""] {
			t.Errorf("%q before the root", p)
		}
		seen[p] = true
		// fn may write: no transaction is held while it runs.
		if p == "d10/f050" {
			return db.Job("j").Apply([]Change{{Path: "d10/extra"}})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	delete(seen, "d10/extra") // may or may not be seen
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("Walk saw %d paths, want %d", len(seen), len(want))
	}

	stop := errors.New("stop")
	n := 0
	err = db.Job("j").Walk(func(string, Record) error {
		if n++; n == 1500 {
			return stop
		}
		return nil
	})
	if err != stop || n != 1500 {
		t.Errorf("Walk stopped after %d with %v, want 1500 and the fn's error unchanged", n, err)
	}
	if err := db.Job("nojob").Walk(func(string, Record) error { return stop }); err != nil {
		t.Errorf("Walk of a missing job: %v", err)
	}
}

func TestPartials(t *testing.T) {
	db := openTest(t)
	want := map[string]Partial{
		"a/big.iso":        {Size: 1 << 32, ModTime: t0, Precision: 3, Temp: ".ftpmirror/big.iso.part", Started: t0},
		"zero":             {},
		oddNames[2]:        {Temp: oddNames[2]},
		"x/" + oddNames[3]: {Temp: oddNames[3], ModTime: tEpoch},
	}
	for p, v := range want {
		if err := db.Job("j").PutPartial(p, v); err != nil {
			t.Fatal(err)
		}
	}
	for p, v := range want {
		got, ok, err := db.Job("j").GetPartial(p)
		if err != nil || !ok || !reflect.DeepEqual(got, v) {
			t.Errorf("GetPartial(%q) = %+v, %v, %v", p, got, ok, err)
		}
	}
	all, err := db.Job("j").Partials()
	if err != nil || !reflect.DeepEqual(all, want) {
		t.Errorf("Partials = %v, %v", all, err)
	}
	if err := db.Job("j").DeletePartial("a/big.iso"); err != nil {
		t.Fatal(err)
	}
	if err := db.Job("j").DeletePartial("never"); err != nil {
		t.Errorf("DeletePartial of a missing path: %v", err)
	}
	if err := db.Job("nojob").DeletePartial("never"); err != nil {
		t.Errorf("DeletePartial of a missing job: %v", err)
	}
	if _, ok, err := db.Job("j").GetPartial("a/big.iso"); ok || err != nil {
		t.Errorf("deleted partial still there: %v, %v", ok, err)
	}
	if all, _ := db.Job("j").Partials(); len(all) != len(want)-1 {
		t.Errorf("Partials after delete: %d, want %d", len(all), len(want)-1)
	}
	// Partials do not show up as records.
	if n, _ := db.Job("j").Count(); n != 0 {
		t.Errorf("Count = %d, want 0", n)
	}
}

func TestRuns(t *testing.T) {
	db := openTest(t)
	if runs, err := db.Job("j").Runs(0); err != nil || len(runs) != 0 {
		t.Fatalf("Runs of a new job = %v, %v", runs, err)
	}
	for i := 1; i <= MaxRuns+5; i++ {
		r := Run{ID: 999, Start: t0.Add(time.Duration(i) * time.Hour), Result: "ok", Fetched: int64(i)}
		id, err := db.Job("j").AddRun(r)
		if err != nil {
			t.Fatal(err)
		}
		if id != uint64(i) {
			t.Fatalf("run %d got ID %d", i, id)
		}
	}
	runs, err := db.Job("j").Runs(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != MaxRuns {
		t.Fatalf("%d runs kept, want %d", len(runs), MaxRuns)
	}
	for i, r := range runs {
		want := uint64(MaxRuns + 5 - i)
		if r.ID != want || r.Fetched != int64(want) || !r.Start.Equal(t0.Add(time.Duration(want)*time.Hour)) {
			t.Fatalf("runs[%d] = %+v, want ID %d", i, r, want)
		}
	}
	if runs, _ := db.Job("j").Runs(3); len(runs) != 3 || runs[0].ID != MaxRuns+5 || runs[2].ID != MaxRuns+3 {
		t.Errorf("Runs(3) = %+v", runs)
	}
	if runs, _ := db.Job("other").Runs(3); len(runs) != 0 {
		t.Errorf("Runs of another job = %+v", runs)
	}

	// Errors are capped in number and length.
	var errs []string
	for i := range MaxRunErrors + 5 {
		errs = append(errs, fmt.Sprintf("%02d ", i)+strings.Repeat("€", 1000))
	}
	errs[1] = "short"
	id, err := db.Job("j").AddRun(Run{Result: "failed", Errors: errs})
	if err != nil {
		t.Fatal(err)
	}
	runs, _ = db.Job("j").Runs(1)
	got := runs[0]
	if got.ID != id || len(got.Errors) != MaxRunErrors || got.Errors[1] != "short" || !strings.HasPrefix(got.Errors[19], "19 ") {
		t.Fatalf("run with many errors: ID %d, %d errors", got.ID, len(got.Errors))
	}
	for _, e := range got.Errors {
		if len(e) > MaxRunErrorLen {
			t.Errorf("error of %d bytes kept", len(e))
		}
	}
	if errs[0] == got.Errors[0] {
		t.Error("AddRun trimmed the caller's slice")
	}
}

func TestJobs(t *testing.T) {
	db := openTest(t)
	for _, j := range []string{"b", "a", "with space", oddNames[3]} {
		if err := db.Job(j).Apply([]Change{{Path: "x"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Job("runs-only").AddRun(Run{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "b", oddNames[3], "runs-only", "with space"}
	slices.Sort(want)
	if jobs, err := db.Jobs(); err != nil || !slices.Equal(jobs, want) {
		t.Errorf("Jobs = %q, %v; want %q", jobs, err, want)
	}
	if err := db.DeleteJob("a"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteJob("never"); err != nil {
		t.Errorf("DeleteJob of a missing job: %v", err)
	}
	if _, ok, _ := db.Job("a").Get("x"); ok {
		t.Error("record of a deleted job still there")
	}
	if jobs, _ := db.Jobs(); slices.Contains(jobs, "a") {
		t.Errorf("Jobs after DeleteJob = %q", jobs)
	}
	// The IDs of a deleted job's runs start again.
	if id, _ := db.Job("runs-only").AddRun(Run{}); id != 2 {
		t.Errorf("second run has ID %d", id)
	}
	if err := db.Job("").Apply([]Change{{Path: "x"}}); err == nil {
		t.Error("empty job name accepted")
	}
}

func TestBadPaths(t *testing.T) {
	db := openTest(t)
	for _, p := range []string{"/a", "a/", "a//b", "a\x00b", strings.Repeat("x", 40000)} {
		if _, _, err := db.Job("j").Get(p); !errors.Is(err, errInvalidPath) {
			t.Errorf("Get(%q): %v", p, err)
		}
		if _, err := db.Job("j").Children(p); !errors.Is(err, errInvalidPath) {
			t.Errorf("Children(%q): %v", p, err)
		}
		if err := db.Job("j").PutPartial(p, Partial{}); !errors.Is(err, errInvalidPath) {
			t.Errorf("PutPartial(%q): %v", p, err)
		}
	}
}

func TestLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	for _, ro := range []bool{false, true} {
		start := time.Now()
		db2, err := Open(path, &Options{Timeout: 100 * time.Millisecond, ReadOnly: ro})
		if err == nil {
			db2.Close()
			t.Fatalf("ReadOnly %v: second Open succeeded", ro)
		}
		if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) {
			t.Errorf("ReadOnly %v: err = %v, want ErrLocked naming %s", ro, err, path)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("ReadOnly %v: gave up after %v", ro, d)
		}
	}

	// Once closed, the file opens again; readers share it.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	r1, err := Open(path, &Options{ReadOnly: true, Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	r2, err := Open(path, &Options{ReadOnly: true, Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("second reader: %v", err)
	}
	defer r2.Close()
}

func TestReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	if _, err := Open(path, &Options{ReadOnly: true}); !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrCorrupt) {
		t.Errorf("ReadOnly Open of a missing file: %v", err)
	}
	db, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Job("j").Apply([]Change{{Path: "a", Record: Record{Size: 5}}}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = Open(path, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if r, ok, err := db.Job("j").Get("a"); err != nil || !ok || r.Size != 5 {
		t.Errorf("Get = %v, %v, %v", r, ok, err)
	}
	if err := db.Job("j").Apply([]Change{{Path: "b"}}); err == nil {
		t.Error("Apply on a read-only database succeeded")
	}
	if _, err := db.Job("j").AddRun(Run{}); err == nil {
		t.Error("AddRun on a read-only database succeeded")
	}
}

// writeRealDB writes a database with enough records to span many pages
// and returns its bytes and how many of them its pages use (the file may
// have room to grow into).
func writeRealDB(t *testing.T) (data []byte, used int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "real.db")
	db, err := Open(path, &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	var changes []Change
	for i := range 5000 {
		changes = append(changes, Change{Path: fmt.Sprintf("dir%d/file%d", i%50, i), Record: Record{Size: int64(i), ModTime: t0}})
	}
	if err := db.Job("j").Apply(changes); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Job("j").AddRun(Run{Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	if err := db.view("", func(tx *bolt.Tx) error { used = int(tx.Size()); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	data, err = os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data, used
}

func TestOpenCorrupt(t *testing.T) {
	real, used := writeRealDB(t)
	const pageSize = 4096
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	// pagesGarbled keeps the two meta pages and fills the rest with noise.
	pagesGarbled := append(append([]byte(nil), real[:2*pageSize]...), random(len(real)-2*pageSize)...)

	tests := []struct {
		name string
		data []byte
	}{
		{"random 100 bytes", random(100)},
		{"random 64 KiB", random(64 << 10)},
		{"text", []byte(strings.Repeat("this is not a database\n", 1000))},
		{"truncated to 1 page", real[:pageSize]},
		{"truncated to 2 pages", real[:2*pageSize]},
		{"truncated to 2 pages + 1", real[:2*pageSize+1]},
		{"truncated to half", real[:len(real)/2]},
		{"truncated by 1 used page", real[:used-pageSize]},
		{"truncated by 1 used byte", real[:used-1]},
		{"meta pages zeroed", append(make([]byte, 2*pageSize), real[2*pageSize:]...)},
		{"pages after meta garbled", pagesGarbled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			db, err := Open(path, &Options{Timeout: 100 * time.Millisecond})
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			checkCorruptError(t, err, path)
			// The lock was released: the file can be replaced and
			// opened, and a second try gives the same answer.
			if _, err := Open(path, &Options{Timeout: 100 * time.Millisecond}); !errors.Is(err, ErrCorrupt) {
				t.Errorf("second Open: %v", err)
			}
		})
	}

	t.Run("directory", func(t *testing.T) {
		path := t.TempDir()
		_, err := Open(path, nil)
		checkCorruptError(t, err, path)
		if _, err := Open(path, &Options{ReadOnly: true}); !errors.Is(err, ErrCorrupt) {
			t.Errorf("ReadOnly: %v", err)
		}
	})

	t.Run("zero length", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.db")
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Open(path, &Options{ReadOnly: true})
		checkCorruptError(t, err, path)
		// Read-write, it is a database whose creation was cut short.
		db, err := Open(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if n, err := db.Job("j").Count(); n != 0 || err != nil {
			t.Errorf("Count = %d, %v", n, err)
		}
		if err := db.Job("j").Apply([]Change{{Path: "a"}}); err != nil {
			t.Error(err)
		}
	})
}

func checkCorruptError(t *testing.T, err error, path string) {
	t.Helper()
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v, want ErrCorrupt", err)
	}
	msg := err.Error()
	for _, s := range []string{path, "move it away", "ftpmirror state rebuild"} {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not mention %q", msg, s)
		}
	}
}

// A file whose meta pages are sound but whose data pages are damaged may
// open; then each call either works or returns ErrCorrupt, never panics.
func TestDamagedPages(t *testing.T) {
	real, used := writeRealDB(t)
	real = real[:used]
	const pageSize = 4096
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			data := slices.Clone(real)
			// Overwrite a few whole pages, and some single bytes.
			for range 3 {
				p := 2 + rng.IntN(len(data)/pageSize-2)
				for i := p * pageSize; i < (p+1)*pageSize; i++ {
					data[i] = byte(rng.Uint32())
				}
			}
			for range 50 {
				data[2*pageSize+rng.IntN(len(data)-2*pageSize)] = byte(rng.Uint32())
			}
			path := filepath.Join(t.TempDir(), "state.db")
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			db, err := Open(path, &Options{NoSync: true})
			if err != nil {
				checkCorruptError(t, err, path)
				t.Logf("Open: %v", err)
				return
			}
			defer db.Close()
			ok := func(what string, err error) {
				if err != nil && !errors.Is(err, ErrCorrupt) {
					t.Errorf("%s: %v", what, err)
				} else if err != nil {
					t.Logf("%s: %v", what, err)
				}
			}
			ok("Walk", db.Job("j").Walk(func(string, Record) error { return nil }))
			_, err = db.Job("j").Children("dir7")
			ok("Children", err)
			_, _, err = db.Job("j").Get("dir3/file3")
			ok("Get", err)
			_, err = db.Job("j").Count()
			ok("Count", err)
			_, err = db.Job("j").Runs(0)
			ok("Runs", err)
			ok("Apply", db.Job("j").Apply([]Change{{Path: "dir1/new"}, {Path: "dir2/file2", Delete: true}}))
		})
	}
}

// A panic inside a transaction is ErrCorrupt, and the DB stays failed.
func TestPanicBreaksDB(t *testing.T) {
	db := openTest(t)
	if err := db.Job("j").Apply([]Change{{Path: "a"}}); err != nil {
		t.Fatal(err)
	}
	err := db.view("j", func(*bolt.Tx) error { panic("bad page") })
	checkCorruptError(t, err, db.Path())
	if !strings.Contains(err.Error(), "bad page") {
		t.Errorf("error %q does not carry the panic", err)
	}
	if _, _, err2 := db.Job("j").Get("a"); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("Get after a panic: %v", err2)
	}
	if err := db.Job("j").Apply([]Change{{Path: "b"}}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Apply after a panic: %v", err)
	}
}

// bbolt polls the lock with time.Sleep, so the fake clock measures the wait.
func TestDefaultTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.db")
		db, err := Open(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		start := time.Now()
		_, err = Open(path, &Options{})
		if d := time.Since(start); !errors.Is(err, ErrLocked) || d < defaultTimeout-100*time.Millisecond || d > defaultTimeout {
			t.Errorf("Open with zero Timeout: %v after %v, want ErrLocked after %v", err, d, defaultTimeout)
		}
	})
}
