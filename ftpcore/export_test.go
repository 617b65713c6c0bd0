package ftpcore

import (
	"context"
	"errors"
	"strings"
)

// Commands and checks that only the tests use: the export_test.go
// pattern keeps them out of the package's API.

// Syst returns the reply text of SYST.
func (c *Conn) Syst(ctx context.Context) (string, error) {
	_, msg, err := c.cmd(ctx, 215, "SYST")
	return msg, err
}

// Type sets the representation type: "I" for binary, "A" for ASCII.
func (c *Conn) Type(ctx context.Context, t string) error {
	_, _, err := c.cmd(ctx, 200, "TYPE %s", t)
	return err
}

// Features returns the extensions the server listed in its FEAT reply,
// upper-case name to parameters. It is empty before Login.
func (c *Conn) Features() map[string]string { return c.features }

// HasFeature reports whether FEAT listed name (case-insensitive).
func (c *Conn) HasFeature(name string) bool {
	_, ok := c.features[strings.ToUpper(name)]
	return ok
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
