package mirror

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
)

// The retry policy: a task that failed transiently (ftpcore.IsTransient,
// less what this package marks permanent) runs again, up to
// Options.Retries times, after a backoff that doubles from 250ms to at
// most 10s, jittered so that the workers that a server's hiccup failed
// together do not come back together. A server that made no progress
// for stallLimit gets no more retries: the run ends.

// errStalled ends a run whose server made no progress for stallLimit.
var errStalled = errors.New("the server made no progress")

// progressBytes is how much a fetch must bring to count as progress.
const progressBytes = 64 << 10

func (r *runner) markProgress() { r.progress.Store(time.Now().UnixNano()) }

// stallLimit is how long a run goes on retrying without progress: two
// timeouts, so that one slow attempt and its retry fit, and with
// -timeout 10s a server that answers nothing, or trickles, ends the run
// in about 20s whatever the number of files and retries.
func (r *runner) stallLimit() time.Duration {
	t := r.opts.FTP.Timeout
	if t <= 0 {
		t = ftpcore.DefaultTimeout
	}
	return 2 * t
}

// failTask retries t after a transient error (with backoff,
// on a new connection if the old one broke), or records the failure.
// When nothing succeeded for stallLimit, a transient failure is not
// retried and ends the run: retrying against a server that makes no
// progress would only multiply the time it costs.
func (r *runner) failTask(ctx context.Context, t *task, err error) {
	t.unqueue()
	if r.outOfOrder(ctx, t, err) || r.noConnectBack(ctx, t, err) {
		return
	}
	if ctx.Err() != nil {
		if t.seg != nil {
			// Interrupted: the next run fetches the holes. Segments
			// that never started do not come here: save now.
			t.seg.keep.Store(true)
			if err := r.saveSegments(t.seg); err != nil {
				r.log.Warn("saving the progress of segments failed", "path", "/"+t.rel, "err", err)
			}
			r.segmentDone(t.seg)
		}
		r.q.done()
		return
	}
	if isTransient(err) {
		if idle := time.Since(time.Unix(0, r.progress.Load())); idle > r.stallLimit() {
			r.failRecord(t, err)
			r.abort(fmt.Errorf("%w for %v (last: %s %s: %v); giving up", errStalled,
				idle.Round(time.Second), t.kind.what(), QuotePath(r.remote(t.rel)), err))
			r.q.done()
			return
		}
	}
	if isTransient(err) && t.attempt < r.retries() {
		t.attempt++
		wait := backoff(t.attempt)
		r.log.Debug("retry", "path", t.rel, "attempt", t.attempt, "wait", wait, "err", err)
		select {
		case <-ctx.Done():
			r.q.done()
			return
		case <-time.After(wait):
		}
		r.q.requeue(t)
		return
	}
	r.failRecord(t, err)
	r.q.done()
}

// backoff is how long to wait before the attempt'th retry (from 1):
// 500ms, 1s, 2s, ... up to 10s, of which a random half, so that retries
// spread out.
func backoff(attempt int) time.Duration {
	d := min(250*time.Millisecond<<min(attempt, 6), 10*time.Second)
	return d/2 + rand.N(d/2+1)
}

// permanentError marks a failure that retrying cannot fix (a local disk
// error, a server that lies).
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return &permanentError{err} }

// isTransient decides about retrying: ftpcore's classification, except
// for what this package marked permanent.
func isTransient(err error) bool {
	var pe *permanentError
	if errors.As(err, &pe) {
		return false
	}
	return ftpcore.IsTransient(err)
}
