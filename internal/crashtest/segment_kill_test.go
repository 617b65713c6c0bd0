package crashtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/ftpservers"
	"github.com/ftpmirror/ftpmirror/state"
)

// A download in segments killed with SIGKILL (no chance to save on the
// way out) has recorded its progress as it went: the next run fetches
// only what was not recorded, and the file comes out whole.
func TestKillSegments(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 64<<20)
	for i := range big {
		big[i] = byte(i*17 ^ i>>12)
	}
	if err := os.WriteFile(filepath.Join(src, "big.iso"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	s := ftpservers.Start(t, "vsftpd", src, &ftpservers.Options{ProtocolLog: true})
	target, db := filepath.Join(dir, "target"), filepath.Join(dir, "state.db")
	args := []string{"sync", "-parallel", "4", "-segments", "4", "-limit-rate", "16M", "-timeout", "5s",
		"-state", db, url(s.Addr, "/"), target}
	cmd := exec.Command(ftpmirror(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill once 40 MiB are on disk: the segments write into one sparse
	// temporary file, whose allocated blocks count what came.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if allocated(t, target) >= 40<<20 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no 40 MiB on disk after a minute\n%s", stderr.String())
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	sdb, err := state.Open(db, &state.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	jobs, _ := sdb.Jobs()
	if len(jobs) != 1 {
		t.Fatalf("jobs %v", jobs)
	}
	job := jobs[0]
	parts, _ := sdb.Job(job).Partials()
	var have int64
	for _, sg := range parts["big.iso"].Segments {
		have += sg.Done
	}
	sdb.Close()
	if have < 16<<20 {
		t.Fatalf("after 40 MiB the state records %d bytes of segments: %+v", have, parts)
	}

	r := sync_(t, time.Minute, args[1:]...)
	if r.code != 0 {
		t.Fatalf("final run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	got, err := os.ReadFile(filepath.Join(target, "big.iso"))
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("big.iso: %d bytes, %v", len(got), err)
	}
	sdb, err = state.Open(db, &state.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	runs, _ := sdb.Job(job).Runs(1)
	if len(runs) != 1 || runs[0].Bytes != int64(len(big))-have {
		t.Errorf("final run fetched %+v bytes; want %d (all but the %d recorded)", runs, int64(len(big))-have, have)
	}
}

// allocated returns the bytes allocated on disk to the temporary files
// in the staging directory of dir.
func allocated(t *testing.T, dir string) int64 {
	var n int64
	filepath.WalkDir(filepath.Join(dir, ".ftpmirror"), func(p string, d os.DirEntry, err error) error {
		if err != nil || !strings.HasSuffix(d.Name(), ".part") {
			return nil
		}
		var st syscall.Stat_t
		if syscall.Stat(p, &st) == nil {
			n += st.Blocks * 512
		}
		return nil
	})
	return n
}
