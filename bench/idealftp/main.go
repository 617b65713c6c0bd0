// Command idealftp is the benchmark's ideal client: it knows the tree
// before it starts (it reads the server's directory on this machine), so
// it lists nothing, keeps no state, checks nothing and syncs nothing, and
// on each connection it sends exactly what the floor counts (bench/README.md
// "The floor"): USER, PASS and TYPE in one write, then per file the data
// connection's command and RETR in one write, sent as soon as the previous
// file's data has ended, before its 226. Its time is what the link and the
// server allow a client at that width; bench/run.sh runs it as the tools
// ideal-pN.
//
//	idealftp [-p 8] [-mode passive|active] -local DIR ftp://[user:pass@]host:port/ROOT DEST
//
// DIR is the server's copy of ROOT. Every file is written to DEST/REL; the
// run fails if a file's byte count differs from DIR's.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type file struct {
	rel  string
	size int64
}

func main() {
	par := flag.Int("p", 8, "connections")
	mode := flag.String("mode", "passive", "passive or active")
	local := flag.String("local", "", "the server's copy of the remote root")
	flag.Parse()
	if flag.NArg() != 2 || *local == "" || (*mode != "passive" && *mode != "active") {
		fmt.Fprintln(os.Stderr, "usage: idealftp [-p N] [-mode passive|active] -local DIR URL DEST")
		os.Exit(2)
	}
	u, err := url.Parse(flag.Arg(0))
	if err != nil || u.Scheme != "ftp" {
		die(fmt.Errorf("bad URL %q", flag.Arg(0)))
	}
	dest := flag.Arg(1)
	files, err := tree(*local, dest)
	if err != nil {
		die(err)
	}
	user, pass := "anonymous", "idealftp@"
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	cl := &client{addr: u.Host, user: user, pass: pass, root: path.Clean("/" + u.Path),
		dest: dest, active: *mode == "active", files: files}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, *par)
	for range *par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := cl.worker(); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		die(err)
	}
	fmt.Fprintf(os.Stderr, "idealftp: %d files in %.3fs\n", len(files), time.Since(start).Seconds())
}

func die(err error) {
	fmt.Fprintln(os.Stderr, "idealftp:", err)
	os.Exit(1)
}

// tree returns the regular files under dir, largest first (as ftpmirror
// orders its fetches), and makes their directories under dest.
func tree(dir, dest string) ([]file, error) {
	var files []file
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.IsDir():
			return os.MkdirAll(filepath.Join(dest, rel), 0o755)
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			files = append(files, file{filepath.ToSlash(rel), fi.Size()})
		}
		return nil
	})
	sort.SliceStable(files, func(i, j int) bool { return files[i].size > files[j].size })
	return files, err
}

type client struct {
	addr, user, pass, root, dest string
	active                       bool
	files                        []file
	next                         atomic.Int64
}

// take returns the next file to fetch, or false when none is left.
func (cl *client) take() (file, bool) {
	i := cl.next.Add(1) - 1
	if i >= int64(len(cl.files)) {
		return file{}, false
	}
	return cl.files[i], true
}

type conn struct {
	cl   *client
	c    net.Conn
	r    *bufio.Reader
	host string
	ln   net.Listener // active: the listener of the transfer whose commands went out
}

// reply reads one reply and returns its code and text.
func (c *conn) reply() (int, string, error) {
	c.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, err := c.r.ReadString('\n')
	if err != nil {
		return 0, "", err
	}
	if len(line) < 4 {
		return 0, "", fmt.Errorf("short reply %q", line)
	}
	code, err := strconv.Atoi(line[:3])
	if err != nil {
		return 0, "", fmt.Errorf("bad reply %q", line)
	}
	for line[3] == '-' {
		l, err := c.r.ReadString('\n')
		if err != nil {
			return 0, "", err
		}
		if strings.HasPrefix(l, line[:3]+" ") {
			break
		}
	}
	return code, strings.TrimSpace(line), nil
}

// expect reads a reply and fails unless its first digit is class.
func (c *conn) expect(class int, what string) (string, error) {
	code, msg, err := c.reply()
	if err == nil && code/100 != class {
		err = fmt.Errorf("%s: %s", what, msg)
	}
	return msg, err
}

// send writes the commands of f's transfer in one write.
func (c *conn) send(f file) error {
	var cmd string
	if c.cl.active {
		ip := c.c.LocalAddr().(*net.TCPAddr).IP
		ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
		if err != nil {
			return err
		}
		c.ln = ln
		cmd = fmt.Sprintf("EPRT |1|%s|%d|\r\n", ip, ln.Addr().(*net.TCPAddr).Port)
	} else {
		cmd = "EPSV\r\n"
	}
	_, err := io.WriteString(c.c, cmd+"RETR "+path.Join(c.cl.root, f.rel)+"\r\n")
	return err
}

// data reads the data command's reply and RETR's 150, and returns the
// data connection.
func (c *conn) data() (net.Conn, error) {
	msg, err := c.expect(2, "data command")
	if err != nil {
		return nil, err
	}
	if c.cl.active {
		if _, err := c.expect(1, "RETR"); err != nil {
			return nil, err
		}
		ln := c.ln.(*net.TCPListener)
		ln.SetDeadline(time.Now().Add(30 * time.Second))
		dc, err := ln.Accept()
		ln.Close()
		return dc, err
	}
	i, j := strings.Index(msg, "|||"), strings.LastIndex(msg, "|")
	if i < 0 || j <= i+3 {
		return nil, fmt.Errorf("EPSV: %s", msg)
	}
	dc, err := net.DialTimeout("tcp", net.JoinHostPort(c.host, msg[i+3:j]), 30*time.Second)
	if err != nil {
		return nil, err
	}
	if _, err := c.expect(1, "RETR"); err != nil {
		dc.Close()
		return nil, err
	}
	return dc, nil
}

func (cl *client) worker() error {
	f, ok := cl.take()
	if !ok {
		return nil
	}
	nc, err := net.DialTimeout("tcp", cl.addr, 30*time.Second)
	if err != nil {
		return err
	}
	defer nc.Close()
	host, _, _ := net.SplitHostPort(cl.addr)
	c := &conn{cl: cl, c: nc, r: bufio.NewReader(nc), host: host}
	if _, err := c.expect(2, "greeting"); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(nc, "USER %s\r\nPASS %s\r\nTYPE I\r\n", cl.user, cl.pass); err != nil {
		return err
	}
	code, msg, err := c.reply() // USER: 331, or 230 where no password is asked
	if err != nil || (code != 230 && code != 331) {
		return fmt.Errorf("USER: %s %v", msg, err)
	}
	if _, err := c.expect(2, "PASS"); err != nil {
		return err
	}
	if _, err := c.expect(2, "TYPE"); err != nil {
		return err
	}
	if err := c.send(f); err != nil {
		return err
	}
	buf := make([]byte, 256<<10)
	for {
		dc, err := c.data()
		if err != nil {
			return fmt.Errorf("%s: %w", f.rel, err)
		}
		out, err := os.Create(filepath.Join(cl.dest, filepath.FromSlash(f.rel)))
		if err != nil {
			return err
		}
		n, err := io.CopyBuffer(out, dc, buf)
		if err == nil && n != f.size {
			err = fmt.Errorf("%s: got %d of %d bytes", f.rel, n, f.size)
		}
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		next, more := cl.take()
		if more {
			if err := c.send(next); err != nil {
				return err
			}
		}
		dc.Close()
		if _, err := c.expect(2, "transfer of "+f.rel); err != nil {
			return err
		}
		if !more {
			io.WriteString(nc, "QUIT\r\n")
			return nil
		}
		f = next
	}
}
