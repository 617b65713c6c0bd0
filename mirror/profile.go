package mirror

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/state"
)

// The server profile (state.Profile): which listing command works,
// whether EPSV is refused, whether PASV names another address, whether
// active connect-back works and is faster, the checksum chosen, FEAT.
// A run's connections start from what the last run stored, each reports
// what it saw (learn), and the run stores what changed. A stored
// refusal is tried again after profileRelearnRuns runs, or at once
// where FEAT newly offers what was refused; a stored success that the
// server contradicts falls back on its own (ftpcore) and is stored anew.

// profileRelearnRuns is how many runs start from a stored refusal (EPSV,
// a listing command that failed) before one tries again: a server that
// was upgraded is noticed within that many runs.
const profileRelearnRuns = 20

// activeRelearnAge is how long a test of active mode holds before mode
// auto tests again.
const activeRelearnAge = 30 * 24 * time.Hour

// activeProbeTimeout bounds the wait for the server's data connection
// when mode auto tests active mode: behind NAT the test costs this,
// once, and never again until activeRelearnAge.
const activeProbeTimeout = 2 * time.Second

// profileFacts is the part of serverFacts that the profile keeps.
type profileFacts struct {
	stored   state.Profile
	seedEPSV atomic.Bool // new connections skip EPSV
	noEPSV   atomic.Bool // EPSV refused (this run, or stored and not contradicted)
	pasvNAT  atomic.Bool
	inOrder  atomic.Bool // pipelined transfers were answered in order: new connections pipeline at once
	active   atomic.Bool // mode auto: new connections use active mode
	probe    atomic.Bool // mode auto: test active mode on the first connection a worker has

	mu       sync.Mutex
	listing  string // the listing command that works; new connections start from it
	activeOK state.ActiveResult
	passive  time.Duration // costs of one listing, as tested
	actCost  time.Duration
	rtt      time.Duration // the control connection's round trip then
	tested   time.Time
	features []string
}

// loadProfile makes the run start from the stored profile rec.
func (r *runner) loadProfile(rec state.Profile) {
	p := &r.srv.profileFacts
	p.stored = rec
	p.listing, p.activeOK, p.passive, p.actCost, p.rtt, p.tested = rec.Listing, rec.Active, rec.PassiveCost, rec.ActiveCost, rec.RTT, rec.ActiveTested
	p.features = rec.Features
	p.noEPSV.Store(rec.NoEPSV)
	p.pasvNAT.Store(rec.PASVElsewhere)
	p.inOrder.Store(rec.Pipelined)
	if rec.Runs >= profileRelearnRuns && (rec.NoEPSV || (rec.Listing != "" && rec.Listing != "MLSD" && rec.Listing != "STAT")) {
		r.log.Info("server profile: trying again what it says fails", "runs", rec.Runs, "listing", rec.Listing, "no_epsv", rec.NoEPSV)
		p.listing = ""
	} else {
		p.seedEPSV.Store(rec.NoEPSV)
	}
	if r.opts.ActiveAuto {
		r.chooseMode()
	}
	if rec.Listing != "" || rec.NoEPSV || rec.Active != state.ActiveUnknown {
		r.log.Info("using the stored server profile", "listing", rec.Listing, "no_epsv", rec.NoEPSV,
			"active", rec.Active.String(), "mode", r.modeName())
	}
}

// chooseMode decides, for mode auto, between active and passive from
// the stored test, or asks for a test (probeActive) where there is none
// or it is older than activeRelearnAge.
func (r *runner) chooseMode() {
	p := &r.srv.profileFacts
	switch {
	case p.activeOK == state.ActiveUnknown || r.now.Sub(p.tested) > activeRelearnAge,
		p.activeOK == state.ActiveWorks && p.rtt == 0: // tested before round trips were measured
		p.probe.Store(!r.opts.DryRun) // a dry run could not store the result
	case p.activeOK == state.ActiveWorks && activeFaster(p.passive, p.actCost, p.rtt):
		p.active.Store(true)
	}
}

// activeMinRTT is the least round trip at which mode auto uses active
// mode. Active mode saves one round trip per file (EPSV's reply: the
// server connects as soon as it has PORT and the command), and costs a
// listening socket per transfer; on a LAN the round trip saved is worth
// less than that. On loopback, 200,000 files went at 280 a second in
// active mode, 1,300 in passive.
const activeMinRTT = 2 * time.Millisecond

// activeFaster reports whether active mode is worth it: the round trip
// rtt is long enough to matter, and the listing in active mode took at
// least half a round trip less than in passive mode.
func activeFaster(passive, active, rtt time.Duration) bool {
	return rtt >= activeMinRTT && active <= passive-rtt/2
}

func (r *runner) modeName() string {
	switch {
	case r.opts.FTP.Active:
		return "active"
	case !r.opts.ActiveAuto:
		return "passive"
	case r.srv.active.Load():
		return "auto: active"
	case r.srv.probe.Load():
		return "auto: passive, testing active"
	}
	return "auto: passive"
}

// profileConfig sets up cfg, a new connection's, from the profile.
func (r *runner) profileConfig(cfg *ftpcore.Config) {
	p := &r.srv.profileFacts
	if p.seedEPSV.Load() {
		cfg.DisableEPSV = true
	}
	p.mu.Lock()
	cfg.Listing = p.listing
	p.mu.Unlock()
	cfg.PipelineFirst = p.inOrder.Load()
	if r.opts.ActiveAuto {
		cfg.Active = p.active.Load()
	}
}

// learnFeatures compares the first connection's FEAT with the stored
// one: an EPSV that FEAT offers now, and did not before, is tried again.
func (r *runner) learnFeatures(c *ftpcore.Conn) {
	p := &r.srv.profileFacts
	var lines []string
	for name, params := range c.Features() {
		lines = append(lines, strings.TrimSpace(name+" "+params))
	}
	slices.Sort(lines)
	lines = state.BoundFeatures(lines)
	had := slices.ContainsFunc(p.stored.Features, func(l string) bool { return l == "EPSV" || strings.HasPrefix(l, "EPSV ") })
	if p.seedEPSV.Load() && c.HasFeature("EPSV") && !had && p.stored.Features != nil {
		p.seedEPSV.Store(false)
		c.RetryEPSV()
		r.log.Info("server profile relearned: FEAT now offers EPSV; trying it again", "entry", "epsv")
	}
	p.mu.Lock()
	p.features = lines
	p.mu.Unlock()
}

// learn takes what connection c saw into the profile, and switches it
// to passive mode once mode auto gave up on active.
func (r *runner) learn(c *ftpcore.Conn) {
	p := &r.srv.profileFacts
	if refused, worked := c.EPSV(); refused && !p.noEPSV.Swap(true) {
		r.relearned("epsv", "works", "refused")
	} else if worked && p.noEPSV.Swap(false) {
		r.relearned("epsv", "refused", "works")
	}
	if c.PipelinedInOrder() && !r.srv.noPipe.Load() {
		p.inOrder.Store(true)
	}
	if c.PASVElsewhere() && !p.pasvNAT.Swap(true) {
		r.log.Info("server profile: PASV names another address than the server's (NAT); using the server's", "entry", "pasv")
	}
	if l := c.Listing(); l != "" {
		p.mu.Lock()
		was := p.listing
		p.listing = l
		p.mu.Unlock()
		if was != l {
			r.relearned("listing", was, l)
		}
	}
	if r.opts.ActiveAuto && !p.active.Load() {
		c.SetActive(false)
	}
}

// relearned logs an entry of the profile that changed: at Info where the
// stored profile said otherwise, at Debug where it said nothing.
func (r *runner) relearned(entry, was, now string) {
	if was == "" || (entry == "epsv" && r.srv.stored.Features == nil && r.srv.stored.Listing == "") {
		r.log.Debug("server profile learned", "entry", entry, "now", now)
		return
	}
	r.log.Info("server profile relearned", "entry", entry, "was", was, "now", now)
}

// learnedProfile returns the profile to store, and whether it differs
// from the stored one.
func (r *runner) learnedProfile() (state.Profile, bool) {
	p := &r.srv.profileFacts
	p.mu.Lock()
	out := state.Profile{
		Listing: p.listing, NoEPSV: p.noEPSV.Load(), PASVElsewhere: p.pasvNAT.Load(),
		Pipelined: p.inOrder.Load() && !r.srv.noPipe.Load(),
		Active:    p.activeOK, PassiveCost: p.passive, ActiveCost: p.actCost, ActiveTested: p.tested, RTT: p.rtt,
		Features: p.features, Runs: p.stored.Runs + 1,
	}
	p.mu.Unlock()
	if r.sum != nil {
		out.Checksum = r.sum.Command + " " + r.sum.Algo
	}
	if out.Listing != p.stored.Listing || out.NoEPSV != p.stored.NoEPSV || p.stored.Runs >= profileRelearnRuns {
		out.Runs = 0 // learned afresh
	}
	return out, !profileEqual(out, p.stored)
}

func profileEqual(a, b state.Profile) bool {
	return a.Listing == b.Listing && a.NoEPSV == b.NoEPSV && a.PASVElsewhere == b.PASVElsewhere && a.Pipelined == b.Pipelined &&
		a.Active == b.Active && a.PassiveCost == b.PassiveCost && a.ActiveCost == b.ActiveCost && a.RTT == b.RTT &&
		a.ActiveTested.Equal(b.ActiveTested) && a.Checksum == b.Checksum && a.Runs == b.Runs &&
		slices.Equal(a.Features, b.Features)
}

// probeActive tests, for mode auto, whether active mode works and is
// faster, on the connection c of the first worker to start, before its
// first task (the others work meanwhile): it
// lists the root three times in passive mode and three times in active
// mode, waiting at most activeProbeTimeout for the server's data
// connection, and compares the faster of the last two in each; three
// NOOPs in between measure the round trip (activeFaster). It returns c, or nil where c broke (the
// worker dials again).
func (r *runner) probeActive(ctx context.Context, c *ftpcore.Conn) *ftpcore.Conn {
	p := &r.srv.profileFacts
	if c == nil || !p.probe.CompareAndSwap(true, false) {
		return c
	}
	timed := func(active bool, limit time.Duration) (time.Duration, error) {
		c.SetActive(active)
		lctx, cancel := context.WithTimeout(ctx, limit)
		defer cancel()
		start := time.Now()
		_, err := c.ListLines(lctx, "LIST", r.remoteRoot)
		var le *ftpcore.ListError
		if errors.As(err, &le) {
			err = nil
		}
		return time.Since(start), err
	}
	limit := r.opts.FTP.Timeout
	if limit <= 0 {
		limit = ftpcore.DefaultTimeout
	}
	// In each mode a first listing readies the connection (pipelining,
	// a first listener), then the faster of two counts.
	sample := func(active bool, limit time.Duration) (time.Duration, error) {
		best := time.Duration(0)
		for i := range 3 {
			d, err := timed(active, limit)
			if err != nil {
				return 0, err
			}
			if i == 1 || (i == 2 && d < best) {
				best = d
			}
		}
		return best, nil
	}
	passive, err := sample(false, limit)
	var rtt time.Duration
	for i := 0; i < 3 && err == nil; i++ {
		start := time.Now()
		if err = c.Noop(ctx); err == nil && (i == 0 || time.Since(start) < rtt) {
			rtt = time.Since(start)
		}
	}
	if err != nil {
		r.log.Info("mode auto: could not test active mode (a passive listing or a NOOP failed); next run tries again", "err", err)
		return r.keepOrDrop(c)
	}
	active, err := sample(true, activeProbeTimeout)
	c.SetActive(false)
	if ctx.Err() != nil {
		return r.keepOrDrop(c)
	}
	p.mu.Lock()
	p.tested, p.passive, p.actCost, p.rtt = r.now, passive, active, rtt
	if err != nil {
		p.activeOK, p.actCost = state.ActiveFails, 0
	} else {
		p.activeOK = state.ActiveWorks
	}
	p.mu.Unlock()
	switch {
	case err != nil:
		r.log.Info("mode auto: active mode fails, passive from now on", "err", err)
	case activeFaster(passive, active, rtt):
		// From the next transfer of each connection on (followMode).
		p.active.Store(true)
		r.log.Info("mode auto: active mode works and is faster: active from now on", "passive", passive, "active", active, "rtt", rtt)
	case rtt < activeMinRTT:
		r.log.Info("mode auto: active mode works, but the round trip it would save is too short to matter: passive",
			"rtt", rtt, "passive", passive, "active", active)
	default:
		r.log.Info("mode auto: active mode works but is not faster: passive", "passive", passive, "active", active, "rtt", rtt)
	}
	return r.keepOrDrop(c)
}

// followMode puts c, a worker's connection about to send its next
// transfer (queued or pipelined behind the one ending), in the run's mode where mode auto changed it since c was dialled: active
// after a test that found it faster (probeActive), passive after a
// connect-back that never came (activeFailed).
func (r *runner) followMode(c *ftpcore.Conn) {
	if r.opts.ActiveAuto && c != nil {
		c.SetActive(r.srv.active.Load())
	}
}

// keepOrDrop returns c, or nil after dropping it if it broke.
func (r *runner) keepOrDrop(c *ftpcore.Conn) *ftpcore.Conn {
	if c.Err() != nil {
		r.drop(&c)
	}
	return c
}

// noConnectBack handles a task that failed in mode auto because the
// server's active data connection never came: the run goes passive for
// every connection from now on, remembers that active mode fails, and
// queues the task again at once without counting an attempt. It reports
// whether it took the task.
func (r *runner) noConnectBack(ctx context.Context, t *task, err error) bool {
	if !r.activeFailed(ctx, err) {
		return false
	}
	r.q.requeue(t)
	return true
}

// activeFailed reports whether err is an active data connection that
// never came in mode auto; the first one makes the run passive from
// then on and is remembered.
func (r *runner) activeFailed(ctx context.Context, err error) bool {
	if !r.opts.ActiveAuto || !errors.Is(err, ftpcore.ErrNoConnectBack) || ctx.Err() != nil {
		return false
	}
	p := &r.srv.profileFacts
	if p.active.Swap(false) {
		r.log.Warn("mode auto: the server's active data connection never came; passive from now on", "err", err)
		p.mu.Lock()
		p.activeOK, p.tested, p.actCost = state.ActiveFails, r.now, 0
		p.mu.Unlock()
	}
	return true
}
