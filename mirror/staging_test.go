package mirror_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/hostileftp"
	"github.com/ftpmirror/ftpmirror/mirror"
	"github.com/ftpmirror/ftpmirror/state"
)

// lookReader calls look once, when it is first read: in the middle of a
// transfer.
type lookReader struct {
	once *sync.Once
	look func()
}

func (l lookReader) Read([]byte) (int, error) {
	l.once.Do(l.look)
	return 0, io.EOF
}

// A reader of the mirror, looking while a large file is half fetched,
// sees the files already complete and nothing else: the download in
// progress is in the staging directory, not beside its file (issue 15).
// After the run the staging directory is gone.
func TestStagingReaderSeesNoTemp(t *testing.T) {
	big := bytes.Repeat([]byte("big file\n"), 300<<10/9)
	remote := map[string][]byte{"a": data("a", 3), "sub/b": data("b", 3), "sub/big": big}
	var once sync.Once
	var looked []string
	var h *hostile
	look := func() {
		filepath.WalkDir(h.target, func(p string, d fs.DirEntry, err error) error {
			rel, _ := filepath.Rel(h.target, p)
			switch {
			case err != nil || p == h.target || rel == "planted" || rel == "plantedfile":
			case rel == ".ftpmirror":
				parts, _ := filepath.Glob(filepath.Join(p, "*.part"))
				looked = append(looked, "staged "+string(rune('0'+len(parts))))
				return filepath.SkipDir
			case d.IsDir():
			case !bytes.Equal(readFile(p), remote[filepath.ToSlash(rel)]):
				looked = append(looked, "INCOMPLETE or FOREIGN "+rel)
			default:
				looked = append(looked, "complete "+rel)
			}
			return nil
		})
	}
	h = newHostile(t, hostileftp.Dir("", ok("a"), hostileftp.Dir("sub", ok("b"), hostileftp.File("big", big, t0))),
		&hostileftp.Options{Content: func(p string, off int64, d []byte) io.Reader {
			if path.Base(p) != "big" || off != 0 {
				return bytes.NewReader(d[min(off, int64(len(d))):])
			}
			half := len(d) / 2
			return io.MultiReader(bytes.NewReader(d[:half]), lookReader{&once, look}, bytes.NewReader(d[half:]))
		}})
	o := h.opts()
	sum, err, _ := h.run(o, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, sum, 3, 0, mirror.ResultOK)
	if got := strings.Join(looked, ", "); !strings.HasPrefix(got, "staged ") || strings.HasPrefix(got, "staged 0") || strings.Contains(got, "INCOMPLETE") {
		t.Errorf("a reader mid-run saw: %s", got)
	}
	h.wantFiles(map[string]string{"a": string(data("a", 3)), "sub/": "", "sub/b": string(data("b", 3)), "sub/big": string(big)})
	if _, err := os.Lstat(filepath.Join(h.target, ".ftpmirror")); !os.IsNotExist(err) {
		t.Errorf("staging directory after a complete run: %v", err)
	}
}

func readFile(p string) []byte {
	b, _ := os.ReadFile(p)
	return b
}

// A remote entry named like the staging directory, at the root, in any
// case, is not mirrored: it cannot write into the staging directory
// (here: over a file the user keeps there), and a record of one from an
// older version never makes -delete remove the staging directory.
func TestStagingReservedName(t *testing.T) {
	root := hostileftp.Dir("", ok("a"),
		hostileftp.Dir(".ftpmirror", hostileftp.File("keep", []byte("evil"), t0)),
		hostileftp.File(".FTPMIRROR", []byte("evil too"), t0),
		hostileftp.Dir("sub", hostileftp.File(".ftpmirror", []byte("fine below the root"), t0)))
	h := newHostile(t, root, nil)
	keep := filepath.Join(h.target, ".ftpmirror", "keep")
	if err := os.MkdirAll(filepath.Dir(keep), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keep, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	o := h.opts()
	o.Logger = slog.New(slog.NewTextHandler(&log, nil))
	sum, err, _ := h.run(o, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, sum, 2, 0, mirror.ResultOK)
	if sum.Skipped != 2 || !strings.Contains(log.String(), `msg="not mirrored: the name of ftpmirror's staging directory" job=hostile server=`+h.srv.Addr()+` path=/.FTPMIRROR`) {
		t.Errorf("skipped %d, want 2; log:\n%s", sum.Skipped, log.String())
	}
	if got := string(readFile(keep)); got != "mine" {
		t.Errorf("the staging directory's file holds %q", got)
	}
	if _, ok, _ := h.db.Job("hostile").Get(".ftpmirror/keep"); ok {
		t.Error("the state records a file in the staging directory")
	}

	// An older version mirrored the remote .ftpmirror; it is gone
	// remotely now. -delete leaves the staging directory alone.
	if err := h.db.Job("hostile").Apply([]state.Change{
		{Path: ".ftpmirror", Record: state.Record{Kind: state.KindDir}},
		{Path: ".ftpmirror/keep", Record: state.Record{Size: 4, ModTime: t0}},
	}); err != nil {
		t.Fatal(err)
	}
	h.srv.SetTree(hostileftp.Dir("", ok("a")))
	o = h.opts()
	o.Delete, o.MaxDelete = true, mirror.DeleteLimit{None: true}
	sum, err, _ = h.run(o, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(readFile(keep)); got != "mine" || sum.Deleted != 1 { // sub/.ftpmirror
		t.Errorf("after -delete: staging file %q, deleted %d (want 1: sub/.ftpmirror)", got, sum.Deleted)
	}
}

// oldTempName is where ftpmirror before issue 15 put the temporary file
// of name: beside it.
func oldTempName(name string) string {
	sum := sha256.Sum256([]byte(name))
	return ".ftpmirror-" + hex.EncodeToString(sum[:8]) + ".part"
}

// An interrupted download that an older version left beside its file,
// with its partial record, is moved into the staging directory and
// resumed; an old temporary file without a record is removed. Nothing
// of either is left in the tree.
func TestOldTempAdopted(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), (2<<20)/16)
	h := newHostile(t, hostileftp.Dir("", ok("a"), hostileftp.Dir("sub", hostileftp.File("big", big, t0))), nil)
	h.noPlan = true // the dry run would not see the old file moved
	if err := os.Mkdir(filepath.Join(h.target, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(h.target, "sub", oldTempName("big"))
	if err := os.WriteFile(old, big[:1<<20], 0o644); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(h.target, oldTempName("gone"))
	if err := os.WriteFile(stale, []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := h.db.Job("hostile").PutPartial("sub/big", state.Partial{Size: int64(len(big)), ModTime: t0, Precision: 3,
		Temp: "sub/" + oldTempName("big"), Started: t0}); err != nil {
		t.Fatal(err)
	}
	sum, err, _ := h.run(nil, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, sum, 2, 0, mirror.ResultOK)
	if sum.Resumed != 1 || sum.Bytes > int64(len(big))-(1<<20)+(64<<10)+int64(len(data("a", 3))) {
		t.Errorf("resumed %d, %d bytes fetched; want the old temporary file resumed", sum.Resumed, sum.Bytes)
	}
	h.wantFiles(map[string]string{"a": string(data("a", 3)), "sub/": "", "sub/big": string(big)})
	if parts, _ := h.db.Job("hostile").Partials(); len(parts) != 0 {
		t.Errorf("partial records left: %v", parts)
	}
}

// The staging directory keeps what a partial record names and what is
// not ftpmirror's; a temporary file nothing will resume goes, and so does
// the directory once empty.
func TestStagingCleanedAtEnd(t *testing.T) {
	h := newHostile(t, hostileftp.Dir("", ok("a")), nil)
	stage := filepath.Join(h.target, ".ftpmirror")
	if err := os.Mkdir(stage, 0o755); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(stage, strings.Repeat("ab", 16)+".part")
	notes := filepath.Join(stage, "notes")
	for _, p := range []string{stale, notes} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err, _ := h.run(nil, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temporary file: %v", err)
	}
	if _, err := os.Stat(notes); err != nil {
		t.Errorf("a file that is not ftpmirror's: %v", err)
	}
	os.Remove(notes)
	if _, err, _ := h.run(nil, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(stage); !os.IsNotExist(err) {
		t.Errorf("empty staging directory after the run: %v", err)
	}
}

// Something that is not a directory where the staging directory goes is
// not ftpmirror's to remove: the run fails before it fetches anything,
// and says why.
func TestStagingInTheWay(t *testing.T) {
	for _, kind := range []string{"file", "link"} {
		t.Run(kind, func(t *testing.T) {
			h := newHostile(t, hostileftp.Dir("", ok("a")), nil)
			h.noPlan = true
			p := filepath.Join(h.target, ".ftpmirror")
			if kind == "file" {
				if err := os.WriteFile(p, []byte("mine"), 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				// A link to a directory inside the target, which
				// os.Root would follow: the downloads in progress would
				// be in the tree.
				if err := os.Mkdir(filepath.Join(h.target, "inside"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink("inside", p); err != nil {
					t.Fatal(err)
				}
			}
			sum, err, _ := h.run(nil, 10*time.Second)
			if err == nil || !strings.Contains(err.Error(), "staging directory") || sum.Fetched != 0 {
				t.Fatalf("run: %v, %+v", err, sum)
			}
			if fi, err := os.Lstat(p); err != nil || fi.IsDir() {
				t.Errorf("what was in the way: %v %v", fi, err)
			}
		})
	}
}
