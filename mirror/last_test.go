package mirror_test

import (
	"bytes"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ftpmirror/ftpmirror/mirror"
)

func TestExpandLast(t *testing.T) {
	for _, tc := range []struct {
		in      []string
		want    int // patterns after expansion
		wantErr string
	}{
		{in: nil, want: 0},
		{in: []string{"*.idx"}, want: 1},
		{in: []string{"@archive"}, want: len(mirror.LastPresets["@archive"])},
		{in: []string{"@archive", "ls-lR*"}, want: len(mirror.LastPresets["@archive"]) + 1},
		{in: []string{"@debian"}, wantErr: "no preset @debian"},
		{in: []string{"a/[b"}, wantErr: "glob \"a/[b\""},
		{in: []string{""}, wantErr: "empty"},
	} {
		got, err := mirror.ExpandLast(tc.in)
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ExpandLast(%q) = %v, want an error with %q", tc.in, err, tc.wantErr)
			}
		case err != nil || len(got) != tc.want:
			t.Errorf("ExpandLast(%q) = %q, %v; want %d patterns", tc.in, got, err, tc.want)
		}
	}
}

// archiveTree is a small Debian and RPM archive: pool files, and the
// indexes that name them. The indexes are the largest files, so that
// the queue (largest first) would fetch them first if it were not for
// Options.Last.
var archiveTree = map[string]int{
	"pool/main/a/a_1.deb":                     3000,
	"pool/main/b/b_1.deb":                     2000,
	"pool/main/c/c_1.deb":                     1000,
	"el9/x86_64/Packages/foo-1.rpm":           3000,
	"iso/disc1.iso":                           4000,
	"dists/stable/Release":                    20000,
	"dists/stable/InRelease":                  20000,
	"dists/stable/main/binary-amd64/Packages": 90000,
	"el9/x86_64/repodata/repomd.xml":          30000,
	"el9/x86_64/repodata/1f-primary.xml.gz":   80000,
	"iso/disc1.iso.sha256":                    10000,
	"iso/SHA256SUMS":                          10000,
}

func isArchiveIndex(rel string) bool {
	b := path.Base(rel)
	return strings.HasPrefix(b, "Release") || b == "InRelease" || b == "Packages" ||
		strings.Contains(rel, "/repodata/") || strings.HasSuffix(b, ".sha256") || b == "SHA256SUMS"
}

// writeTree writes files of the given sizes under root, each filled
// with fill.
func writeTree(t *testing.T, root string, files map[string]int, fill byte) {
	t.Helper()
	for rel, size := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, bytes.Repeat([]byte{fill}, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// retrOrder returns the paths the server was asked to RETR after the
// first skip commands of its log.
func retrOrder(cmds []string, skip int) []string {
	var out []string
	for _, c := range cmds[skip:] {
		if p, ok := strings.CutPrefix(c, "RETR "); ok {
			out = append(out, strings.TrimPrefix(p, "/"))
		}
	}
	return out
}

// checkLastAfterOthers fails unless every RETR of an index comes after
// every RETR of another file, and there were some of each.
func checkLastAfterOthers(t *testing.T, retrs []string) {
	t.Helper()
	lastOther, firstIndex, indexes := -1, -1, 0
	for i, p := range retrs {
		if isArchiveIndex(p) {
			indexes++
			if firstIndex < 0 {
				firstIndex = i
			}
		} else {
			lastOther = i
		}
	}
	if indexes == 0 || lastOther < 0 || firstIndex < lastOther {
		t.Fatalf("indexes not fetched after all other files: RETR order %q", retrs)
	}
}

// TestRealServerLastStage: with Options.Last = @archive, vsftpd's log
// shows every index fetched after every other file; when the archive
// changes, the deletions come after the new indexes are in place; when
// a new pool file cannot be fetched, no index is fetched and nothing is
// deleted, and the run is partial.
func TestRealServerLastStage(t *testing.T) {
	e, srv := newReal(t, "vsftpd", false)
	writeTree(t, e.src, archiveTree, 'a')
	o := e.opts()
	o.Last = []string{"@archive"}
	o.Delete = true
	sum := e.run(o)
	if sum.Fetched != int64(len(archiveTree)) {
		t.Fatalf("first run fetched %d of %d", sum.Fetched, len(archiveTree))
	}
	_, _ = count(srv, "RETR")
	cmds := srv.Commands()
	checkLastAfterOthers(t, retrOrder(cmds, 0))

	// A new version: a pool file added, one gone, every index new.
	os.Remove(filepath.Join(e.src, "pool/main/c/c_1.deb"))
	changed := map[string]int{"pool/main/d/d_1.deb": 500}
	for rel, size := range archiveTree {
		if isArchiveIndex(rel) {
			changed[rel] = size + 1
		}
	}
	writeTree(t, e.src, changed, 'b')
	var once sync.Once
	o.Report = func(a mirror.Action) {
		if a.Verb != mirror.VerbDelete {
			return
		}
		once.Do(func() { // deletions come after the new indexes
			for rel := range changed {
				got, err := os.ReadFile(filepath.Join(e.target, rel))
				if err != nil || len(got) != changed[rel] {
					t.Errorf("at the first deletion, %s is not the new version yet (%d bytes, %v)", rel, len(got), err)
				}
			}
		})
	}
	before := len(cmds)
	sum = e.run(o)
	if sum.Fetched != int64(len(changed)) || sum.Deleted != 1 {
		t.Fatalf("second run fetched %d deleted %d, want %d and 1", sum.Fetched, sum.Deleted, len(changed))
	}
	_, _ = count(srv, "RETR")
	cmds = srv.Commands()
	checkLastAfterOthers(t, retrOrder(cmds, before))

	// A pool file that cannot be read (vsftpd answers 550): nothing of
	// the last stage, no deletion.
	writeTree(t, e.src, map[string]int{"pool/main/e/e_1.deb": 10, "dists/stable/Release": 7}, 'c')
	if err := os.Chmod(filepath.Join(e.src, "pool/main/e/e_1.deb"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(e.src, "pool/main/d/d_1.deb"))
	o.Report = nil
	before = len(cmds)
	sum, err := mirror.Run(t.Context(), o)
	if err != nil || sum.Result != mirror.ResultPartial || sum.Failed != 1 || sum.Deleted != 0 || sum.Skipped != 1 {
		t.Fatalf("run with a failing file: %v, %+v; want partial, 1 failed, 1 skipped, 0 deleted", err, sum)
	}
	for _, p := range retrOrder(srv.Commands(), before) {
		if isArchiveIndex(p) {
			t.Errorf("index %s fetched although a pool file failed", p)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(e.target, "dists/stable/Release")); len(got) != changed["dists/stable/Release"] {
		t.Errorf("Release has %d bytes, want the old %d", len(got), changed["dists/stable/Release"])
	}
	if _, err := os.Stat(filepath.Join(e.target, "pool/main/d/d_1.deb")); err != nil {
		t.Errorf("d_1.deb, named by the old index, was deleted: %v", err)
	}
}
