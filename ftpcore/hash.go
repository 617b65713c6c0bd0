package ftpcore

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Checksum commands: HASH (draft-bryan-ftpext-hash-02) and the older
// X commands (XSHA256, XSHA1, XMD5, XCRC) of proftpd's mod_digest, IIS,
// Serv-U and others.

// Hash algorithms, by the names HASH uses (the IANA hash function
// textual names).
const (
	HashSHA256 = "SHA-256"
	HashSHA1   = "SHA-1"
	HashMD5    = "MD5"
	HashCRC32  = "CRC32"
)

// ChecksumCommands are the checksum commands a server may offer, the
// way FEAT names them.
var ChecksumCommands = []string{"HASH", "XSHA256", "XSHA1", "XMD5", "XCRC"}

// Checksum says how to ask the server for a file's digest: Command is
// HASH or an X command, Algo the algorithm it gives.
type Checksum struct {
	Command string // "HASH", "XSHA256", "XSHA1", "XMD5" or "XCRC"
	Algo    string // HashSHA256, HashSHA1, HashMD5 or HashCRC32
}

// Digest is a server's answer to a checksum command.
type Digest struct {
	Algo string
	// Start and End are the byte range HASH says it covered; both -1
	// for an X command, which does not say.
	Start, End int64
	Sum        []byte
}

// checksumChoices are the commands in order of preference: the
// strongest algorithm first, HASH before the X command of the same one.
var checksumChoices = []Checksum{
	{"HASH", HashSHA256}, {"XSHA256", HashSHA256},
	{"HASH", HashSHA1}, {"XSHA1", HashSHA1},
	{"HASH", HashMD5}, {"XMD5", HashMD5},
	{"HASH", HashCRC32}, {"XCRC", HashCRC32},
}

// sumLen is the length in bytes of each algorithm's digest.
var sumLen = map[string]int{HashSHA256: 32, HashSHA1: 20, HashMD5: 16, HashCRC32: 4}

// PickChecksum returns the best checksum command the server's FEAT
// offers, and false when it offers none. HASH's FEAT line lists its
// algorithms ("HASH SHA-1;SHA-256*;MD5", * marking the one in use); an
// X command is offered by its name alone.
func (c *Conn) PickChecksum() (Checksum, bool) {
	hashAlgos := map[string]bool{}
	if params, ok := c.features["HASH"]; ok {
		for _, a := range strings.Split(params, ";") {
			hashAlgos[strings.ToUpper(strings.TrimSuffix(strings.TrimSpace(a), "*"))] = true
		}
	}
	for _, cs := range checksumChoices {
		if cs.Command == "HASH" && hashAlgos[cs.Algo] {
			return cs, true
		}
		if _, ok := c.features[cs.Command]; ok && cs.Command != "HASH" {
			return cs, true
		}
	}
	return Checksum{}, false
}

// SelectHash makes algo the algorithm of this connection's later HASH
// commands (OPTS HASH), unless FEAT already marks it the one in use.
func (c *Conn) SelectHash(ctx context.Context, algo string) error {
	for _, a := range strings.Split(c.features["HASH"], ";") {
		if strings.EqualFold(strings.TrimSpace(a), algo+"*") {
			return nil
		}
	}
	_, _, err := c.cmd(ctx, 200, "OPTS HASH %s", algo)
	return err
}

// Checksum asks for the digest of the file at path with cs, in one
// command. For HASH, the connection's algorithm must be cs.Algo
// (SelectHash).
func (c *Conn) Checksum(ctx context.Context, cs Checksum, path string) (Digest, error) {
	_, msg, err := c.cmd(ctx, 2, "%s %s", cs.Command, path)
	if err != nil {
		return Digest{}, err
	}
	return checksumDigest(cs, path, msg)
}

// checksumDigest turns a checksum command's 2xx reply into a Digest.
func checksumDigest(cs Checksum, path, msg string) (Digest, error) {
	d, err := parseChecksum(cs, msg)
	if err != nil {
		return Digest{}, fmt.Errorf("%s %s: %w", cs.Command, path, err)
	}
	return d, nil
}

// parseChecksum reads the reply of a checksum command, without its
// code. Servers that take long to compute send lines before the answer
// (proftpd 1.3.8: "213-Computing SHA-256 digest", "213-Computing..."),
// so only the last line counts.
//
// HASH answers "ALGO START-END HEX PATH" (213 SHA-256 0-4 9f86...08 /a.txt);
// an X command answers with the hex digest first ("250 9F86...08" from
// proftpd; "213 <hex>" or "200 <hex> <path>" elsewhere). Hex digits may
// be of either case; a CRC32 may lack its leading zeros.
func parseChecksum(cs Checksum, msg string) (Digest, error) {
	want, ok := sumLen[cs.Algo]
	if !ok {
		return Digest{}, fmt.Errorf("unknown hash algorithm %q", cs.Algo)
	}
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:]
	}
	fields := strings.Fields(msg)
	d := Digest{Algo: cs.Algo, Start: -1, End: -1}
	sumField := 0
	if cs.Command == "HASH" {
		if len(fields) < 3 {
			return Digest{}, fmt.Errorf("%w: HASH reply %q: want ALGO START-END DIGEST", ErrProtocol, msg)
		}
		if !strings.EqualFold(fields[0], cs.Algo) {
			return Digest{}, fmt.Errorf("%w: HASH reply %q: algorithm %q, asked for %s", ErrProtocol, msg, fields[0], cs.Algo)
		}
		var err error
		if d.Start, d.End, err = parseRange(fields[1]); err != nil {
			return Digest{}, fmt.Errorf("%w: HASH reply %q: %w", ErrProtocol, msg, err)
		}
		sumField = 2
	}
	if len(fields) <= sumField {
		return Digest{}, fmt.Errorf("%w: %s reply %q: no digest", ErrProtocol, cs.Command, msg)
	}
	s := fields[sumField]
	if cs.Algo == HashCRC32 && len(s) < 2*want {
		s = strings.Repeat("0", 2*want-len(s)) + s
	}
	sum, err := hex.DecodeString(s)
	if err != nil || len(sum) != want {
		return Digest{}, fmt.Errorf("%w: %s reply %q: %q is not a %s digest", ErrProtocol, cs.Command, msg, fields[sumField], cs.Algo)
	}
	d.Sum = sum
	return d, nil
}

// parseRange parses HASH's "START-END" byte range.
func parseRange(s string) (int64, int64, error) {
	a, b, ok := strings.Cut(s, "-")
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || !allDigits(a) || !allDigits(b) || start > end {
		return 0, 0, fmt.Errorf("bad byte range %q", s)
	}
	return start, end, nil
}
