package mirror

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
)

// The pool: Options.Parallel workers, each running tasks on its own
// connection (one command at a time, as an ftpcore.Conn requires). A
// worker gets a connection when it starts or when its last one broke,
// and puts it back after each task, which drops it if it broke. A server
// that refuses one more connection (421 "too many connections") makes
// the worker bow out while the others carry on: the pool shrinks to
// what the server allows instead of failing the run.

// connect dials and logs in one connection.
func (r *runner) connect(ctx context.Context) (*ftpcore.Conn, error) {
	c, err := r.login(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.selectChecksum(ctx, c); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// login dials and logs in, without connect's set-up for the run's
// checksum (which predial may dial before the run chose it).
func (r *runner) login(ctx context.Context) (*ftpcore.Conn, error) {
	cfg := r.ftpConfig()
	cfg.ListMemory = r.listMem
	if r.opts.LimitRate > 0 && cfg.MinRate == 0 {
		// Our own rate limit must not make a transfer "too slow": a
		// connection may get a small share of it while others run.
		cfg.MinRate = max(1, min(ftpcore.DefaultMinRate, r.opts.LimitRate/int64(4*r.parallel())))
	}
	c, err := ftpcore.Dial(ctx, r.opts.Addr, &cfg)
	if err != nil {
		return nil, err
	}
	if err := c.Login(ctx, r.opts.User, r.opts.Password); err != nil {
		c.Close()
		user := r.opts.User
		if user == "" {
			user = "anonymous"
		}
		return nil, fmt.Errorf("login as %s: %w", user, err)
	}
	return c, nil
}

// tooManyConnections reports whether err is a server's refusal of one
// more connection: 421 at greeting or login (vsftpd "421 There are too
// many connected users", pure-ftpd "421 Too many users"), or proftpd's
// "530 Sorry, the maximum number of clients ... has been reached".
func tooManyConnections(err error) bool {
	var fe *ftpcore.Error
	if !errors.As(err, &fe) {
		return false
	}
	msg := strings.ToLower(fe.Msg)
	return fe.Code == 421 || (fe.Code == 530 && (strings.Contains(msg, "too many") || strings.Contains(msg, "maximum number")))
}

// worker runs tasks on one connection until the queue is done. It
// starts with c, or one that r.pre dialled ahead if pre, or dials.
func (r *runner) worker(ctx context.Context, c *ftpcore.Conn, pre bool) error {
	defer r.drop(&c)
	if c == nil {
		// Connect right away, all workers at once, rather than when
		// the first task comes: logging in takes several round trips.
		var err error
		if pre {
			c, err = r.pre.take(ctx)
		} else {
			c, err = r.get(ctx)
		}
		if err != nil && r.bowOut(err) {
			return nil
		}
		// Other errors: the first task tries again and reports.
	}
	c = r.probeActive(ctx, c)
	w := &workerState{}
	for {
		if w.next == nil {
			r.followMode(c)
		}
		t := w.next
		w.next = nil
		if t == nil {
			t = r.q.pop(ctx)
		}
		if t == nil {
			return nil
		}
		if t.kind == taskFetch && c != nil {
			t = r.splitFetch(t)
		}
		if c == nil {
			t.queued = nil // went with the connection
			var err error
			if c, err = r.get(ctx); err != nil {
				if r.bowOut(err) {
					r.q.requeue(t)
					return nil
				}
				if t.ahead { // never a failure (ahead.go)
					r.aheadDone(t.rel, &listing{err: err})
					r.q.done()
					continue
				}
				r.failTask(ctx, t, err)
				continue
			}
		}
		if t.kind == taskList && t.listed == nil && c.BatchesListings() {
			batch := append([]*task{t}, r.q.moreLists(7)...)
			r.listBatch(ctx, c, batch)
			r.put(&c)
			continue
		}
		if t.ahead && c.ChainsListings() {
			batch := append([]*task{t}, r.q.moreAhead(7, r.width.current())...)
			r.listBatch(ctx, c, batch)
			r.put(&c)
			continue
		}
		if t.ahead {
			r.listAhead(ctx, c, t)
			r.put(&c)
			continue
		}
		err := r.do(ctx, c, t, w)
		r.put(&c)
		if err != nil {
			r.failTask(ctx, t, err)
			continue
		}
		r.markProgress()
		r.q.done()
		r.widen()
	}
}

// get connects a worker, counted in r.workers.
func (r *runner) get(ctx context.Context) (*ftpcore.Conn, error) {
	c, err := r.connect(ctx)
	if err != nil {
		return nil, err
	}
	r.connected()
	return c, nil
}

// connected counts one more worker with a connection.
func (r *runner) connected() {
	r.width.connected(int(r.workers.Add(1)))
}

// widen starts more workers if the run's width grows (width.go).
func (r *runner) widen() {
	for range r.width.tick(time.Now(), r.bytes.Load(), r.q.waiting()) {
		r.spawn()
	}
}

// predial dials and logs in the workers' connections in the background
// while the first one proves the root: their logins overlap its round
// trips instead of following them. Nothing local is made meanwhile.
type predial struct {
	r       *runner
	results chan dialResult
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

type dialResult struct {
	c   *ftpcore.Conn
	err error
}

// predial starts dialling n connections.
func (r *runner) predial(ctx context.Context, n int) *predial {
	ctx, cancel := context.WithCancel(ctx)
	p := &predial{r: r, results: make(chan dialResult, n), cancel: cancel}
	p.wg.Add(n)
	for range n {
		go func() {
			defer p.wg.Done()
			c, err := r.login(ctx)
			p.results <- dialResult{c, err}
		}()
	}
	return p
}

// take returns one of the connections, counted in r.workers, or why it
// could not be had. Each worker started with pre takes one.
func (p *predial) take(ctx context.Context) (*ftpcore.Conn, error) {
	res := <-p.results
	if res.err != nil {
		return nil, res.err
	}
	if err := p.r.selectChecksum(ctx, res.c); err != nil {
		res.c.Close()
		return nil, err
	}
	p.r.connected()
	return res.c, nil
}

// close waits for the dialling to end and closes what nobody took (a
// run that ended before its workers started).
func (p *predial) close() {
	if p == nil {
		return
	}
	p.cancel()
	p.wg.Wait()
	close(p.results)
	for res := range p.results {
		if res.c != nil {
			res.c.Close()
		}
	}
}

// put keeps *c for the next task, or drops it if it broke (a command cut
// off mid-reply leaves the stream out of step).
func (r *runner) put(c **ftpcore.Conn) {
	if *c != nil {
		r.learn(*c)
	}
	if *c != nil && (*c).Err() != nil {
		r.drop(c)
	}
}

// drop closes *c, if any, and forgets it.
func (r *runner) drop(c **ftpcore.Conn) {
	if *c != nil {
		r.learn(*c)
		(*c).Close()
		r.workers.Add(-1)
		*c = nil
	}
}

// bowOut reports whether a worker whose connection failed with err
// should end: the server allows fewer connections than asked, and other
// workers have one and carry on.
func (r *runner) bowOut(err error) bool {
	if !tooManyConnections(err) || r.workers.Load() == 0 {
		return false
	}
	r.width.refuse()
	r.log.Warn("server refused another connection; using fewer", "connections", r.workers.Load(), "err", err)
	return true
}

// workerState is what a worker carries from one task to the next: the
// fetch whose commands went out behind the last one.
type workerState struct {
	next *task
}

// do runs one task on c.
func (r *runner) do(ctx context.Context, c *ftpcore.Conn, t *task, w *workerState) error {
	switch t.kind {
	case taskList:
		return r.listDir(ctx, c, t)
	case taskFollow:
		return r.follow(ctx, c, t)
	case taskSegment:
		return r.fetchSegment(ctx, c, t)
	case taskConfirm:
		return r.confirm(ctx, c, t)
	default:
		return r.fetch(ctx, c, t, w)
	}
}
