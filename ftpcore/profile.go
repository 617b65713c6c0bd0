package ftpcore

import "errors"

// What a connection learns about its server that the next connection
// can start from (Config.Listing, DisableEPSV, Active): the caller reads
// it with the methods below and keeps it.

// ErrNoConnectBack: in active mode, the server accepted EPRT/PORT and
// the transfer command but its data connection never came (a firewall
// or NAT between us, or a server that cannot connect out). The Conn is
// broken; passive mode may still work.
var ErrNoConnectBack = errors.New("no data connection")

// listingOrder is the order in which List tries listing commands where
// FEAT offers no MLSD.
var listingOrder = []string{"STAT", "LIST -a", "LIST", "NLST"}

// startListing skips the listing commands before known (Config.Listing)
// in listingOrder, as if this connection had seen them fail.
func (c *Conn) startListing(known string) {
	i := -1
	for j, cmd := range listingOrder {
		if cmd == known {
			i = j
		}
	}
	if i == 0 {
		c.stat = listAAssumed
	}
	if i >= 1 {
		c.stat = listARefused
	}
	if i >= 2 {
		c.listA = listARefused
	}
	c.nlst = i >= 3
}

// Listing returns the listing command that works on this connection, as
// Config.Listing takes it: "MLSD", "STAT", "LIST -a", "LIST" or "NLST";
// empty when nothing was listed yet (or only with a command given to
// ListLines).
func (c *Conn) Listing() string {
	switch {
	case c.mlsd && !c.cfg.DisableMLSD:
		return "MLSD"
	case c.stat == listAWorks:
		return "STAT"
	case c.nlst:
		return "NLST"
	case c.listA == listAWorks:
		return "LIST -a"
	case c.listA == listARefused:
		return "LIST"
	}
	return ""
}

// EPSV reports what this connection saw of EPSV: refused (a 5xx, after
// which it asks PASV), or worked (a 229 reply was used). Both are false
// until a passive data connection was set up with EPSV tried.
func (c *Conn) EPSV() (refused, worked bool) { return c.skipEPSV, c.epsvOK }

// PASVElsewhere reports whether a 227 reply named another address than
// the control connection's peer (a server behind NAT that does not know
// its outside address). The data connection went to the peer all the
// same, unless Config.TrustPASVAddress.
func (c *Conn) PASVElsewhere() bool { return c.pasvNAT }

// PipelinedInOrder reports whether a transfer whose commands went out
// in one write (pipelined) was answered in order on this connection:
// what Config.PipelineFirst needs to know of the server.
func (c *Conn) PipelinedInOrder() bool { return c.inOrder }

// SetActive switches the data connections from now on to active mode
// (true) or passive mode, as Config.Active does at Dial.
func (c *Conn) SetActive(on bool) { c.cfg.Active = on }

// RetryEPSV forgets that EPSV was refused (or disabled by
// Config.DisableEPSV): the next passive data connection asks EPSV again.
func (c *Conn) RetryEPSV() { c.skipEPSV, c.cfg.DisableEPSV = false, false }
