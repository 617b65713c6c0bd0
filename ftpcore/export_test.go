package ftpcore

import (
	"context"
	"errors"
)

// Commands and checks that only the tests use: the export_test.go
// pattern keeps them out of the package's API.

// Type sets the representation type: "I" for binary, "A" for ASCII.
func (c *Conn) Type(ctx context.Context, t string) error {
	_, _, err := c.cmd(ctx, 200, "TYPE %s", t)
	return err
}

// IsConnDead reports whether err means the control connection is
// unusable: 421, or a broken connection.
func IsConnDead(err error) bool {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Code == 421
	}
	return err != nil && IsTransient(err)
}
