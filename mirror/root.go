package mirror

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/ftpmirror/ftpmirror/ftpcore"
)

// resolveRoot returns the absolute remote directory to mirror.
func (r *runner) resolveRoot(ctx context.Context, c *ftpcore.Conn) (string, error) {
	root := r.opts.Root
	if strings.HasPrefix(root, "/") {
		return path.Clean(root), nil
	}
	pwd, err := c.Pwd(ctx)
	if errors.Is(err, ftpcore.ErrProtocol) {
		// A PWD reply we cannot read: go on with paths relative to the
		// login directory, as for a server without Unix paths. (An
		// absolute URL path, %2F..., never asks.)
		r.log.Warn("PWD reply unreadable; using paths relative to the login directory", "err", err)
		pwd, err = "", nil
	}
	if err != nil {
		return "", fmt.Errorf("find the login directory: %w", err)
	}
	if !strings.HasPrefix(pwd, "/") {
		// Not a Unix-style path (VMS, some embedded servers): use
		// paths relative to the login directory.
		pwd = ""
	}
	if root == "" {
		return pwd, nil
	}
	return path.Join(pwd, root), nil
}

// errNamesAFile: the URL's path is a file, not a directory.
var errNamesAFile = errors.New("the URL names a file, not a directory: ftpmirror mirrors directories; give the file's directory and -include with its name")

// proveRoot changes into the remote root before anything is written: a
// root that does not exist, cannot be entered or is a file fails the
// run here, before the target is made. (vsftpd lists a missing directory
// as empty, so a listing alone proves nothing.)
//
// An absolute root is proven by listing it: ftpcore's List sends CWD in
// the same write as the listing command and reads CWD's reply first, so
// the proof costs no round trip of its own, and the listing is returned
// for the walk. A refused CWD comes back as CWD's *ftpcore.Error. Any
// other failure of the listing comes after CWD's reply, which proved the
// root; unless the connection broke, when it is not known whether CWD
// was answered: then the root is proven again with CWD alone on a new
// connection, which proveRoot returns in place of c (nil if it could
// not be had). Either way the failure goes to the walk as the root
// listing's first attempt, which is retried or reported as before.
func (r *runner) proveRoot(ctx context.Context, c *ftpcore.Conn) (*ftpcore.Conn, *listing, error) {
	if r.remoteRoot == "" {
		return c, nil, nil // the login directory, where the server put us
	}
	if !strings.HasPrefix(r.remoteRoot, "/") {
		return c, nil, r.cwdRoot(ctx, c)
	}
	entries, bad, err := badLines(c.List(ctx, r.remoteRoot))
	var fe *ftpcore.Error
	switch {
	case err == nil:
		return c, &listing{entries: entries, bad: bad}, nil
	case errors.As(err, &fe) && fe.Cmd == "CWD":
		return c, nil, r.rootRefused(ctx, c, err)
	case c.Err() == nil:
		return c, &listing{err: err}, nil
	}
	r.activeFailed(ctx, err) // the next connection is passive
	c.Close()
	c, cerr := r.connect(ctx)
	if cerr != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, fmt.Errorf("%w: connect to %s: %w", ErrNotStarted, r.opts.Addr, cerr)
	}
	return c, &listing{err: err}, r.cwdRoot(ctx, c)
}

// cwdRoot proves the root with CWD alone. The connection is left in the
// root, where listing it needs no argument.
func (r *runner) cwdRoot(ctx context.Context, c *ftpcore.Conn) error {
	err := c.Cwd(ctx, r.remoteRoot)
	if err == nil && !strings.HasPrefix(r.remoteRoot, "/") {
		// A relative root (no Unix paths on this server) is listed by
		// argument from the login directory: go back there.
		for range strings.Split(strings.Trim(r.remoteRoot, "/"), "/") {
			if err = c.Cdup(ctx); err != nil {
				break
			}
		}
	}
	if err == nil {
		return nil
	}
	return r.rootRefused(ctx, c, err)
}

// rootRefused returns the run's error for a CWD into the root that
// failed with err.
func (r *runner) rootRefused(ctx context.Context, c *ftpcore.Conn, err error) error {
	var fe *ftpcore.Error
	if !errors.As(err, &fe) || fe.Code/100 != 5 {
		return fmt.Errorf("%w: CWD %s: %w", ErrNotStarted, r.remoteRoot, err)
	}
	if _, serr := c.Size(ctx, r.remoteRoot); serr == nil {
		// The reply is quoted, not wrapped: the cause is errNamesAFile,
		// not a path the server refused.
		return &RootError{Path: r.remoteRoot, Err: fmt.Errorf("%w (%v)", errNamesAFile, err)}
	}
	return &RootError{Path: r.remoteRoot, Err: err}
}
