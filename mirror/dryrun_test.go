package mirror_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/ftpmirror/ftpmirror/internal/hostileftp"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// The dry-run invariant: every sync that the integration, embedded and
// hostile-server tests run goes through runPlanned, which first runs it
// as a dry run and checks that nothing changed (the target's bytes,
// times, modes and directories, the state file, and everything beside
// them), then runs it for real and checks that the real run did exactly
// what the dry run planned.

// defaultMaxDelete is the command line's default -max-delete.
var defaultMaxDelete = mirror.DeleteLimit{N: 50, Percent: true}

// plan is the set of actions a run reported, "verb path" each.
type plan []string

// recorder collects a run's actions.
type recorder struct {
	mu      sync.Mutex
	actions plan
	next    func(mirror.Action)
}

func (r *recorder) report(a mirror.Action) {
	switch a.Verb {
	case mirror.VerbFetch, mirror.VerbResume, mirror.VerbAdopt, mirror.VerbDelete, mirror.VerbMkdir, mirror.VerbLink:
		r.mu.Lock()
		r.actions = append(r.actions, string(a.Verb)+" "+a.Path)
		r.mu.Unlock()
	}
	if r.next != nil {
		r.next(a)
	}
}

func (r *recorder) sorted() plan {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := slices.Clone(r.actions)
	sort.Strings(p)
	return p
}

// snapshot describes every path under dir: type, mode, size, time and
// a digest of the bytes of each file, the target of each link.
func snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			out[p] = "error: " + err.Error()
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			out[p] = "error: " + err.Error()
			return nil
		}
		desc := fmt.Sprintf("%v %d %d", fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			desc += " -> " + l
		case fi.Mode().IsRegular():
			data, _ := os.ReadFile(p)
			sum := sha256.Sum256(data)
			desc += " " + hex.EncodeToString(sum[:8])
		case fi.IsDir():
			desc = fmt.Sprintf("%v", fi.Mode()) // a dir's size and time follow what is in it
		}
		out[p] = desc
		return nil
	})
	return out
}

func diffSnapshots(before, after map[string]string) string {
	var b strings.Builder
	for p, d := range before {
		if a, ok := after[p]; !ok {
			fmt.Fprintf(&b, "  removed %s (%s)\n", p, d)
		} else if a != d {
			fmt.Fprintf(&b, "  changed %s: %s -> %s\n", p, d, a)
		}
	}
	for p, a := range after {
		if _, ok := before[p]; !ok {
			fmt.Fprintf(&b, "  added %s (%s)\n", p, a)
		}
	}
	return b.String()
}

// planned is the outcome of the dry run that goes before a real run.
type planned struct {
	t    testing.TB
	sum  *mirror.Summary
	err  error
	plan recorder
}

// dryRunFirst runs o as a dry run and checks that it wrote nothing
// under watch (the directory that holds the target and the state).
func dryRunFirst(t testing.TB, ctx context.Context, o *mirror.Options, watch string) *planned {
	t.Helper()
	p := &planned{t: t}
	dry := *o
	dry.DryRun = true
	dry.Progress = nil
	dry.Report = p.plan.report
	before := snapshot(t, watch)
	p.sum, p.err = mirror.Run(ctx, &dry)
	if d := diffSnapshots(before, snapshot(t, watch)); d != "" {
		t.Fatalf("the dry run changed what it must not:\n%s", d)
	}
	if p.sum != nil && p.err == nil && p.sum.Result != mirror.ResultDryRun {
		t.Errorf("dry run's result is %q, want dry-run", p.sum.Result)
	}
	return p
}

// runReal runs o for real and checks that it did what the dry run
// planned.
func (p *planned) runReal(ctx context.Context, o *mirror.Options) (*mirror.Summary, error) {
	p.t.Helper()
	real := *o
	done := recorder{next: o.Report}
	real.Report = done.report
	sum, err := mirror.Run(ctx, &real)
	if p.err != nil && err == nil {
		// The other way round is no contradiction: only the real run
		// transfers data, and a server may fail that.
		p.t.Errorf("the dry run ended with %v, the real run without an error", p.err)
	}
	if p.err == nil && err == nil {
		if want, got := p.plan.sorted(), done.sorted(); !slices.Equal(want, got) {
			p.t.Errorf("the real run did not do what the dry run planned:\n  planned %q\n  did     %q", want, got)
		}
		if sum.Fetched > p.sum.Fetched {
			p.t.Errorf("dry run planned %d fetches, the real run fetched %d", p.sum.Fetched, sum.Fetched)
		}
	}
	return sum, err
}

// runPlanned is dryRunFirst, then runReal.
func runPlanned(t testing.TB, ctx context.Context, o *mirror.Options, watch string) (*mirror.Summary, error) {
	t.Helper()
	return dryRunFirst(t, ctx, o, watch).runReal(ctx, o)
}

// TestDryRunWritesNothing: an existing tree and no state, a server whose
// LIST gives only minutes (vsftpd does the same), a local file whose
// time differs, a new remote directory and a local file gone remotely.
// The dry run plans the fetch, the new directory's files and nothing
// else, writes nothing (no state file either), and exits clean; the
// real run then does exactly that.
func TestDryRunWritesNothing(t *testing.T) {
	root := hostileftp.Dir("",
		ok("same.txt"),
		ok("changed.txt"),
		hostileftp.Dir("newdir", ok("n1.txt"), ok("n2.txt")),
	)
	h := newHostile(t, root, &hostileftp.Options{Style: hostileftp.StyleUnix})
	for name, body := range map[string]string{"same.txt": string(data("same.txt", 3)), "changed.txt": "old!"} {
		p := filepath.Join(h.target, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, t0, t0); err != nil {
			t.Fatal(err)
		}
	}
	os.Remove(filepath.Join(h.dir, "state.db"))
	h.db.Close()

	o := h.opts()
	o.State = nil // as `sync -dry-run` with no state file yet: planned against an empty state
	o.DryRun = true
	var planned recorder
	o.Report = planned.report
	before := snapshot(t, h.dir)
	sum, err := mirror.Run(t.Context(), o)
	if err != nil || sum.Result != mirror.ResultDryRun || sum.Failed != 0 {
		t.Fatalf("dry run: %v %+v", err, sum)
	}
	if d := diffSnapshots(before, snapshot(t, h.dir)); d != "" {
		t.Fatalf("the dry run wrote:\n%s", d)
	}
	want := plan{"adopt same.txt", "fetch changed.txt", "fetch newdir/n1.txt", "fetch newdir/n2.txt", "mkdir newdir"}
	if got := planned.sorted(); !slices.Equal(got, want) {
		t.Errorf("plan %q, want %q", got, want)
	}
}
