package mirror

import (
	"container/heap"
	"context"
	"sync"

	"github.com/ftpmirror/ftpmirror/ftpcore"
)

type taskKind uint8

const (
	taskList    taskKind = iota // list a directory and decide about its entries
	taskFetch                   // download one file
	taskFollow                  // find out what a symlink points to (-symlinks=follow)
	taskSegment                 // download one segment of a large file
	taskConfirm                 // adopt a local file if MDTM confirms its time, else fetch it
)

// task is one unit of work for a connection.
type task struct {
	kind    taskKind
	rel     string        // path relative to the root
	entry   ftpcore.Entry // taskFetch, taskFollow: the listing's entry
	verb    Verb          // taskFetch: VerbFetch or VerbResume; taskConfirm: VerbAdopt
	dec     decision      // taskFetch: why
	attempt int           // how many times it failed transiently so far
	links   int           // symlinks followed on the way here
	// reordered: the task failed once on replies out of order, and
	// runs again without pipelining (runner.outOfOrder).
	reordered bool
	// refetched: a digest mismatch made this fetch (once; the next
	// fails the file).
	refetched bool

	// queued: the fetch's commands went out already, behind the previous
	// fetch on the same connection (ftpcore.Transfer.Next);
	// queuedTime says whether MDTM went with them.
	queued     *ftpcore.Pending
	queuedTime bool

	// taskSegment: the file being fetched in segments, and this
	// segment's byte range [segStart, segEnd).
	seg              *segFile
	segStart, segEnd int64
	segIdx           int // the segment's index in seg.segs

	// listed: taskList of the root, listed already by the round trip
	// that proved the root (runner.proveRoot), or of a directory listed
	// ahead (ahead.go).
	listed *listing
	// ahead: taskList of a directory the state knows, listed before its
	// parent's listing shows it (ahead.go).
	ahead bool
}

// listing is a directory's listing: its entries and the lines that gave
// none, or why it failed.
type listing struct {
	entries []ftpcore.Entry
	bad     *ftpcore.ListError
	err     error
}

// unqueue gives up a queued fetch's commands (the connection with them
// goes too) so that the task can run anew.
func (t *task) unqueue() {
	if t.queued != nil {
		t.queued.Cancel()
		t.queued = nil
	}
}

// maxFetchBacklog bounds the fetches waiting in a queue before listings
// yield to them. A queued fetch costs a few hundred bytes: at 20,000 the
// backlog was most of a 200,000-file mirror's heap (peak RSS 67 MiB, 53
// MiB at 5,000), and 5,000 keep 16 connections busy many times over.
const maxFetchBacklog = 5000

// queue hands tasks to the workers: directory listings first, so the
// tree is known early and connections are not idle, then fetches, the
// largest first so that big files do not become the tail of a run. It
// knows when all work is done: nothing queued and nothing running.
type queue struct {
	mu       sync.Mutex
	cond     *sync.Cond
	lists    []*task
	ready    []*task // listings done already (task.listed): compared first
	fetches  fetchHeap
	pending  int // queued + running
	closed   bool
	sleepers int // workers waiting in pop
	holds    int // hold calls not yet released: push wakes nobody
}

func newQueue() *queue {
	q := &queue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *queue) push(t *task) {
	q.mu.Lock()
	switch {
	case t.kind == taskFetch || t.kind == taskSegment || t.kind == taskConfirm:
		heap.Push(&q.fetches, t)
	case t.listed != nil:
		// Its comparison needs no round trip and holds a listing in
		// memory, and what it finds is the walk's next work.
		q.ready = append(q.ready, t)
	default:
		q.lists = append(q.lists, t)
	}
	q.pending++
	held := q.holds > 0
	q.mu.Unlock()
	if !held {
		q.cond.Signal()
	}
}

// hold makes pushes wake no waiting worker until release: a worker that
// finishes several listings at once queues all their subdirectories
// before the others wake, so that each takes its share of the lot
// (moreLists) rather than one each of the first ones.
func (q *queue) hold() {
	q.mu.Lock()
	q.holds++
	q.mu.Unlock()
}

// release ends a hold and wakes the waiting workers.
func (q *queue) release() {
	q.mu.Lock()
	q.holds--
	q.mu.Unlock()
	q.cond.Broadcast()
}

// waiting reports whether tasks are queued for a worker.
func (q *queue) waiting() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.lists) > 0 || len(q.ready) > 0 || q.fetches.Len() > 0
}

// requeue puts back a task that a worker took but did not finish (it is
// still pending).
func (q *queue) requeue(t *task) {
	q.mu.Lock()
	q.pending--
	q.mu.Unlock()
	q.push(t)
}

// pop returns the next task, or nil when all work is done or ctx ended.
func (q *queue) pop(ctx context.Context) *task {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		if q.closed || ctx.Err() != nil {
			return nil
		}
		if n := len(q.ready); n > 0 {
			t := q.ready[n-1]
			q.ready[n-1] = nil
			q.ready = q.ready[:n-1]
			return t
		}
		if q.fetches.Len() > maxFetchBacklog {
			// Enough known work: fetch before listing more, so memory
			// grows with the backlog, not with the tree.
			return heap.Pop(&q.fetches).(*task)
		}
		if n := len(q.lists); n > 0 {
			t := q.lists[0]
			q.lists[0] = nil
			q.lists = q.lists[1:]
			return t
		}
		if q.fetches.Len() > 0 {
			return heap.Pop(&q.fetches).(*task)
		}
		if q.pending == 0 {
			q.closed = true
			q.cond.Broadcast()
			return nil
		}
		q.sleepers++
		q.cond.Wait()
		q.sleepers--
	}
}

// moreLists takes up to most more queued listings, without waiting, for a
// worker that lists several directories in one round trip, having popped
// one already. It leaves a share for each worker waiting in pop (see
// listShare). At the start of a run the other workers are still logging
// in, not waiting, and the first one lists what it can.
func (q *queue) moreLists(most int) []*task {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.takeLists(listShare(len(q.lists), q.sleepers, most), func(*task) bool { return true })
}

// moreAhead takes queued listings ahead (ahead.go) for a worker that
// popped one and chains them on its connection (ftpcore's
// ChainsListings): its part of them among all workers, rounded up, less
// the one it has, at most most. A chain saves a round trip per listing
// but runs them one after another, so each worker takes its part and no
// more, whether the others sleep or are still logging in.
func (q *queue) moreAhead(most, workers int) []*task {
	q.mu.Lock()
	defer q.mu.Unlock()
	ahead := func(t *task) bool { return t.ahead }
	queued := 0
	for _, t := range q.lists {
		if t.kind == taskList && ahead(t) {
			queued++
		}
	}
	return q.takeLists(min(most, (queued+workers)/max(workers, 1)-1), ahead)
}

// takeLists removes up to n queued listings that want accepts, in queue
// order, and returns them. q.mu is held.
func (q *queue) takeLists(n int, want func(*task) bool) []*task {
	var more []*task
	for i := 0; i < len(q.lists) && len(more) < n; {
		if t := q.lists[i]; t.kind != taskList || !want(t) {
			i++
			continue
		}
		more = append(more, q.lists[i])
		if i == 0 {
			q.lists[0] = nil
			q.lists = q.lists[1:]
		} else {
			q.lists = append(q.lists[:i], q.lists[i+1:]...)
		}
	}
	return more
}

// listShare is how many of queued listings a worker that popped one more
// takes, with idle other workers waiting: its part of them all, rounded
// up, so that the workers together take every one in one round trip
// rather than most of them in one and the rest in another. At most most.
func listShare(queued, idle, most int) int {
	return min(most, (queued+1+idle)/(idle+1)-1)
}

// idle reports whether nothing is queued (tasks may still be running).
func (q *queue) idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.lists) == 0 && len(q.ready) == 0 && q.fetches.Len() == 0
}

// popFetchIf takes the next fetch, without waiting, if there is one and
// ok says it will do.
func (q *queue) popFetchIf(ok func(*task) bool) *task {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fetches.Len() == 0 || !ok(q.fetches[0]) {
		return nil
	}
	return heap.Pop(&q.fetches).(*task)
}

// done marks a popped task finished.
func (q *queue) done() {
	q.mu.Lock()
	q.pending--
	if q.pending == 0 {
		q.cond.Broadcast()
	}
	q.mu.Unlock()
}

// stop wakes every waiting worker to return (on cancellation).
func (q *queue) stop() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

type fetchHeap []*task

func (h fetchHeap) Len() int           { return len(h) }
func (h fetchHeap) Less(i, j int) bool { return h[i].entry.Size > h[j].entry.Size }
func (h fetchHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *fetchHeap) Push(x any)        { *h = append(*h, x.(*task)) }
func (h *fetchHeap) Pop() any {
	old := *h
	n := len(old)
	t := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return t
}
