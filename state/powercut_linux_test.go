package state

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/powercut"
)

// powerFS mounts internal/powercut on a temporary directory, or skips
// (fails with CI=true) where FUSE cannot be used.
func powerFS(t *testing.T) *powercut.FS {
	t.Helper()
	powercut.Require(t)
	pc, err := powercut.Mount(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Unmount() })
	return pc
}

// Every commit is durable when Apply returns. The database lives on
// internal/powercut; the power is cut at a random point which bbolt does
// not notice (FreezeAfter), the file system is remounted, and the
// database must open and hold exactly the batches whose Apply returned
// before the cut, and maybe the one under way, whole or not at all.
//
// bbolt maps its file: a process must not serve the FUSE file system
// it maps (a page fault waiting for the server blocks the garbage
// collector's stop-the-world, and with it the server). So the database
// is used by a child process, TestDurableCommitsChild, which opens,
// applies and closes as it is told; and checked through a copy off the
// mount.
func TestDurableCommits(t *testing.T) {
	pc := powerFS(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	path := filepath.Join(pc.Dir(), "state.db")
	const batches = 8
	start := time.Now()
	n := 0
	child := startChild(t, path)
	for time.Since(start) < 5*time.Second && n < 100 && !t.Failed() {
		n++
		os.Remove(path)
		child.send("open")
		child.expect("opened")
		// The file's name is durable, as after the fsync of its
		// directory that creating a state directory would do.
		if err := pc.Sync(); err != nil {
			t.Fatal(err)
		}
		cut := 1 + rng.IntN(batches*12)
		pc.FreezeAfter(cut)
		done := 0 // batches committed before the power cut
		for range batches {
			child.send("apply")
			child.expect("applied")
			if !pc.Off() {
				done++
			}
		}
		child.send("close")
		child.expect("closed")
		pc.Cut()
		if err := pc.Restart(); err != nil {
			t.Fatal(err)
		}
		count, err := countCopy(t, path)
		if err != nil {
			t.Fatalf("iteration %d, cut at op %d after %d batches: %v", n, cut, done, err)
		}
		if count != done*20 && count != (done+1)*20 {
			t.Fatalf("iteration %d, cut at op %d: %d batches committed before the cut, %d records after it", n, cut, done, count)
		}
	}
	child.wait()
	t.Logf("%d power cuts in %v", n, time.Since(start).Round(time.Millisecond))
}

// compactRecords is how many records the compaction test's file holds.
const compactRecords = 15000

// TestDurableCompaction: a power cut anywhere in a compaction leaves the
// database whole, every record in it: the copy is synced before it is
// renamed over the file, and the rename synced before the lock goes.
// Each iteration fills a sparse database through the child, makes it
// durable, cuts the power at a random operation of the compaction (the
// first iteration counts them), and checks a copy after the restart.
func TestDurableCompaction(t *testing.T) {
	pc := powerFS(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 4))
	path := filepath.Join(pc.Dir(), "state.db")
	child := startChild(t, path)
	ops := 0 // a compaction's operations, counted in the first iteration
	start := time.Now()
	n := 0
	for ; n < 30 && (n < 4 || time.Since(start) < 6*time.Second) && !t.Failed(); n++ {
		os.Remove(path)
		os.Remove(path + ".compact")
		child.send("open")
		child.expect("opened")
		child.send("fill")
		child.expect("filled")
		if err := pc.Sync(); err != nil {
			t.Fatal(err)
		}
		cut := 0
		if ops > 0 {
			cut = 1 + rng.IntN(ops)
			pc.FreezeAfter(cut)
		}
		before := pc.Ops()
		child.send("compact")
		line := child.expectPrefix("compacted ")
		if ops == 0 {
			ops = pc.Ops() - before
			if !strings.HasSuffix(line, " <nil>") || strings.Contains(line, " 0 <nil>") {
				t.Fatalf("the compaction without a cut: %s", line)
			}
			t.Logf("a compaction: %s, %d operations", line, ops)
		}
		pc.Cut()
		if err := pc.Restart(); err != nil {
			t.Fatal(err)
		}
		if count, err := countCopy(t, path); err != nil || count != compactRecords {
			t.Fatalf("iteration %d, cut at operation %d of %d (%s): %d records, %v; want %d", n, cut, ops, line, count, err, compactRecords)
		}
	}
	child.wait()
	t.Logf("%d power cuts in %v", n, time.Since(start).Round(time.Millisecond))
}

// countCopy counts the records of "job" in a copy of the database at
// path, read with plain reads.
func countCopy(t *testing.T, path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	cp := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(cp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(cp, &Options{NoSync: true})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	return db.Job("job").Count()
}

// child is TestDurableCommitsChild running in another process.
type child struct {
	t   *testing.T
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startChild(t *testing.T, path string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDurableCommitsChild$", "-test.v")
	cmd.Env = append(os.Environ(), "FTPMIRROR_DURABLE_CHILD="+path)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{t: t, cmd: cmd, in: in, out: bufio.NewScanner(out)}
	t.Cleanup(func() { in.Close(); cmd.Process.Kill(); cmd.Wait() })
	return c
}

func (c *child) send(line string) {
	if _, err := io.WriteString(c.in, line+"\n"); err != nil {
		c.t.Fatal(err)
	}
}

// expect reads the child's lines up to one that is want.
func (c *child) expect(want string) {
	c.t.Helper()
	for c.out.Scan() {
		line := c.out.Text()
		if line == want {
			return
		}
		if strings.HasPrefix(line, "error ") {
			c.t.Fatalf("child: %s", line)
		}
	}
	c.t.Fatalf("child ended before %q: %v", want, c.out.Err())
}

// expectPrefix reads the child's lines up to one that starts with
// prefix, and returns it.
func (c *child) expectPrefix(prefix string) string {
	c.t.Helper()
	for c.out.Scan() {
		if line := c.out.Text(); strings.HasPrefix(line, prefix) {
			return line
		}
	}
	c.t.Fatalf("child ended before %q: %v", prefix, c.out.Err())
	return ""
}

func (c *child) wait() {
	c.in.Close()
	if err := c.cmd.Wait(); err != nil {
		c.t.Fatalf("child: %v", err)
	}
}

// TestDurableCommitsChild is the child of TestDurableCommits: it opens
// the database on "open", applies a batch of 20 changes for each
// "apply", and closes it on "close", until its input ends.
func TestDurableCommitsChild(t *testing.T) {
	path := os.Getenv("FTPMIRROR_DURABLE_CHILD")
	if path == "" {
		t.Skip("the child process of TestDurableCommits")
	}
	var db *DB
	in := bufio.NewScanner(os.Stdin)
	for i := 0; in.Scan(); i++ {
		switch in.Text() {
		case "open":
			var err error
			if db, err = Open(path, nil); err != nil {
				fmt.Printf("error %v\n", err)
				return
			}
			i = -1
			fmt.Println("opened")
		case "apply":
			var cs []Change
			for j := range 20 {
				cs = append(cs, Change{Path: fmt.Sprintf("b%d/f%d", i, j), Record: Record{Size: int64(j), ModTime: t0}})
			}
			if err := db.Job("job").Apply(cs); err != nil {
				fmt.Printf("error %v\n", err)
				return
			}
			fmt.Println("applied")
		case "close":
			if err := db.Close(); err != nil {
				fmt.Printf("error %v\n", err)
				return
			}
			fmt.Println("closed")
		case "fill":
			// 15,000 records in a random order: a sparse file.
			var cs []Change
			for _, j := range rand.New(rand.NewPCG(5, 6)).Perm(compactRecords) {
				cs = append(cs, Change{Path: fmt.Sprintf("pub/dir%02d/a-file-name-as-long-as-a-real-one-%06d", j%50, j), Record: Record{Size: int64(j), ModTime: t0}})
				if len(cs) == 500 {
					if err := db.Job("job").Apply(cs); err != nil {
						fmt.Printf("error %v\n", err)
						return
					}
					cs = cs[:0]
				}
			}
			fmt.Println("filled")
		case "compact":
			// Under a power cut the file system fails writes (or
			// drops them silently): the error is expected then.
			c, err := db.CloseCompact(0)
			fmt.Printf("compacted %d %d %v\n", c.Before, c.After, err)
		}
	}
}
