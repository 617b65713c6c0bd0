package mirror

import (
	"fmt"

	"github.com/ftpmirror/ftpmirror/ftpcore"
)

// Failure accounting: a path that failed for good is counted in
// Summary.Failed, logged, reported as VerbFail, and quoted in
// Summary.Errors (the first maxErrors of them).

// maxErrors bounds the failures a Summary quotes.
const maxErrors = 20

// failRecord records the failure of t.
func (r *runner) failRecord(t *task, err error) {
	if t.seg != nil {
		r.segmentFailed(t, err)
		return
	}
	if t.kind == taskList {
		r.mu.Lock()
		r.listFail = true
		if t.rel == "" {
			r.rootErr = err
		}
		r.mu.Unlock()
	}
	r.fail(t.rel, t.kind.what(), err)
}

func (k taskKind) what() string {
	if k == taskList {
		return "list"
	}
	return "fetch"
}

// fail records one failed path.
func (r *runner) fail(rel, what string, err error) {
	r.failed.Add(1)
	r.log.Error(what+" failed", "path", "/"+rel, "err", err)
	r.report(Action{Verb: VerbFail, Path: rel, Reason: err.Error()})
	r.mu.Lock()
	if len(r.errs) < maxErrors {
		r.errs = append(r.errs, fmt.Sprintf("%s %s: %s", what, QuotePath(r.remote(rel)), escapeText(err.Error())))
	}
	r.mu.Unlock()
	if what == "fetch" {
		r.prog.FilesDone.Add(1)
	}
}

func (r *runner) firstError() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) == 0 {
		return "failed"
	}
	return r.errs[0]
}

// failLines records the lines of dir's listing that gave no entry, each
// as one failure, quoting the line.
func (r *runner) failLines(dir string, bad *ftpcore.ListError) {
	for _, l := range bad.Lines {
		r.fail(dir, "list", fmt.Errorf("%s %s: %w", bad.Cmd, bad.Dir, l))
	}
	if more := bad.Count - len(bad.Lines); more > 0 {
		r.failed.Add(int64(more - 1))
		r.fail(dir, "list", fmt.Errorf("%s %s: %d more lines without an entry", bad.Cmd, bad.Dir, more))
	}
}
