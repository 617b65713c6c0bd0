package state

import (
	"errors"
	"sync"
	"time"
)

// Batcher defaults, used when NewBatcher is given zero.
const (
	DefaultBatchItems = 256
	DefaultBatchDelay = 500 * time.Millisecond
)

var errBatcherClosed = errors.New("state: batcher is closed")

// Batcher collects changes of one job from many goroutines and writes them
// with [Job.Apply], one transaction per batch, so that fetching 10,000 small
// files costs tens of fsyncs, not 10,000. A batch is written when
// maxItems changes are queued or maxDelay has passed since the first of
// them, whichever comes first, and on Flush and Close.
//
// At most maxItems changes wait while a batch is being written; Add blocks
// beyond that until the write is done. A failed write makes the Batcher
// fail: that error is returned by the next and every later Add, Flush and
// Close, and the changes queued are dropped. (bbolt's DB.Batch is not used:
// each of its callers waits for the commit, and it retries a failed batch
// one function at a time.)
//
// A Batcher is safe for concurrent use. Close must be called to stop its
// goroutine.
type Batcher struct {
	job      *Job
	maxItems int
	maxDelay time.Duration

	wake  chan struct{} // buffered 1: something for the writer to look at
	done  chan struct{} // closed when the writer has returned
	timer *time.Timer   // calls signal maxDelay after a batch's first change

	mu      sync.Mutex
	cond    *sync.Cond // broadcast when pending is taken or written grows
	pending []Change
	first   time.Time // when pending[0] was queued
	added   uint64    // changes ever queued
	written uint64    // changes whose write has ended, well or not
	want    uint64    // Flush and Close want changes up to here written
	err     error     // first write error, sticky
	closed  bool

	beforeCommit func() error // see SetBeforeCommit
}

// SetBeforeCommit makes the Batcher call f before it writes each batch;
// an error from f fails the batch like a write error. mirror uses it to
// make the files of a batch durable before the state records them.
func (b *Batcher) SetBeforeCommit(f func() error) {
	b.mu.Lock()
	b.beforeCommit = f
	b.mu.Unlock()
}

// NewBatcher starts a Batcher for the job. maxItems <= 0 means
// DefaultBatchItems, maxDelay <= 0 means DefaultBatchDelay.
func (j *Job) NewBatcher(maxItems int, maxDelay time.Duration) *Batcher {
	if maxItems <= 0 {
		maxItems = DefaultBatchItems
	}
	if maxDelay <= 0 {
		maxDelay = DefaultBatchDelay
	}
	b := &Batcher{
		job:      j,
		maxItems: maxItems,
		maxDelay: maxDelay,
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		pending:  make([]Change, 0, maxItems),
	}
	b.cond = sync.NewCond(&b.mu)
	b.timer = time.AfterFunc(time.Hour, b.signal)
	b.timer.Stop()
	go b.run()
	return b
}

func (b *Batcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// Add queues c. It checks c.Path at once, so a bad path is reported here
// and never fails a batch.
func (b *Batcher) Add(c Change) error {
	if err := b.job.check(c.Path); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.err == nil && !b.closed && len(b.pending) >= b.maxItems {
		b.cond.Wait()
	}
	switch {
	case b.err != nil:
		return b.err
	case b.closed:
		return errBatcherClosed
	}
	b.pending = append(b.pending, c)
	b.added++
	if len(b.pending) == 1 {
		b.first = time.Now()
		b.timer.Reset(b.maxDelay)
	}
	if len(b.pending) >= b.maxItems {
		b.signal()
	}
	return nil
}

// Flush writes what is queued and returns once it is committed.
func (b *Batcher) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	target := b.added
	if target > b.want {
		b.want = target
	}
	b.signal()
	for b.err == nil && b.written < target {
		b.cond.Wait()
	}
	return b.err
}

// Close writes what is queued and stops the Batcher. Add after Close
// returns an error; Close may be called again.
func (b *Batcher) Close() error {
	b.mu.Lock()
	b.closed = true
	b.cond.Broadcast() // Adds waiting for room give up
	b.mu.Unlock()
	b.signal()
	<-b.done
	b.timer.Stop()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// due reports whether pending should be written now.
func (b *Batcher) due() bool {
	n := len(b.pending)
	return n > 0 && (n >= b.maxItems || b.closed || b.err != nil ||
		b.want > b.added-uint64(n) || time.Since(b.first) >= b.maxDelay)
}

// run is the writer goroutine.
func (b *Batcher) run() {
	defer close(b.done)
	spare := make([]Change, 0, b.maxItems)
	for {
		<-b.wake
		for {
			b.mu.Lock()
			if !b.due() {
				stop := b.closed && len(b.pending) == 0
				b.mu.Unlock()
				if stop {
					return
				}
				break
			}
			batch := b.pending
			b.pending = spare[:0]
			failed := b.err
			before := b.beforeCommit
			b.cond.Broadcast()
			b.mu.Unlock()

			err := failed
			if err == nil && before != nil {
				err = before()
			}
			if err == nil {
				err = b.job.Apply(batch)
			}
			clear(batch) // let go of Target strings
			spare = batch

			b.mu.Lock()
			b.written += uint64(len(batch))
			if b.err == nil {
				b.err = err
			}
			b.cond.Broadcast()
			b.mu.Unlock()
		}
	}
}
