package state

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// fillSparse writes n records in a random order, as a mirror finishing
// its files in parallel does, then deletes every other one if thin.
func fillSparse(t *testing.T, db *DB, n int, thin bool) map[string]Record {
	t.Helper()
	j := db.Job("j")
	want := map[string]Record{}
	order := rand.New(rand.NewPCG(1, 2)).Perm(n)
	for start := 0; start < n; start += 500 {
		var changes []Change
		for _, i := range order[start:min(start+500, n)] {
			p := fmt.Sprintf("dir%03d/file-%06d.dat", i%97, i)
			r := Record{Size: int64(i), ModTime: time.Unix(1_700_000_000+int64(i), 0).UTC(), Precision: 3,
				Fetched: time.Unix(1_800_000_000, int64(i)).UTC(), Digest: []byte(strings.Repeat("d", 32))}
			changes = append(changes, Change{Path: p, Record: r})
			want[p] = r
		}
		if err := j.Apply(changes); err != nil {
			t.Fatal(err)
		}
	}
	if thin {
		var changes []Change
		for p := range want {
			if len(changes)%2 == 0 {
				delete(want, p)
				changes = append(changes, Change{Path: p, Delete: true})
			} else {
				changes = append(changes, Change{Path: p, Record: want[p]})
			}
		}
		if err := j.Apply(changes); err != nil {
			t.Fatal(err)
		}
	}
	return want
}

func checkRecords(t *testing.T, path string, want map[string]Record) {
	t.Helper()
	db, err := Open(path, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got := map[string]Record{}
	if err := db.Job("j").Walk(func(p string, r Record) error { got[p] = r; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d records after, want %d", len(got), len(want))
	}
	for p, r := range want {
		if g, ok := got[p]; !ok || !recordEqual(g, r) {
			t.Fatalf("record %q = %+v, %v; want %+v", p, g, ok, r)
		}
	}
}

func recordEqual(a, b Record) bool {
	return a.Size == b.Size && a.ModTime.Equal(b.ModTime) && a.Fetched.Equal(b.Fetched) &&
		string(a.Digest) == string(b.Digest) && a.Precision == b.Precision
}

// otherState writes what a job keeps beside its records: runs (numbered
// by a bucket's sequence), a partial, a sentinel, a server.
func otherState(t *testing.T, db *DB) {
	t.Helper()
	j := db.Job("j")
	for i := range 3 {
		if _, err := j.AddRun(Run{Start: time.Unix(int64(i), 0), End: time.Unix(int64(i)+1, 0)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.PutPartial("p/q", Partial{Size: 9, Temp: ".q.part"}); err != nil {
		t.Fatal(err)
	}
	if err := j.PutSentinel(Sentinel{}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutServer("ftp://h:21 u", Server{}); err != nil {
		t.Fatal(err)
	}
}

// dumpDB is every bucket's sequence and every key's value, by path.
func dumpDB(t *testing.T, db *DB) map[string]string {
	t.Helper()
	m := map[string]string{}
	var walk func(path string, b *bolt.Bucket)
	walk = func(path string, b *bolt.Bucket) {
		m[path+" seq"] = fmt.Sprint(b.Sequence())
		_ = b.ForEach(func(k, v []byte) error {
			if v == nil {
				walk(path+"/"+string(k), b.Bucket(k))
			} else {
				m[path+"/"+string(k)] = string(v)
			}
			return nil
		})
	}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error { walk(string(name), b); return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// pagesInUse is the size of the database's pages in use: the file grows
// in larger steps.
func pagesInUse(t *testing.T, path string) int64 {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var size int64
	_ = db.View(func(tx *bolt.Tx) error { size = tx.Size(); return nil })
	return size
}

func TestCloseCompact(t *testing.T) {
	for _, tc := range []struct {
		name       string
		n          int
		thin       bool
		minChanges int64
		readOnly   bool // reopened read-only before CloseCompact
		compacted  bool
	}{
		{name: "sparse", n: 30000, thin: true, minChanges: 1000, compacted: true},
		{name: "random order only", n: 30000, minChanges: 1000, compacted: true},
		{name: "few changes", n: 30000, thin: true, minChanges: 100000},
		{name: "under 1 MiB of slack", n: 2000, thin: true, minChanges: 0},
		{name: "read-only", n: 30000, thin: true, readOnly: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			db, err := Open(path, &Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			want := fillSparse(t, db, tc.n, tc.thin)
			otherState(t, db)
			if err := db.Job("j").Apply(nil); err != nil {
				t.Fatal(err)
			}
			dump := dumpDB(t, db)
			if tc.readOnly {
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
				if db, err = Open(path, &Options{ReadOnly: true}); err != nil {
					t.Fatal(err)
				}
			}
			c, err := db.CloseCompact(tc.minChanges)
			if err != nil {
				t.Fatal(err)
			}
			if tc.readOnly || tc.minChanges > db.changes.Load() {
				c.Before = pagesInUse(t, path) // not looked at
			}
			before, after := c.Before, pagesInUse(t, path)
			t.Logf("%d records: %d bytes, then %d (%+v)", len(want), before, after, c)
			if tc.compacted {
				if c.After == 0 || c.After != after || after > before*3/4 {
					t.Errorf("not compacted: %d bytes, then %d (%+v)", before, after, c)
				}
			} else if c.After != 0 || after != before || before == 0 {
				t.Errorf("compacted: %d bytes, then %d (%+v)", before, after, c)
			}
			if _, err := os.Stat(path + ".compact"); !os.IsNotExist(err) {
				t.Errorf("the copy is left: %v", err)
			}
			if err := db.Close(); err != nil {
				t.Errorf("Close after CloseCompact: %v", err)
			}
			checkRecords(t, path, want)
			db, err = Open(path, &Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			if got := dumpDB(t, db); !maps.Equal(got, dump) {
				t.Errorf("%d keys and sequences after, %d before, or values differ", len(got), len(dump))
			}
			db.Close()

			if !tc.compacted {
				return
			}
			// Once compacted, it is dense: a second pass leaves it.
			db, err = Open(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c, err := db.CloseCompact(0); err != nil || c.After != 0 {
				t.Errorf("compacted twice: %+v, %v", c, err)
			}
		})
	}
}

// TestOpenWaitingDuringCompact: a process waiting for the lock while the
// holder compacts gets the old file, which is then renamed over; Open
// must notice and open the new file, or what it writes is lost.
func TestOpenWaitingDuringCompact(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc/self/fd to see the waiter open the file")
	}
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path, &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	want := fillSparse(t, db, 30000, true)

	type opened struct {
		db  *DB
		err error
	}
	waiter := make(chan opened)
	go func() {
		w, err := Open(path, &Options{Timeout: 20 * time.Second})
		waiter <- opened{w, err}
	}()
	for deadline := time.Now().Add(10 * time.Second); openCount(t, path) < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the second Open never opened the file")
		}
	}
	if c, err := db.CloseCompact(0); err != nil || c.After == 0 {
		t.Fatalf("CloseCompact: %+v, %v", c, err)
	}
	w := <-waiter
	if w.err != nil {
		t.Fatal(w.err)
	}
	r := Record{Size: 7, Fetched: time.Unix(1_900_000_000, 0).UTC()}
	if err := w.db.Job("j").Apply([]Change{{Path: "written/after", Record: r}}); err != nil {
		t.Fatal(err)
	}
	if err := w.db.Close(); err != nil {
		t.Fatal(err)
	}
	want["written/after"] = r
	checkRecords(t, path, want)
}

// openCount counts this process's descriptors open on path.
func openCount(t *testing.T, path string) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		if l, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && l == path {
			n++
		}
	}
	return n
}

// TestReleaseBoundsMappedPages: reading every record of a large job
// leaves at most about releaseEvery bytes of its file mapped in memory,
// not the whole file.
func TestReleaseBoundsMappedPages(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("release only drops pages on Linux")
	}
	db := openTest(t)
	fillSparse(t, db, 60000, false)
	n := 0
	if err := db.Job("j").Walk(func(string, Record) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	var size int64
	_ = db.bolt.View(func(tx *bolt.Tx) error { size = tx.Size(); return nil })
	rss := mappedRSS(t, db.Path())
	t.Logf("%d records in %d bytes of pages: %d bytes of them mapped after the walk", n, size, rss)
	if rss > 2*releaseEvery || rss > size/2 {
		t.Errorf("%d bytes mapped after reading %d records in %d bytes of pages", rss, n, size)
	}
}

// mappedRSS is how much of the mapping of path is in this process's
// memory, from /proc/self/smaps.
func mappedRSS(t *testing.T, path string) int64 {
	t.Helper()
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	in := false
	for _, line := range strings.Split(string(smaps), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			in = len(f) == 6 && f[5] == path
		case in && len(f) == 3 && f[0] == "Rss:":
			var kb int64
			fmt.Sscan(f[1], &kb)
			total += kb << 10
		}
	}
	return total
}
