package mirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/state"
)

// runner is the state of one Run.
type runner struct {
	opts *Options
	log  *slog.Logger
	// view and db are how planning reads the target and the state; w
	// writes them. A dry run never makes w (it stays nil), so it cannot
	// write by construction; see apply.go.
	view    localView
	db      stateReader
	w       *writer
	filter  *filter
	last    []*glob   // Options.Last, compiled (last.go)
	prog    *Progress // Options.Progress, or one that nobody reads
	limiter *rate.Limiter
	loc     *time.Location
	now     time.Time
	q       *queue

	listMem    *ftpcore.ListMemory      // shared by the connections' listings
	remoteRoot string                   // absolute remote directory
	made       dirSet                   // local directories known to exist or planned
	mkdirMu    sync.Mutex               // needDir
	partials   map[string]state.Partial // interrupted downloads, from the last run

	// sentinel is Options.Sentinel as listed before the walk (nil:
	// none, or not usable); sentinelStored says whether the state had a
	// record of one; sentinelSkip, that the run ended on it
	// (sentinel.go). young counts files skipped by MinAge.
	sentinel       *state.Sentinel
	sentinelStored bool
	sentinelSkip   bool
	young          atomic.Int64

	noMDTM atomic.Bool // the server has no MDTM
	srv    serverFacts // quirks learned by this run and earlier ones
	clk    serverClock // the server's clock offset (clock.go)
	// progress is when (UnixNano) a task last succeeded or a fetch last
	// brought progressBytes more: a server that makes none for
	// stallLimit gets no more retries, and the run ends (see failTask).
	progress atomic.Int64
	abort    context.CancelCauseFunc
	workers  atomic.Int32 // workers with a connection
	width    *width       // how many workers, and whether to add one
	pre      *predial     // the workers' connections, dialled ahead
	ahead    *aheadSet    // directories listed ahead (ahead.go)
	// aheadDirs brings the directories to list ahead, found while
	// the run connects; ranBefore says whether the job's state has records.
	aheadDirs *aheadDirs
	ranBefore bool
	spawn     func() // starts one more worker (walk sets it)

	// counters for the Summary
	dirs, listed, fetched, resumed, adopted, unchanged, deleted, skipped, failed, bytes, verified atomic.Int64
	// sum is the checksum command sent with each RETR, nil for none:
	// set before the workers start (chooseChecksum), read-only after.
	sum *ftpcore.Checksum

	mu       sync.Mutex
	errs     []string
	deletes  []deletion // candidates, decided during the walk, done after it
	held     []*task    // fetches of Last files, for the last stage
	listFail bool       // some directory could not be listed
	rootErr  error      // why the root could not be listed
}

// Run mirrors opts.Root into opts.Target once. It returns a Summary
// whenever the run got as far as connecting; the error says why the run
// as a whole failed (the first connection, the root listing, a safety
// guard, cancellation). Failures of single files are counted in
// Summary.Failed and quoted in Summary.Errors, and do not make an error.
func Run(ctx context.Context, opts *Options) (*Summary, error) {
	if opts.Publish == PublishSnapshot && opts.Target != "" {
		return runSnapshot(ctx, opts)
	}
	r, err := newRunner(opts)
	if err != nil {
		return nil, err
	}
	sum := &Summary{Job: opts.Job, Start: r.now}
	r.log.Info("run start", "target", opts.Target, "root", opts.Root, "dry_run", opts.DryRun)
	err = r.run(ctx)
	sum.End = r.clock()
	r.fill(sum)
	sum.Result = result(ctx, err, opts.DryRun, sum.Failed)
	if err != nil {
		sum.Errors = append([]string{escapeText(err.Error())}, sum.Errors...)
	}
	sum.SentinelUnchanged = r.sentinelSkip
	if !opts.DryRun {
		if _, herr := opts.State.Job(opts.Job).AddRun(state.Run{
			Start: sum.Start, End: sum.End, Result: string(sum.Result),
			Listed: sum.Listed, Fetched: sum.Fetched, Adopted: sum.Adopted,
			Deleted: sum.Deleted, Skipped: sum.Skipped, Failed: sum.Failed,
			Bytes: sum.Bytes, Errors: sum.Errors,
		}); herr != nil && err == nil {
			err = herr
		}
		if serr := r.saveSentinel(sum.Result); serr != nil && err == nil {
			err = serr
		}
	}
	attrs := []any{"result", sum.Result, "listed", sum.Listed, "fetched", sum.Fetched,
		"bytes", sum.Bytes, "deleted", sum.Deleted, "failed", sum.Failed, "dur", sum.End.Sub(sum.Start).Round(time.Millisecond)}
	switch {
	case sum.Result == ResultInterrupted:
		r.log.Warn("run end", attrs...) // not a failure: the next run goes on
	case err != nil:
		r.log.Error("run end", append(attrs, "err", err)...)
	default:
		r.log.Info("run end", attrs...)
	}
	return sum, err
}

// result is how a run with this outcome ended.
func result(ctx context.Context, err error, dryRun bool, failed int64) Result {
	switch {
	case ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		return ResultInterrupted
	case errors.Is(err, ErrSafetyGuard):
		return ResultGuard
	case errors.As(err, new(*TargetLockedError)):
		return ResultLocked
	case err != nil:
		return ResultFailed
	case dryRun:
		return ResultDryRun
	case failed > 0:
		return ResultPartial
	}
	return ResultOK
}

func newRunner(opts *Options) (*runner, error) {
	if opts.State == nil && !opts.DryRun {
		return nil, errors.New("mirror: Options.State is required")
	}
	if opts.Target == "" {
		return nil, errors.New("mirror: Options.Target is required")
	}
	if opts.Job == "" {
		return nil, errors.New("mirror: Options.Job is required")
	}
	f, err := newFilter(opts.Include, opts.Exclude)
	if err != nil {
		return nil, err
	}
	last, err := compileLast(opts.Last)
	if err != nil {
		return nil, err
	}
	if opts.Sentinel != "" {
		if err := ValidateSentinel(opts.Sentinel); err != nil {
			return nil, err
		}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &runner{
		opts:   opts,
		log:    logger.With("job", opts.Job, "server", opts.Addr),
		db:     stateOrEmpty(opts.State, opts.Job),
		filter: f,
		last:   last,
		loc:    opts.FTP.Location,
		q:      newQueue(),
	}
	if r.loc == nil {
		r.loc = time.UTC
	}
	if r.prog = opts.Progress; r.prog == nil {
		r.prog = &Progress{}
	}
	r.listMem = opts.FTP.ListMemory
	if r.listMem == nil {
		r.listMem = ftpcore.NewListMemory(listMemory(opts.FTP.MaxListBytes))
	}
	r.now = r.clock()
	if opts.LimitRate > 0 {
		burst := max(int(opts.LimitRate/10), 64<<10)
		r.limiter = rate.NewLimiter(rate.Limit(opts.LimitRate), burst)
	}
	return r, nil
}

// defaultListMemory bounds what the listings in progress on all of a
// run's connections take in memory together (ftpcore.ListMemory),
// unless Options.FTP says otherwise. One listing may read MaxListBytes
// (64 MiB), but an Entry takes several times the bytes of its line, and
// four endless listings at once took 1.7 GiB before there was this
// bound (issue 13). With it, peak RSS stays near 100 MiB
// (TestEndlessListingsMemory). 24 MiB hold the entries of a directory of
// about 150,000 files; a larger MaxListBytes raises it.
const defaultListMemory = 24 << 20

// listMemory returns the run's listing memory budget.
func listMemory(maxListBytes int64) int64 {
	return max(defaultListMemory, maxListBytes)
}

func (r *runner) clock() time.Time {
	if r.opts.Now != nil {
		return r.opts.Now()
	}
	return time.Now()
}

// parallel returns the run's width: the number of workers, or with
// Options.ParallelAuto the number it has now.
func (r *runner) parallel() int {
	if r.width != nil {
		return r.width.current()
	}
	return r.fixedParallel()
}

// fixedParallel returns Options.Parallel, or its default.
func (r *runner) fixedParallel() int {
	if r.opts.Parallel > 0 {
		return r.opts.Parallel
	}
	return 4
}

func (r *runner) retries() int { return max(r.opts.Retries, 0) }

// run is Run without the bookkeeping: its phases, in order.
func (r *runner) run(ctx context.Context) (err error) {
	view, err := openView(r.opts.Target)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	r.view = view
	defer func() {
		if r.w != nil {
			r.closeWriter()
		}
		r.view.close()
	}()
	if r.partials, err = r.db.Partials(); err != nil {
		return err
	}
	if err := r.loadServer(); err != nil {
		return err
	}
	r.width = newWidth(r.opts, r.srv.known, r.fixedParallel())
	if r.ranBefore, err = hasRecords(r.db); err != nil {
		return err
	}
	r.aheadDirs = r.collectAhead()
	defer r.aheadDirs.wait()         // it reads the state, which is the caller's
	defer func() { r.pre.close() }() // r.pre is set by start
	defer func() {
		if serr := r.saveServer(); err == nil {
			err = serr
		}
	}()
	first, root, err := r.start(ctx)
	if errors.Is(err, errSentinelUnchanged) {
		r.sentinelSkip = true
		return nil
	}
	if err != nil {
		return err
	}
	err = r.walk(ctx, first, root)
	deleteOK := true
	if err == nil {
		deleteOK, err = r.lastStage(ctx)
	}
	if err == nil && r.w != nil {
		// The delete phase counts and walks what the state knows,
		// this run's records included.
		err = r.w.batch.Flush()
	}
	if err == nil && deleteOK {
		err = r.deletePhase(ctx)
	}
	if r.w != nil {
		if berr := r.w.batch.Close(); err == nil {
			err = berr
		}
	}
	return err
}

// start makes the first connection, which tells where the remote root
// is, and whether the server is there at all, before any worker starts;
// then, for a real run, opens the writer. As soon as the first
// connection logged in, the other workers' connections are dialled in
// the background (r.pre). It returns the connection for the first
// worker, and the root's listing if proving the root brought it.
func (r *runner) start(ctx context.Context) (*ftpcore.Conn, *listing, error) {
	// A job that ran before dials all its connections at once: its
	// server answered then. (With a sentinel, an unchanged one ends the
	// run after one listing, and the others would be dialled for
	// nothing.) Otherwise the others wait for the first one's login.
	early := r.ranBefore && r.opts.Sentinel == ""
	if n := r.width.start() - 1; n > 0 && early {
		r.pre = r.predial(ctx, n)
	}
	first, err := r.connect(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, fmt.Errorf("%w: connect to %s: %w", ErrNotStarted, r.opts.Addr, err)
	}
	r.workers.Store(1)
	r.width.connected(1)
	r.learnFeatures(first)
	if r.remoteRoot, err = r.resolveRoot(ctx, first); err != nil {
		first.Close()
		return nil, nil, fmt.Errorf("%w: %w", ErrNotStarted, err)
	}
	// Before the other connections are dialled: each asks for the
	// checksum chosen here (connect, selectChecksum).
	if err := r.chooseChecksum(first); err != nil {
		first.Close()
		return nil, nil, err
	}
	if r.opts.Sentinel != "" {
		// Before the other connections and the root's listing: an
		// unchanged sentinel ends the run after one listing.
		if first, err = r.sentinelFirst(ctx, first); err != nil {
			return nil, nil, err
		}
	}
	if n := r.width.start() - 1; n > 0 && !early {
		r.pre = r.predial(ctx, n)
	}
	first, root, err := r.proveRoot(ctx, first)
	if err != nil {
		if first != nil {
			first.Close()
		}
		return nil, nil, err
	}
	if err := r.selectChecksum(ctx, first); err != nil {
		first.Close()
		return nil, nil, fmt.Errorf("%w: %w", ErrNotStarted, err)
	}
	if !r.opts.DryRun {
		// Only now that the server answered: a run that cannot connect
		// leaves no empty target behind.
		var err error
		if f := r.opts.beforeWrite; f != nil {
			err = f()
		}
		if err == nil {
			err = r.openWriter()
		}
		if err == nil {
			err = r.forgetSentinel()
		}
		if err != nil {
			first.Close()
			return nil, nil, err
		}
	}
	return first, root, nil
}

// sentinelFirst checks the sentinel on the first connection (see
// sentinel.go): errSentinelUnchanged ends the run. A connection that
// broke meanwhile is made again.
func (r *runner) sentinelFirst(ctx context.Context, first *ftpcore.Conn) (*ftpcore.Conn, error) {
	unchanged, err := r.checkSentinel(ctx, first)
	if err != nil || unchanged {
		first.Close()
		if err == nil {
			err = errSentinelUnchanged
		}
		return nil, err
	}
	if first.Err() == nil {
		return first, nil
	}
	first.Close()
	if first, err = r.connect(ctx); err != nil {
		return nil, fmt.Errorf("%w: connect to %s: %w", ErrNotStarted, r.opts.Addr, err)
	}
	return first, nil // start proves the root on it
}

// walk lists the tree from the root and fetches what the listings
// decide, on Options.Parallel workers (pool.go), until the queue is
// done. Its error is the run's: a failure of the root listing, or a
// server that stalled; single files failing are counted, not returned.
func (r *runner) walk(ctx context.Context, first *ftpcore.Conn, root *listing) error {
	r.q.push(&task{kind: taskList, rel: "", listed: root})
	dirs, err := r.aheadDirs.wait()
	if err != nil {
		first.Close()
		return err
	}
	r.queueAhead(dirs)
	err = r.work(ctx, first)
	if err == nil && r.rootErr != nil {
		err = &RootError{Path: r.remoteRoot, Err: r.rootErr}
	}
	if err == nil && r.listFail && r.dirs.Load() == 0 {
		err = fmt.Errorf("%w: list %s: %s", ErrNotStarted, r.remoteRoot, r.firstError())
	}
	return err
}

// work runs the tasks in r.q on the run's workers until the queue is
// done. With first, the walk's: first is the first worker's connection,
// and the others take the connections start dialled ahead. Without, the
// last stage's (last.go): every worker connects.
// Its error is a server that stalled, or the end of ctx.
func (r *runner) work(ctx context.Context, first *ftpcore.Conn) error {
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.abort = cancel
	r.markProgress()
	stop := context.AfterFunc(wctx, r.q.stop)
	defer stop()
	g, gctx := errgroup.WithContext(wctx)
	// A worker that spawn starts runs in g: g.Wait waits for it too
	// (spawn is called from a worker, so g is still waiting).
	r.spawn = func() { g.Go(func() error { return r.worker(gctx, nil, false) }) }
	n, pre := r.parallel(), false
	if first != nil {
		n, pre = r.width.start()-1, r.pre != nil // as many as start dialled ahead
		g.Go(func() error { return r.worker(gctx, first, false) })
	}
	for range n {
		g.Go(func() error { return r.worker(gctx, nil, pre) })
	}
	err := g.Wait()
	if err == nil {
		err = ctx.Err()
	}
	if cause := context.Cause(wctx); err == nil && errors.Is(cause, errStalled) {
		err = cause
	}
	return err
}

// remote returns the remote path of rel.
func (r *runner) remote(rel string) string {
	switch {
	case rel == "":
		return r.remoteRoot
	case r.remoteRoot == "":
		return rel
	case r.remoteRoot == "/":
		return "/" + rel
	}
	return r.remoteRoot + "/" + rel
}

func (r *runner) report(a Action) {
	if r.opts.Report != nil {
		r.opts.Report(a)
	}
}

// fill copies the counters into sum.
func (r *runner) fill(sum *Summary) {
	sum.Dirs = r.dirs.Load()
	sum.Listed = r.listed.Load()
	sum.Fetched = r.fetched.Load()
	sum.Resumed = r.resumed.Load()
	sum.Adopted = r.adopted.Load()
	sum.Unchanged = r.unchanged.Load()
	sum.Deleted = r.deleted.Load()
	sum.Skipped = r.skipped.Load()
	sum.Failed = r.failed.Load()
	sum.Bytes = r.bytes.Load()
	sum.Verified = r.verified.Load()
	if r.width != nil {
		sum.Connections = int64(r.width.peakConnections())
	}
	sum.DurationMS = sum.End.Sub(sum.Start).Milliseconds()
	sum.ClockLearned = r.clk.learnedZone()
	r.mu.Lock()
	sum.Errors = append([]string(nil), r.errs...)
	r.mu.Unlock()
}

var _ io.Closer = (*ftpcore.Conn)(nil)
