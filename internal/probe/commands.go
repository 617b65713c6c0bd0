package probe

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/ftpmirror/ftpmirror/ftpcore"
)

// maxChecksumSize bounds the file a checksum command is tried on: the
// server reads all of it.
const maxChecksumSize = 64 << 20

// restTail is how many bytes from the end of a file the REST probe
// fetches.
const restTail = 1024

// sampleFile returns the smallest file of at least two bytes seen in a
// listing, or false.
func (r *prober) sampleFile() (file, bool) {
	var best file
	found := false
	for _, f := range r.files {
		if f.entry.Size >= 2 && (!found || f.entry.Size < best.entry.Size) {
			best, found = f, true
		}
	}
	return best, found
}

// rest downloads the end of a file from an offset (REST STREAM) and
// checks that exactly the rest came.
func (r *prober) rest(ctx context.Context) {
	feat := ""
	if params, ok := r.featureParams("REST"); ok {
		feat = "FEAT: REST " + params
	}
	f, ok := r.sampleFile()
	if !ok {
		r.p.Rest = unknown(join("no file of two bytes or more to try it on", feat))
		return
	}
	c, err := r.conn(ctx)
	if err != nil {
		r.p.Rest = unknown(err.Error())
		return
	}
	offset := max(1, f.entry.Size-restTail)
	want := f.entry.Size - offset
	t, err := c.Retr(ctx, f.path(), offset)
	if err != nil {
		r.p.Rest = no(err.Error())
		return
	}
	n, rerr := io.Copy(io.Discard, io.LimitReader(t, want+1))
	cerr := t.Close()
	switch {
	case rerr != nil:
		r.p.Rest = no(rerr.Error())
	case n != want:
		r.p.Rest = no(fmt.Sprintf("RETR %s from %d sent %d bytes, want %d", f.path(), offset, n, want))
	case cerr != nil:
		r.p.Rest = no(cerr.Error())
	default:
		r.p.Rest = yes(join(fmt.Sprintf("RETR %s from %d sent the last %d bytes", f.path(), offset, n), feat))
	}
}

// checksums notes which checksum commands FEAT offers and tries each
// on a small file.
func (r *prober) checksums(ctx context.Context) {
	f, ok := r.sampleFile()
	for _, cmd := range ftpcore.ChecksumCommands {
		_, offered := r.featureParams(cmd)
		cs := Checksum{Command: cmd, Offered: offered}
		c, err := r.conn(ctx)
		switch {
		case !ok:
			cs.Check = unknown("no file to try it on")
		case f.entry.Size > maxChecksumSize:
			cs.Check = unknown("no file small enough to try it on")
		case err != nil:
			cs.Check = unknown(err.Error())
		default:
			cs.Check = replyCheck(c.Quote(ctx, cmd+" "+f.path()))
			if cs.Check.Result == Yes && !strings.HasPrefix(cs.Check.Detail, "2") {
				cs.Check.Result = No
			}
		}
		r.p.Checksums = append(r.p.Checksums, cs)
	}
}

// featureParams returns the parameters of a FEAT line.
func (r *prober) featureParams(name string) (string, bool) {
	for _, f := range r.p.Features {
		if f.Name == name {
			return f.Params, true
		}
	}
	return "", false
}

func join(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + "; " + b
}

// hostIP is the IP of a TCP address, or nil.
func hostIP(a net.Addr) net.IP {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP
	}
	return nil
}
