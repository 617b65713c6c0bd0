package ftpcore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// maxListLine bounds one line of a listing: a name of up to 1024 bytes
// plus facts or an ls -l prefix fits many times over.
const maxListLine = 16 << 10

// ListError is a listing line that no parser understood, or that named
// something that is not a single path component. The whole listing
// fails: a listing silently shorter than the directory would make a
// mirror delete files.
type ListError struct {
	Cmd  string // "MLSD", "LIST" or "NLST"
	Dir  string
	Line string
	Err  error
}

func (e *ListError) Error() string {
	return fmt.Sprintf("%s %s: %v in line %q", e.Cmd, e.Dir, e.Err, e.Line)
}

func (e *ListError) Unwrap() error { return e.Err }

// List returns the entries of directory dir, without "." and "..". It
// uses MLSD where the server offers it (exact times in UTC), and LIST
// otherwise (times at the precision the format gives, in
// Config.Location).
func (c *Conn) List(ctx context.Context, dir string) ([]Entry, error) {
	if c.mlsd && !c.cfg.DisableMLSD {
		return c.ListMLSD(ctx, dir)
	}
	return c.ListLIST(ctx, dir)
}

// ListMLSD lists dir with MLSD (RFC 3659 7).
func (c *Conn) ListMLSD(ctx context.Context, dir string) ([]Entry, error) {
	return c.list(ctx, "MLSD", dir, func(line string, _ time.Time) (Entry, error) {
		return parseMLSDLine(line)
	})
}

// ListLIST lists dir with LIST. vsftpd and proftpd leave dot files out
// of a plain LIST, so it asks for "LIST -a" first and remembers whether
// the server took "-a" as an option: a server that reads it as a file
// name answers 450/550 or an empty listing, and then the plain LIST is
// used on this connection from then on.
func (c *Conn) ListLIST(ctx context.Context, dir string) ([]Entry, error) {
	if c.listA != listARefused {
		entries, err := c.list(ctx, "LIST -a", dir, c.parseLIST)
		var fe *Error
		switch {
		case err == nil && (len(entries) > 0 || c.listA == listAWorks):
			c.listA = listAWorks
			return entries, nil
		case err == nil, errors.As(err, &fe) && fe.Code/100 >= 4 && fe.Code != 421:
			plain, perr := c.list(ctx, "LIST", dir, c.parseLIST)
			if perr == nil && len(plain) > 0 {
				c.listA = listARefused
			}
			return plain, perr
		default:
			return nil, err
		}
	}
	return c.list(ctx, "LIST", dir, c.parseLIST)
}

func (c *Conn) parseLIST(line string, now time.Time) (Entry, error) {
	return parseListLine(line, now, c.cfg.Location)
}

// NameList lists the names in dir with NLST, the last resort for servers
// whose LIST format is unknown. Names that come back as paths are cut to
// their last element.
func (c *Conn) NameList(ctx context.Context, dir string) ([]string, error) {
	entries, err := c.list(ctx, "NLST", dir, func(line string, _ time.Time) (Entry, error) {
		name := line
		if i := strings.LastIndexByte(name, '/'); i >= 0 {
			name = name[i+1:]
		}
		if name == "." || name == ".." {
			return Entry{}, errSkipLine
		}
		if !validName(name) {
			return Entry{}, fmt.Errorf("%w: bad name", ErrProtocol)
		}
		return Entry{Name: name, Size: -1}, nil
	})
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name
	}
	return names, err
}

// list runs one listing command and parses its lines, within
// Config.MaxListBytes and maxListLine.
func (c *Conn) list(ctx context.Context, cmd, dir string, parse func(string, time.Time) (Entry, error)) (entries []Entry, err error) {
	verb, _, _ := strings.Cut(cmd, " ")
	var t *Transfer
	if dir == "" {
		t, err = c.transfer(ctx, 0, "%s", cmd)
	} else {
		t, err = c.transfer(ctx, 0, "%s %s", cmd, dir)
	}
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := t.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("%s %s: %w", verb, dir, cerr)
		}
	}()
	now := c.cfg.Now()
	lr := &io.LimitedReader{R: t, N: c.cfg.MaxListBytes + 1}
	br := bufio.NewReaderSize(lr, 64<<10)
	for {
		line, rerr := readLine(br)
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if lr.N <= 0 {
				return nil, fmt.Errorf("%s %s: %w: listing longer than %d bytes", verb, dir, ErrProtocol, c.cfg.MaxListBytes)
			}
			return nil, fmt.Errorf("%s %s: %w", verb, dir, rerr)
		}
		if line == "" {
			continue
		}
		e, perr := parse(line, now)
		switch {
		case perr == nil:
			entries = append(entries, e)
		case errors.Is(perr, errSkipLine):
		default:
			return nil, &ListError{Cmd: verb, Dir: dir, Line: line, Err: perr}
		}
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("%s %s: %w: listing longer than %d bytes", verb, dir, ErrProtocol, c.cfg.MaxListBytes)
	}
	return entries, nil
}

// readLine reads one line of at most maxListLine bytes, without its
// line ending (LF or CR LF). A last line without a line ending counts.
func readLine(br *bufio.Reader) (string, error) {
	var buf []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(buf)+len(frag) > maxListLine+2 {
			return "", fmt.Errorf("%w: listing line longer than %d bytes", ErrProtocol, maxListLine)
		}
		buf = append(buf, frag...)
		switch err {
		case nil:
			buf = buf[:len(buf)-1]
			if n := len(buf); n > 0 && buf[n-1] == '\r' {
				buf = buf[:n-1]
			}
			return string(buf), nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if len(buf) > 0 {
				return string(buf), nil
			}
			return "", io.EOF
		default:
			return "", err
		}
	}
}
