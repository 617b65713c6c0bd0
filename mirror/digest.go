package mirror

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"

	"github.com/ftpmirror/ftpmirror/ftpcore"
)

// Verified transfers: where the server offers a checksum command (HASH,
// XSHA256, XSHA1, XMD5, XCRC), it goes out with each RETR, before it and
// in the same write on a pipelining connection, so that it costs no
// round trip of its own; its answer is compared with the digest of the
// bytes as they arrive. Independently, every file written gets the
// SHA-256 of its bytes in its state record (state.Record.Digest), for
// `ftpmirror verify`.

// VerifyMode says whether fetched files are checked against the
// server's digest.
type VerifyMode uint8

const (
	// VerifyAuto checks where the server offers a checksum command and
	// commands are pipelined (the check then costs no round trip per
	// file, only the server's reading of the file).
	VerifyAuto VerifyMode = iota
	// VerifyOn checks wherever the server offers a checksum command,
	// pipelined or not; a server that offers none fails the run.
	VerifyOn
	// VerifyOff never asks the server.
	VerifyOff
)

// ParseVerifyMode parses "auto", "on" or "off".
func ParseVerifyMode(s string) (VerifyMode, error) {
	switch s {
	case "", "auto":
		return VerifyAuto, nil
	case "on":
		return VerifyOn, nil
	case "off":
		return VerifyOff, nil
	}
	return 0, errors.New("verify: want auto, on or off, not " + s)
}

func (m VerifyMode) String() string {
	switch m {
	case VerifyOn:
		return "on"
	case VerifyOff:
		return "off"
	default:
		return "auto"
	}
}

// ErrDigestMismatch: a fetched file's bytes do not have the digest the
// server gave for it, twice.
var ErrDigestMismatch = errors.New("digest mismatch")

// chooseChecksum decides, on the run's first connection, which checksum
// command goes with each RETR (r.sum), if any.
func (r *runner) chooseChecksum(c *ftpcore.Conn) error {
	mode := r.opts.Verify
	cs, offered := c.PickChecksum()
	switch {
	case mode == VerifyOff:
		return nil
	case !offered && mode == VerifyOn:
		return fmt.Errorf("%w: verify is on, but the server offers no checksum command (FEAT lists none of %v)", ErrNotStarted, ftpcore.ChecksumCommands)
	case !offered:
		r.log.Debug("no verified transfers: the server offers no checksum command")
		return nil
	case mode == VerifyAuto && r.ftpConfig().DisablePipelining:
		r.log.Info("no verified transfers: without pipelining, the checksum would cost a round trip per file (verify=on asks all the same)", "checksum", cs.Command+" "+cs.Algo)
		return nil
	}
	r.sum = &cs
	r.log.Info("verified transfers", "checksum", cs.Command+" "+cs.Algo)
	return nil
}

// selectChecksum readies a new connection for the run's checksum
// command: HASH needs its algorithm chosen once per connection. A
// refusal is logged, and the digests that connection gets are not of
// the algorithm asked, so they are not used.
func (r *runner) selectChecksum(ctx context.Context, c *ftpcore.Conn) error {
	if r.sum == nil || r.sum.Command != "HASH" {
		return nil
	}
	err := c.SelectHash(ctx, r.sum.Algo)
	var fe *ftpcore.Error
	if errors.As(err, &fe) {
		r.log.Warn("OPTS HASH refused: this connection's files are not verified", "err", err)
		return nil
	}
	return err
}

// retrOptions are the extras asked with the RETR of a fetch.
func (r *runner) retrOptions(modTime bool) ftpcore.RetrOptions {
	return ftpcore.RetrOptions{ModTime: modTime, Checksum: r.sum}
}

// digester computes the digests of a download as its bytes are written:
// always the SHA-256 that the state keeps, and the server's algorithm
// when the server gave a digest.
type digester struct {
	local  hash.Hash
	remote hash.Hash        // the server's algorithm, unless SHA-256 or none
	want   ftpcore.Digest   // the server's; no Sum: nothing to compare with
	werr   error            // why there is no server digest, if asked
	sumOf  ftpcore.Checksum // what was asked
	w      io.Writer        // writes to both
}

// newDigester starts the digests of a download for which the server
// gave want, or werr (see ftpcore.Transfer.Digest; a zero want when
// nothing was asked).
func (r *runner) newDigester(want ftpcore.Digest, werr error) *digester {
	dg := &digester{local: sha256.New(), want: want, werr: werr}
	dg.w = dg.local
	if r.sum == nil || werr != nil || want.Sum == nil {
		return dg
	}
	dg.sumOf = *r.sum
	if want.Algo != ftpcore.HashSHA256 { // else the local one serves
		dg.remote = newHash(want.Algo)
		dg.w = io.MultiWriter(dg.local, dg.remote)
	}
	return dg
}

// newHash returns a hash of a checksum algorithm.
func newHash(algo string) hash.Hash {
	switch algo {
	case ftpcore.HashSHA1:
		return sha1.New()
	case ftpcore.HashMD5:
		return md5.New()
	case ftpcore.HashCRC32:
		return crc32.NewIEEE()
	}
	return sha256.New()
}

// prefix feeds the first n bytes of f into the digests: what a resumed
// download had already (the one read a resumed download costs), or a
// whole file fetched in segments, whose bytes came out of order (no
// digest combines per segment: read back at commit).
func (dg *digester) prefix(f *os.File, n int64) error {
	if n <= 0 {
		return nil
	}
	if _, err := io.Copy(dg.w, io.NewSectionReader(f, 0, n)); err != nil {
		return fmt.Errorf("reading the bytes fetched before: %w", err)
	}
	return nil
}

// sum is the SHA-256 of the bytes so far.
func (dg *digester) sum() []byte { return dg.local.Sum(nil) }

// check compares the file of size bytes with the server's digest. It
// returns whether the server's digest confirmed it (false when there
// was none to compare with), and an error wrapping ErrDigestMismatch
// when the two differ.
func (dg *digester) check(size int64) (bool, error) {
	if dg.werr != nil || dg.want.Sum == nil {
		return false, nil
	}
	h := dg.remote
	if h == nil {
		h = dg.local
	}
	got := h.Sum(nil)
	d := dg.want
	switch {
	case d.Start > 0 || (d.End >= 0 && d.End != size):
		return false, fmt.Errorf("%w: %s covered bytes %d-%d of a file of %d", ErrDigestMismatch, dg.sumOf.Command, d.Start, d.End, size)
	case !bytes.Equal(got, d.Sum):
		return false, fmt.Errorf("%w: %s %s says %s, the bytes fetched have %s", ErrDigestMismatch,
			dg.sumOf.Command, d.Algo, hex.EncodeToString(d.Sum), hex.EncodeToString(got))
	}
	return true, nil
}

// digestFailed handles a fetch whose bytes did not have the server's
// digest: the temporary file goes (the old copy stays), and the file is
// fetched again from the start, once; the second mismatch fails it.
func (r *runner) digestFailed(t *task, err error) error {
	if t.refetched {
		return permanent(err)
	}
	r.log.Warn("digest mismatch: fetching again", "path", "/"+t.rel, "err", err)
	r.q.push(&task{kind: taskFetch, rel: t.rel, entry: t.entry, verb: VerbFetch, dec: t.dec, links: t.links, refetched: true})
	return nil
}
