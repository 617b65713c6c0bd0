package ftpcore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The commands that are one request and one reply, on top of cmd.

// Cwd changes the current directory.
func (c *Conn) Cwd(ctx context.Context, dir string) error {
	_, _, err := c.cmd(ctx, 250, "CWD %s", dir)
	return err
}

// Cdup changes to the parent directory.
func (c *Conn) Cdup(ctx context.Context) error {
	code, msg, err := c.cmd(ctx, 0, "CDUP")
	if err != nil {
		return err
	}
	if code != 200 && code != 250 {
		return &Error{Cmd: "CDUP", Code: code, Msg: msg}
	}
	return nil
}

// Size returns the size of a file in bytes (RFC 3659 4).
func (c *Conn) Size(ctx context.Context, path string) (int64, error) {
	_, msg, err := c.cmd(ctx, 213, "SIZE %s", path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(msg), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("SIZE %s: %w: bad size %q", path, ErrProtocol, msg)
	}
	return n, nil
}

// ModTime returns the modification time of a file, in UTC, from MDTM
// (RFC 3659 3).
func (c *Conn) ModTime(ctx context.Context, path string) (time.Time, error) {
	_, msg, err := c.cmd(ctx, 213, "MDTM %s", path)
	if err != nil {
		return time.Time{}, err
	}
	return mdtmTime(path, msg)
}

// mdtmTime parses MDTM's reply for path.
func mdtmTime(path, msg string) (time.Time, error) {
	t, err := parseMDTM(msg)
	if err != nil {
		return time.Time{}, fmt.Errorf("MDTM %s: %w", path, err)
	}
	return t, nil
}

// Noop sends NOOP, to keep the connection alive or check that it is.
func (c *Conn) Noop(ctx context.Context) error {
	_, _, err := c.cmd(ctx, 200, "NOOP")
	return err
}

// Quote sends a raw command and returns the reply, whatever its code.
// The command must not hold CR, LF or NUL.
func (c *Conn) Quote(ctx context.Context, command string) (int, string, error) {
	return c.cmd(ctx, 0, "%s", command)
}
