package ftpcore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// maxListLine bounds one line of a listing: a name of up to 1024 bytes
// plus facts or an ls -l prefix fits many times over.
const maxListLine = 16 << 10

// List returns the entries of directory dir, without "." and "..". It
// uses MLSD where the server offers it (exact times in UTC), and LIST
// otherwise (times at the precision the format gives, in
// Config.Location).
//
// An absolute dir is never sent as the listing command's argument: GNU
// inetutils ftpd and the BSD ftpds hand that argument to ls, which
// expands "*", "?" and "[...]" and splits it at spaces, so that listing
// "/tree/[x]" lists "/tree/x". List changes into dir (CWD, which no
// server globs) and lists "." instead; the CWD goes out in the same
// write as the listing where the connection pipelines, so it costs no
// round trip. A CWD that fails returns its *Error (a 550 for a missing
// or unreadable directory), and a CWD that works proves that the
// directory exists: vsftpd answers the LIST of a missing directory with
// an empty listing and 226. A relative dir (servers whose PWD is not a
// Unix path) and "" (the current directory) are listed as before, by
// argument.
//
// Without MLSD it first tries "STAT -a .", which lists over the control
// connection in one round trip instead of a data connection's three
// (vsftpd, pure-ftpd, proftpd and inetutils ftpd all do it). A STAT
// listing counts only if it shows the directory's own "." entry: a
// missing or unreadable directory lists as nothing there, never as an
// empty directory. A server whose STAT does not list is asked with LIST
// from then on.
//
// Lines that give no entry do not fail the listing: List returns the
// other lines' entries along with a *ListError that quotes them.
func (c *Conn) List(ctx context.Context, dir string) ([]Entry, error) {
	if c.mlsd && !c.cfg.DisableMLSD {
		return c.ListMLSD(ctx, dir)
	}
	if c.stat != listARefused && !c.cfg.DisableSTAT && dir != "" && c.listA != listARefused {
		entries, err := c.ListSTAT(ctx, dir)
		var le *ListError
		switch {
		case err == nil, errors.As(err, &le):
			c.stat = listAWorks
			return entries, err
		case errors.Is(err, errSTATNoListing) && c.stat == listAAssumed:
			return c.listInstead(ctx, dir)
		case errors.Is(err, errSTATNoListing) && c.stat == listAUnknown:
			c.stat = listARefused
		case errors.Is(err, errSTATNoListing):
			return nil, fmt.Errorf("STAT %s: %w", dir, ErrNotListed)
		case !isReply(err):
			return nil, err
		}
	}
	return c.ListLIST(ctx, dir)
}

// listInstead lists dir with LIST where STAT, assumed to list
// (Config.Listing), gave no listing of it. Entries mean that STAT does
// not list on this server any more: LIST is used from now on. An empty
// listing proves nothing (vsftpd lists an unreadable directory as
// empty), and the directory counts as not listed.
func (c *Conn) listInstead(ctx context.Context, dir string) ([]Entry, error) {
	entries, err := c.ListLIST(ctx, dir)
	var le *ListError
	switch {
	case err == nil && len(entries) == 0:
		return nil, fmt.Errorf("STAT %s: %w", dir, ErrNotListed)
	case err == nil, errors.As(err, &le):
		c.stat = listARefused
	}
	return entries, err
}

// ErrNotListed: a server whose STAT lists directories, with their "."
// entry, listed nothing for this one: it is gone or unreadable. (A LIST
// would not tell: vsftpd answers the LIST of a missing directory with an
// empty listing.)
var ErrNotListed = errors.New("directory missing or unreadable")

// errSTATNoListing: a STAT reply that is not a directory listing.
var errSTATNoListing = errors.New("STAT gave no listing")

// ListSTAT lists dir with "CWD dir" and "STAT -a ." on the control
// connection (see List for why not "STAT -a dir"). A NOOP goes in the
// same write; its reply must come right after STAT's, which proves that
// no name in the listing ended the reply early.
func (c *Conn) ListSTAT(ctx context.Context, dir string) ([]Entry, error) {
	lines := statLines(dir)
	if !c.cfg.DisablePipelining {
		if err := c.send(ctx, lines...); err != nil {
			return nil, err
		}
		return c.readSTAT(ctx, dir, nil)
	}
	// One command at a time: CWD, STAT, then NOOP.
	if cwd, _ := listDir(dir); cwd != "" {
		if err := c.Cwd(ctx, cwd); err != nil {
			return nil, err
		}
		lines = lines[1:]
	}
	if err := c.send(ctx, lines[0]); err != nil {
		return nil, err
	}
	return c.readSTAT(ctx, dir, func() error { return c.send(ctx, "NOOP") })
}

// listDir says how to list dir: by changing into it (cwd) and listing
// the current directory, or, for "" and relative paths, by naming it in
// the listing command (arg).
func listDir(dir string) (cwd, arg string) {
	if strings.HasPrefix(dir, "/") {
		return dir, ""
	}
	return "", dir
}

// statLines returns the commands that list dir with STAT: CWD dir, STAT
// -a . and the NOOP that marks the end of STAT's reply.
func statLines(dir string) []string {
	cwd, arg := listDir(dir)
	if arg == "" {
		arg = "."
	}
	lines := []string{"STAT -a " + arg, "NOOP"}
	if cwd != "" {
		lines = append([]string{"CWD " + cwd}, lines...)
	}
	return lines
}

// ListMany lists several directories, like List for each. Where STAT
// lists on this connection (a first STAT listing worked), all the STAT
// commands go out in one write: one round trip for the lot. Where MLSD
// lists, pipelined, each listing's commands go out as soon as the data
// of the one before has ended (ChainsListings).
func (c *Conn) ListMany(ctx context.Context, dirs []string) ([][]Entry, []error) {
	entries := make([][]Entry, len(dirs))
	errs := make([]error, len(dirs))
	batch := c.BatchesListings() && len(dirs) > 1
	if batch {
		var lines []string
		for _, d := range dirs {
			lines = append(lines, statLines(d)...)
		}
		if err := c.send(ctx, lines...); err != nil {
			for i := range errs {
				errs[i] = err
			}
			return entries, errs
		}
		var retry []int
		for i, d := range dirs {
			if c.broken != nil {
				errs[i] = fmt.Errorf("STAT %s: %w", d, c.errBroken())
				continue
			}
			entries[i], errs[i] = c.readSTAT(ctx, d, nil)
			var le *ListError
			switch {
			case errors.Is(errs[i], errSTATNoListing):
				retry = append(retry, i)
			case errs[i] == nil, errors.As(errs[i], &le):
				c.stat = listAWorks
			}
		}
		if c.stat == listAAssumed {
			// STAT was only assumed to list, and listed none of
			// these: LIST decides (listInstead).
			for _, i := range retry {
				entries[i], errs[i] = c.listInstead(ctx, dirs[i])
			}
			return entries, errs
		}
		for _, i := range retry {
			errs[i] = fmt.Errorf("STAT %s: %w", dirs[i], ErrNotListed)
		}
		return entries, errs
	}
	if c.ChainsListings() && len(dirs) > 1 {
		return c.listChain(ctx, dirs)
	}
	for i, d := range dirs {
		entries[i], errs[i] = c.List(ctx, d)
	}
	return entries, errs
}

// BatchesListings reports whether ListMany lists several directories in
// one round trip on this connection.
func (c *Conn) BatchesListings() bool {
	return (c.stat == listAWorks || c.stat == listAAssumed) && !c.cfg.DisablePipelining && !c.cfg.DisableSTAT &&
		!(c.mlsd && !c.cfg.DisableMLSD)
}

// readSTAT reads the replies of statLines(dir): a refused CWD is
// returned as its *Error once the STAT and NOOP after it are read.
// Without pipelining, the caller sent the CWD and read its reply
// already, and noop sends the NOOP once STAT's reply is in.
func (c *Conn) readSTAT(ctx context.Context, dir string, noop func() error) ([]Entry, error) {
	var cwdErr error
	if cwd, _ := listDir(dir); cwd != "" && noop == nil {
		if _, _, cwdErr = c.read(ctx, "CWD", 250); cwdErr != nil && !isReply(cwdErr) {
			return nil, cwdErr
		}
	}
	l := c.newListing("STAT", dir, c.parseLIST)
	defer l.release()
	dot := false
	notListing := ""
	code, n, err := c.readLong(ctx, "STAT", func(line string) error {
		// proftpd indents each line by one space.
		line = strings.TrimPrefix(line, " ")
		if line == "" || notListing != "" {
			return nil
		}
		e, perr := l.parseLine(line)
		switch {
		case perr == nil:
			return l.addEntry(e)
		case errors.Is(perr, errSkipLine):
			if strings.HasSuffix(line, " .") {
				dot = true
			}
			return nil
		case c.stat == listAUnknown || c.stat == listAAssumed:
			// Maybe not a listing at all: a first STAT decides.
			notListing = line
			return nil
		}
		return l.addBad(line, perr)
	})
	if err != nil {
		return nil, err
	}
	if noop != nil {
		if err := noop(); err != nil {
			return nil, err
		}
	}
	if _, _, err := c.read(ctx, "NOOP", 200); err != nil {
		if isReply(err) {
			// %v: the reply is NOOP's, not one to the caller's
			// command (see errBroken).
			c.broken = fmt.Errorf("%w: STAT reply out of step: %v", ErrProtocol, err)
			c.conn.Close()
			return nil, c.broken
		}
		return nil, err
	}
	if cwdErr != nil {
		return nil, cwdErr
	}
	switch {
	case code/100 != 2 || n < 2:
		return nil, fmt.Errorf("STAT %s: %w (%03d)", dir, errSTATNoListing, code)
	case notListing != "":
		return nil, fmt.Errorf("STAT %s: %w: %q", dir, errSTATNoListing, notListing)
	case !dot:
		return nil, fmt.Errorf("STAT %s: %w: no \".\" entry (missing or unreadable directory?)", dir, errSTATNoListing)
	}
	return l.result()
}

// readLong reads a multi-line reply line by line, within
// Config.MaxListBytes: a STAT listing can be as long as a directory's
// LIST. It hands each line between the first and the last to each,
// without keeping it, and returns the code and the number of lines. An
// error from each ends the reading (the conversation is then out of
// step).
func (c *Conn) readLong(ctx context.Context, verb string, each func(string) error) (int, int, error) {
	code, n := 0, 0
	err := c.io(ctx, func() error {
		c.budget.reset()
		c.budget.maxBytes = int(min(c.cfg.MaxListBytes, 1<<30))
		c.budget.maxLines = 1 << 24
		defer func() {
			c.budget.maxBytes, c.budget.maxLines = c.cfg.MaxReplyBytes, c.cfg.MaxReplyLines
		}()
		quickACK(c.raw)
		first, err := c.text.ReadLine()
		if err != nil {
			return err
		}
		if len(first) < 4 || (first[3] != ' ' && first[3] != '-') {
			return textproto.ProtocolError("malformed reply: " + first)
		}
		code, err = strconv.Atoi(first[:3])
		if err != nil || code < 100 {
			return textproto.ProtocolError("malformed reply: " + first)
		}
		n = 1
		if first[3] == ' ' {
			return nil
		}
		end := first[:3] + " "
		for {
			line, err := c.text.ReadLine()
			if err != nil {
				return err
			}
			if c.budget.exceeded != nil {
				return c.budget.exceeded
			}
			n++
			if strings.HasPrefix(line, end) {
				return nil
			}
			if err := each(line); err != nil {
				return err
			}
		}
	})
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", verb, err)
	}
	c.trace("< ", fmt.Sprintf("%03d (%d lines)", code, n))
	if code == 421 {
		c.broken = &Error{Cmd: verb, Code: code, Msg: "closing control connection"}
		c.conn.Close()
	}
	return code, n, nil
}

// ListMLSD lists dir with CWD dir and MLSD (RFC 3659 7).
func (c *Conn) ListMLSD(ctx context.Context, dir string) ([]Entry, error) {
	return c.listVia(ctx, nil, "MLSD", dir, parseMLSD, nil)
}

func parseMLSD(line string, _ time.Time) (Entry, error) { return parseMLSDLine(line) }

// ChainsListings reports whether ListMany sends each listing's commands
// behind the one before on this connection: MLSD over data connections,
// pipelined. Each listing after the first then saves the round trip that
// servers like proftpd take to send their 226 after the data has ended.
func (c *Conn) ChainsListings() bool {
	return c.mlsd && !c.cfg.DisableMLSD && c.pipelines()
}

// listChain lists dirs with MLSD one after another, sending the commands
// of each listing as soon as the data of the one before has ended,
// before its final reply (Transfer.nextListing). A relative dir is
// listed on its own.
func (c *Conn) listChain(ctx context.Context, dirs []string) ([][]Entry, []error) {
	entries := make([][]Entry, len(dirs))
	errs := make([]error, len(dirs))
	var ahead *Pending
	for i, d := range dirs {
		var sent *Pending
		var next func(*Transfer)
		if i+1 < len(dirs) && strings.HasPrefix(dirs[i+1], "/") {
			next = func(t *Transfer) {
				if p, err := t.nextListing(ctx, "MLSD", dirs[i+1]); err == nil {
					sent = p
				}
			}
		}
		entries[i], errs[i] = c.listVia(ctx, ahead, "MLSD", d, parseMLSD, next)
		ahead = sent
	}
	return entries, errs
}

// ListLIST lists dir with CWD dir and LIST. vsftpd and proftpd leave dot files out
// of a plain LIST, so it asks for "LIST -a" first and remembers whether
// the server took "-a" as an option: a server that reads it as a file
// name answers 450/550 or an empty listing, and then the plain LIST is
// used on this connection from then on.
func (c *Conn) ListLIST(ctx context.Context, dir string) ([]Entry, error) {
	if c.nlst {
		return c.listNLST(ctx, dir)
	}
	if c.listA != listARefused {
		entries, err := c.list(ctx, "LIST -a", dir, c.parseLIST)
		var fe *Error
		var le *ListError
		switch {
		case err == nil && (len(entries) > 0 || c.listA == listAWorks), errors.As(err, &le):
			c.listA = listAWorks
			return entries, err
		case err == nil, errors.As(err, &fe) && fe.Code/100 >= 4 && fe.Code != 421:
			plain, perr := c.list(ctx, "LIST", dir, c.parseLIST)
			if (perr == nil || errors.As(perr, &le)) && len(plain) > 0 {
				c.listA = listARefused
			}
			if notImplemented(perr) {
				c.nlst = true
				return c.listNLST(ctx, dir)
			}
			return plain, perr
		default:
			return nil, err
		}
	}
	entries, err := c.list(ctx, "LIST", dir, c.parseLIST)
	if notImplemented(err) {
		c.nlst = true
		return c.listNLST(ctx, dir)
	}
	return entries, err
}

// notImplemented reports whether err is a server's "no such command".
func notImplemented(err error) bool {
	var fe *Error
	return errors.As(err, &fe) && (fe.Code == 500 || fe.Code == 502)
}

// listNLST is the last resort, for servers without LIST: names from
// NLST, then for each SIZE and MDTM (a file), or a CWD that works (a
// directory). It costs a round trip or two per name.
func (c *Conn) listNLST(ctx context.Context, dir string) ([]Entry, error) {
	names, err := c.nameList(ctx, dir)
	var bad *ListError
	if err != nil && !errors.As(err, &bad) {
		return nil, err
	}
	prefix := strings.TrimSuffix(dir, "/") + "/"
	if dir == "" {
		prefix = ""
	}
	entries := make([]Entry, 0, len(names))
	home := "" // where a CWD probe must come back to
	for _, name := range names {
		p := prefix + name
		e := Entry{Name: name, Size: -1}
		size, err := c.Size(ctx, p)
		switch {
		case err == nil:
			e.Type, e.Size = TypeFile, size
			if t, err := c.ModTime(ctx, p); err == nil {
				e.Time, e.Precision = t, TimeExact
			} else if !isReply(err) && !errors.Is(err, ErrProtocol) {
				return nil, err
			}
		case isReply(err):
			if home == "" {
				if home, err = c.Pwd(ctx); err != nil {
					return nil, err
				}
			}
			if cerr := c.Cwd(ctx, p); cerr == nil {
				e.Type = TypeDir
				if err := c.Cwd(ctx, home); err != nil {
					return nil, err
				}
			} else if isReply(cerr) {
				e.Type = TypeOther
			} else {
				return nil, cerr
			}
		default:
			return nil, err
		}
		entries = append(entries, e)
	}
	if bad != nil {
		return entries, bad
	}
	return entries, nil
}

func (c *Conn) parseLIST(line string, now time.Time) (Entry, error) {
	return parseListLine(line, now, c.cfg.Location)
}

// nameList lists the names in dir with NLST, the last resort for servers
// whose LIST format is unknown. Names that come back as paths are cut to
// their last element. Lines that give no name come back as a *ListError
// along with the names of the others.
func (c *Conn) nameList(ctx context.Context, dir string) ([]string, error) {
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

// ListLines runs one listing command in dir, as List does ("LIST",
// "LIST -a", "MLSD" or "NLST"), and returns its lines as received,
// without line endings and blank lines, within Config.MaxListBytes: the
// raw text, for showing what a server sends. (A VMS name alone on its
// line comes joined with the next line, as the parsers see it.)
func (c *Conn) ListLines(ctx context.Context, cmd, dir string) ([]string, error) {
	switch cmd {
	case "LIST", "LIST -a", "MLSD", "NLST":
	default:
		return nil, fmt.Errorf("ListLines: %q is not a listing command", cmd)
	}
	var lines []string
	_, err := c.list(ctx, cmd, dir, func(line string, _ time.Time) (Entry, error) {
		lines = append(lines, strings.Clone(line))
		return Entry{}, errSkipLine
	})
	var le *ListError
	if err != nil && !errors.As(err, &le) {
		return nil, err
	}
	// A ListError here is a VMS name left without its line: the lines
	// still come back.
	return lines, err
}

// list runs one listing command, in dir (see List), and parses its
// lines, within Config.MaxListBytes and maxListLine, and the listing
// memory budget. Lines that give no entry are returned as a *ListError
// along with the entries of the others.
func (c *Conn) list(ctx context.Context, cmd, dir string, parse func(string, time.Time) (Entry, error)) (entries []Entry, err error) {
	return c.listVia(ctx, nil, cmd, dir, parse, nil)
}

// listVia is list, started from p where its commands went out ahead
// already (nil: it sends them). next, if not nil, is called once the
// data has ended, before the final reply is read: it may send the
// commands of the next transfer (Transfer.nextListing).
func (c *Conn) listVia(ctx context.Context, p *Pending, cmd, dir string, parse func(string, time.Time) (Entry, error), next func(*Transfer)) (entries []Entry, err error) {
	verb, _, _ := strings.Cut(cmd, " ")
	var t *Transfer
	cwd, arg := listDir(dir)
	switch {
	case p != nil:
		t, err = p.Start(ctx)
	case arg == "":
		t, err = c.transfer(ctx, 0, cwd, cmd)
	default:
		t, err = c.transfer(ctx, 0, cwd, cmd+" "+arg)
	}
	if fe := (*Error)(nil); errors.As(err, &fe) && fe.Cmd == "CWD" && fe.Code == 553 && verb == "MLSD" {
		// "553 Prohibited file name": pure-ftpd 1.0.50 will not CWD
		// into a name with a backslash, yet lists it with MLSD, whose
		// argument pure-ftpd, proftpd and pyftpdlib do not glob (seen
		// here: "MLSD star*" lists star*, not start) and which fails
		// for a missing directory.
		t, err = c.transfer(ctx, 0, "", cmd+" "+dir)
	}
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := t.Close(); cerr != nil && (err == nil || entries != nil) {
			entries, err = nil, fmt.Errorf("%s %s: %w", verb, dir, cerr)
		}
	}()
	l := c.newListing(verb, dir, parse)
	defer l.release()
	lr := &io.LimitedReader{R: t, N: c.cfg.MaxListBytes + 1}
	br := bufio.NewReaderSize(lr, 64<<10)
	for {
		line, rerr := readLine(br)
		if rerr == io.EOF {
			break
		}
		if lr.N <= 0 {
			// Too long, whatever the rest: and the line in hand may be
			// cut short by the limit, so it is not parsed.
			return nil, fmt.Errorf("%s %s: %w: listing longer than %d bytes", verb, dir, ErrProtocol, c.cfg.MaxListBytes)
		}
		if rerr != nil {
			return nil, fmt.Errorf("%s %s: %w", verb, dir, rerr)
		}
		if line == "" {
			continue
		}
		if err := l.add(line); err != nil {
			return nil, err
		}
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("%s %s: %w: listing longer than %d bytes", verb, dir, ErrProtocol, c.cfg.MaxListBytes)
	}
	if next != nil {
		next(t)
	}
	return l.result()
}

// readLine reads one line of at most maxListLine bytes, without its
// line ending (LF or CR LF). A last line without a line ending counts.
// A line that fits bufio's buffer costs one allocation, the string.
func readLine(br *bufio.Reader) (string, error) {
	var buf []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(buf)+len(frag) > maxListLine+2 {
			return "", fmt.Errorf("%w: listing line longer than %d bytes", ErrProtocol, maxListLine)
		}
		switch err {
		case nil:
			if buf != nil {
				frag = append(buf, frag...)
			}
			frag = frag[:len(frag)-1]
			if n := len(frag); n > 0 && frag[n-1] == '\r' {
				frag = frag[:n-1]
			}
			return string(frag), nil
		case bufio.ErrBufferFull:
			buf = append(buf, frag...)
			continue
		case io.EOF:
			buf = append(buf, frag...)
			if len(buf) > 0 {
				return string(buf), nil
			}
			return "", io.EOF
		default:
			return "", err
		}
	}
}
