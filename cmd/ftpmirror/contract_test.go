package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/embedftp"
	"github.com/ftpmirror/ftpmirror/internal/ftpservers"
	"github.com/ftpmirror/ftpmirror/internal/treetest"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// The operator's contract, driven through the command line as an
// operator would: exit statuses, dry runs and deletions that tell the
// truth, flags and job keys that are one setting, quiet cron runs.

// tree describes everything under dir: each path with its type, mode,
// size, time and a digest of its bytes.
func tree(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return nil
		}
		line := fmt.Sprintf("%s %v", p, fi.Mode())
		if fi.Mode().IsRegular() {
			data, _ := os.ReadFile(p)
			sum := sha256.Sum256(data)
			line += fmt.Sprintf(" %d %d %s", fi.Size(), fi.ModTime().UnixNano(), hex.EncodeToString(sum[:6]))
		}
		lines = append(lines, line)
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestDryRunWithJobsWritesNothing: `sync -dry-run -jobs FILE JOB` of a
// job with delete = true plans the fetch of a changed file and the
// deletion of a file gone remotely, and changes nothing at all: not the
// target, not the state, no lock, no status file. Before, -dry-run was
// ignored with -jobs and the run deleted for real.
func TestDryRunWithJobsWritesNothing(t *testing.T) {
	f := newFixture(t)
	writeFile(t, filepath.Join(f.src, "keep.txt"), "keep")
	writeFile(t, filepath.Join(f.src, "change.txt"), "v1")
	writeFile(t, filepath.Join(f.src, "gone.txt"), "gone")
	jobs := f.jobsFile(t, `
[[job]]
name = "pub"
source = "URL/"
target = "mirror"
delete = true
max_delete = "100%"
`)
	if code, out, errOut := runCmd(t, "sync", "-jobs", jobs, "pub"); code != 0 {
		t.Fatalf("first run: exit %d %s %s", code, out, errOut)
	}
	os.Remove(filepath.Join(f.src, "gone.txt"))
	writeFile(t, filepath.Join(f.src, "change.txt"), "v2, longer")

	before := tree(t, f.dir)
	code, out, errOut := runCmd(t, "sync", "-dry-run", "-jobs", jobs, "pub")
	if code != 0 {
		t.Fatalf("dry run: exit %d %s %s", code, out, errOut)
	}
	if !strings.Contains(out, "delete gone.txt") || !strings.Contains(out, "fetch  change.txt") || !strings.Contains(out, "dry-run") {
		t.Errorf("dry run's plan:\n%s", out)
	}
	if after := tree(t, f.dir); after != before {
		t.Fatalf("the dry run changed files:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// The same with -max-delete 0: the real run stops at the guard.
	code, _, errOut = runCmd(t, "sync", "-jobs", jobs, "-max-delete", "0", "pub")
	if code != exitGuard || !strings.Contains(errOut, "nothing deleted") {
		t.Fatalf("-max-delete 0 with -jobs: exit %d, %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(f.target("mirror"), "gone.txt")); err != nil {
		t.Errorf("-max-delete 0 deleted: %v", err)
	}
	// -include with -jobs filters this run: nothing matches, nothing
	// is fetched or deleted.
	code, out, _ = runCmd(t, "sync", "-jobs", jobs, "-json", "-include", "*.nothing", "pub")
	var sum mirror.Summary
	if code != 0 || json.Unmarshal([]byte(out), &sum) != nil || sum.Fetched != 0 || sum.Deleted != 0 {
		t.Errorf("-include with -jobs: exit %d, %s", code, out)
	}
}

// TestDryRunFirstRunWritesNothing: a dry run before the first real run
// of an ad-hoc sync and of a job creates no target, no state database,
// no lock and no status file, and exits 0.
func TestDryRunFirstRunWritesNothing(t *testing.T) {
	f := newFixture(t)
	treetest.Make(t, f.src, 10, 100, 4)
	jobs := f.jobsFile(t, `
[[job]]
name = "pub"
source = "URL/"
target = "mirror"
`)
	before := tree(t, f.dir)
	for _, args := range [][]string{
		{"sync", "-dry-run", "-jobs", jobs},
		{"sync", "-dry-run", "-delete", f.url + "/", filepath.Join(f.dir, "adhoc")},
		{"sync", f.url + "/", filepath.Join(f.dir, "adhoc"), "-dry-run"},
	} {
		code, out, errOut := runCmd(t, args...)
		if code != 0 || !strings.Contains(out, "fetch ") {
			t.Errorf("%q: exit %d %s %s", args, code, out, errOut)
		}
		if after := tree(t, f.dir); after != before {
			t.Fatalf("%q wrote:\nbefore:\n%s\nafter:\n%s", args, before, after)
		}
	}
}

// TestNothingCouldBeDone: a run that cannot connect exits 5 (not 1,
// which says that some files failed), names the server and the next
// step, and leaves no target directory behind.
func TestNothingCouldBeDone(t *testing.T) {
	f := newFixture(t)
	target := filepath.Join(f.dir, "never")
	// In place and as a snapshot: no target, no snapshots/next.
	for _, publish := range []string{"inplace", "snapshot"} {
		code, _, errOut := runCmd(t, "sync", "-publish", publish, "-timeout", "2s", "ftp://127.0.0.1:1/pub", target)
		if code != exitNotStarted || !strings.Contains(errOut, "127.0.0.1:1") || !strings.Contains(errOut, "next: ") {
			t.Errorf("-publish %s: exit %d, %s", publish, code, errOut)
		}
		if _, err := os.Stat(target); !os.IsNotExist(err) {
			t.Errorf("-publish %s: target made: %v", publish, err)
		}
		// A typo in the remote path: exit 5, the path and the reply named,
		// no target made, also with -delete and no limit.
		code, _, errOut = runCmd(t, "sync", "-publish", publish, "-delete", "-max-delete", "none", f.url+"/pubb", target)
		if code != exitNotStarted || !strings.Contains(errOut, `remote root "/pubb"`) && !strings.Contains(errOut, `remote root "pubb"`) || !strings.Contains(errOut, "550") {
			t.Errorf("-publish %s: typo'd root: exit %d, %s", publish, code, errOut)
		}
		if _, err := os.Stat(target); !os.IsNotExist(err) {
			t.Errorf("-publish %s: target made for a missing root: %v", publish, err)
		}
	}
	jobs := f.jobsFile(t, `
[[job]]
name = "dead"
source = "ftp://127.0.0.1:1/"
target = "dead"
`)
	code, out, _ := runCmd(t, "sync", "-jobs", jobs)
	if code != exitNotStarted || !strings.Contains(out, "dead: failed:") {
		t.Errorf("-jobs: exit %d, %q", code, out)
	}
}

// TestNoPasswordFound: a user without a password anywhere gets told so,
// and where ftpmirror looked, besides the server's 530.
func TestNoPasswordFound(t *testing.T) {
	f := newFixture(t)
	srv, err := embedftp.Start(f.src, &embedftp.Options{User: "bob", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	code, _, errOut := runCmd(t, "sync", "ftp://bob@"+srv.Addr()+"/", filepath.Join(f.dir, "m"))
	if code != exitNotStarted || !strings.Contains(errOut, "PASS: server said 5") || !strings.Contains(errOut, "no password was found for bob@127.0.0.1") ||
		!strings.Contains(errOut, "$FTPMIRROR_PASSWORD") {
		t.Errorf("exit %d, %s", code, errOut)
	}
	// A password in the URL works, with a warning.
	code, _, errOut = runCmd(t, "sync", "ftp://bob:s3cret@"+srv.Addr()+"/", filepath.Join(f.dir, "m"))
	if code != 0 || !strings.Contains(errOut, "warning: the URL holds a password") {
		t.Errorf("password in URL: exit %d, %s", code, errOut)
	}
}

// TestQuietCron: with -q a successful run prints nothing at all (cron
// mails nothing); a failing one prints the job, the reason and the next
// step.
func TestQuietCron(t *testing.T) {
	f := newFixture(t)
	treetest.Make(t, f.src, 5, 100, 5)
	jobs := f.jobsFile(t, `
[[job]]
name = "pub"
source = "URL/"
target = "mirror"

[[job]]
name = "dead"
source = "ftp://127.0.0.1:1/"
target = "dead"
quiet = true
`)
	for _, args := range [][]string{{"sync", "-q", "-jobs", jobs, "pub"}, {"sync", "-jobs", jobs, "pub", "-quiet"}} {
		if code, out, errOut := runCmd(t, args...); code != 0 || out != "" || errOut != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	code, out, errOut := runCmd(t, "sync", "-jobs", jobs, "dead")
	if code != exitNotStarted || !strings.Contains(out, "dead: failed") || !strings.Contains(errOut, "connection refused") || !strings.Contains(out+errOut, "next: ") {
		t.Errorf("quiet failure: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// Without -q a success says so.
	if code, out, _ := runCmd(t, "sync", "-jobs", jobs, "pub"); code != 0 || !strings.Contains(out, "pub: ok") {
		t.Errorf("not quiet: exit %d, %q", code, out)
	}
}

// TestOutputDetails: JSON is not HTML-escaped; JSON logs give durations
// with a unit.
func TestOutputDetails(t *testing.T) {
	_, url := serveTree(t, 3)
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "sync", "-json", "-log-format", "json", "-state", filepath.Join(dir, "s.db"), url, filepath.Join(dir, "m"))
	if code != 0 || strings.Contains(out, `\u003e`) || !strings.Contains(out, `->`) {
		t.Errorf("exit %d, JSON %s", code, out)
	}
	if !strings.Contains(errOut, `"dur":"`) || strings.Contains(errOut, `"dur":0`) {
		t.Errorf("JSON log: %s", errOut)
	}
}

// TestTwoJobsOneTarget: check refuses two jobs that mirror into one
// directory.
func TestTwoJobsOneTarget(t *testing.T) {
	f := newFixture(t)
	jobs := f.jobsFile(t, `
[[job]]
name = "a"
source = "URL/a"
target = "mirror"

[[job]]
name = "b"
source = "URL/b"
target = "./mirror/"
`)
	code, _, errOut := runCmd(t, "check", "-jobs", jobs)
	if code != exitUsage || !strings.Contains(errOut, `job "b": target:`) || !strings.Contains(errOut, `also the target of job "a"`) {
		t.Errorf("exit %d, %s", code, errOut)
	}
}

// waitForFile waits until path exists.
func waitForFile(t *testing.T, path string, d time.Duration) {
	t.Helper()
	waitFor(t, d, path, func() bool {
		_, err := os.Stat(path)
		return err == nil
	})
}

// TestTLSHints: against vsftpd with mandatory FTPS, a run without TLS is
// told to use -tls explicit; one with TLS but without the server's CA is
// told about -tls-ca-file and -tls-insecure, once ("tls: tls:" no more);
// with the CA file it mirrors.
func TestTLSHints(t *testing.T) {
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "a.txt"), []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := ftpservers.Start(t, "vsftpd", src, &ftpservers.Options{TLS: true})
	ca := writeFile(t, filepath.Join(t.TempDir(), "ca.pem"), string(srv.CACert))
	dir := t.TempDir()
	url := "ftp://" + srv.Addr + "/"

	code, _, errOut := runCLI(t, "sync", "-state", filepath.Join(dir, "s.db"), url, filepath.Join(dir, "m"))
	if code != exitNotStarted || !strings.Contains(errOut, "encryption") || !strings.Contains(errOut, "next: the server wants TLS: add -tls explicit") {
		t.Errorf("without TLS: exit %d, %s", code, errOut)
	}
	code, _, errOut = runCLI(t, "sync", "-tls", "explicit", "-state", filepath.Join(dir, "s.db"), url, filepath.Join(dir, "m"))
	if code != exitNotStarted || !strings.Contains(errOut, "-tls-ca-file") || !strings.Contains(errOut, "-tls-insecure") || strings.Contains(errOut, "tls: tls:") {
		t.Errorf("unknown CA: exit %d, %s", code, errOut)
	}
	code, _, errOut = runCLI(t, "sync", "-tls", "explicit", "-tls-ca-file", ca, "-state", filepath.Join(dir, "s.db"), url, filepath.Join(dir, "m"))
	if code != 0 {
		t.Errorf("with the CA: exit %d, %s", code, errOut)
	}
	treetest.Equal(t, src, filepath.Join(dir, "m"), true)
}

// TestDefaultMaxDelete: without -max-delete, sync -delete may delete
// half of what the mirror knows and no more (the default 50% is set
// once, in the command's defaults); -max-delete 0 allows none and
// -max-delete none any number.
func TestDefaultMaxDelete(t *testing.T) {
	for _, tc := range []struct {
		gone int
		args []string
		code int
	}{
		{5, nil, 0},
		{6, nil, exitGuard},
		{1, []string{"-max-delete", "0"}, exitGuard},
		{1, []string{"-max-delete", "0%"}, exitGuard},
		{10, []string{"-max-delete", "none"}, 0},
	} {
		t.Run(fmt.Sprintf("%d gone %q", tc.gone, tc.args), func(t *testing.T) {
			f := newFixture(t)
			for i := range 10 {
				writeFile(t, filepath.Join(f.src, fmt.Sprintf("f%d", i)), "x")
			}
			state, target := filepath.Join(f.dir, "s.db"), f.target("m")
			if code, _, errOut := runCmd(t, "sync", "-state", state, f.url+"/", target); code != 0 {
				t.Fatal(errOut)
			}
			for i := range tc.gone {
				os.Remove(filepath.Join(f.src, fmt.Sprintf("f%d", i)))
			}
			args := append([]string{"sync", "-delete", "-state", state}, tc.args...)
			code, _, errOut := runCmd(t, append(args, f.url+"/", target)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, errOut)
			}
			left := 10
			if code == 0 {
				left -= tc.gone
			}
			if got := len(treetest.Files(t, target)); got != left {
				t.Errorf("%d files left, want %d", got, left)
			}
		})
	}
}
