package mirror

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/state"
)

// serverFacts is what runs learn about a server's quirks, kept in the
// state (state.Server) so that the next run starts with them: one run
// pays for finding out, not every run.
type serverFacts struct {
	key    string       // state.ServerKey
	known  state.Server // as loaded
	noPipe atomic.Bool  // pipelined replies come out of order
	noREST atomic.Bool  // REST refused

	profileFacts // the rest of the profile (profile.go)
}

// loadServer reads what earlier runs learned about the server.
func (r *runner) loadServer() error {
	user := r.opts.User
	if user == "" {
		user = "anonymous"
	}
	r.srv.key = state.ServerKey(r.opts.Addr, user)
	if r.opts.State == nil { // a dry run without a state yet
		return nil
	}
	rec, ok, err := r.opts.State.Server(r.srv.key)
	if err != nil {
		return err
	}
	r.loadProfile(rec.Profile) // an empty one for a server never met
	if !ok {
		return nil
	}
	r.srv.known = rec
	r.srv.noPipe.Store(rec.NoPipelining)
	r.srv.noREST.Store(rec.NoREST)
	r.clk.load(rec)
	if off, ok := r.clk.get(); ok {
		r.log.Debug("server clock offset known", "offset", off, "learned", rec.ClockLearned)
	}
	if rec.NoPipelining {
		r.log.Info("server known to answer pipelined commands out of order: one command at a time")
	}
	if rec.NoREST {
		r.log.Info("server known to refuse REST: no segments, no resume")
	}
	return nil
}

// saveServer records what this run learned, if anything. A dry run
// (which has no r.w.store) records nothing.
func (r *runner) saveServer() error {
	rec := state.Server{NoPipelining: r.srv.noPipe.Load(), NoREST: r.srv.noREST.Load(), Updated: r.now}
	rec, widthChanged := r.width.learned(rec)
	var profileChanged bool
	rec.Profile, profileChanged = r.learnedProfile()
	rec, clockChanged := r.clockLearned(rec)
	if r.w == nil || (rec.NoPipelining == r.srv.known.NoPipelining && rec.NoREST == r.srv.known.NoREST && !widthChanged && !profileChanged && !clockChanged) {
		return nil
	}
	return r.opts.State.PutServer(r.srv.key, rec)
}

// ftpConfig returns the configuration of a new connection: the options',
// with pipelining off once the server was found to answer out of order.
func (r *runner) ftpConfig() ftpcore.Config {
	cfg := r.opts.FTP
	if r.srv.noPipe.Load() {
		cfg.DisablePipelining = true
	}
	r.profileConfig(&cfg)
	return cfg
}

// outOfOrder handles a task that failed because the server answered
// pipelined commands out of order (ftpcore.ErrOutOfOrder): pipelining goes
// off for every connection made from now on, and the task is queued again
// at once, without counting as a failed attempt. Its connection broke and
// is replaced. It reports whether it took the task; a task gets this
// once.
func (r *runner) outOfOrder(ctx context.Context, t *task, err error) bool {
	if !errors.Is(err, ftpcore.ErrOutOfOrder) || t.reordered || ctx.Err() != nil {
		return false
	}
	t.reordered = true
	if !r.srv.noPipe.Swap(true) {
		r.log.Warn("server answers pipelined commands out of order; sending one command at a time", "err", err)
	}
	r.q.requeue(t)
	return true
}
