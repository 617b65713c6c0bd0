// Package probe learns what an FTP server does and needs: its greeting
// and features, the listing command and LIST dialect that work, the
// server's clock as LIST shows it, passive and active data connections,
// pipelining, REST, checksum commands, TLS, and (on request) how many
// connections it takes. The result is a Profile: plain values, no
// connections, so that it can be printed (ftpmirror doctor), compared
// and stored.
//
// Run talks to the server through ftpcore only, reads and never writes
// (no STOR, DELE, SITE), and bounds each probe: one short timeout for an
// active connect-back that does not come, a few files for the clock, a
// few directories to find them.
package probe

import "time"

// Result is the outcome of one probe.
type Result string

const (
	Yes     Result = "yes"     // the server does it
	No      Result = "no"      // the server refused it, or it failed
	Unknown Result = "unknown" // not tried, or nothing to try it on
)

// Check is one probe's outcome, with what the server said or what went
// wrong.
type Check struct {
	Result Result `json:"result"`
	Detail string `json:"detail,omitempty"`
}

func yes(detail string) Check { return Check{Result: Yes, Detail: detail} }
func no(detail string) Check  { return Check{Result: No, Detail: detail} }
func unknown(detail string) Check {
	return Check{Result: Unknown, Detail: detail}
}

// Profile is what Run learned about one server.
type Profile struct {
	Server string    `json:"server"` // host:port
	User   string    `json:"user"`
	Dir    string    `json:"dir"` // the directory probed (the URL's path, made absolute)
	When   time.Time `json:"when"`

	Greeting string    `json:"greeting"`
	System   string    `json:"system"` // SYST's reply; "" if refused
	Features []Feature `json:"features"`
	TLS      *TLS      `json:"tls,omitempty"` // nil for plain FTP

	Listing    Listing     `json:"listing"`
	Clock      Clock       `json:"clock"`
	Passive    Passive     `json:"passive"`
	Active     Check       `json:"active"`
	Pipelining Pipelining  `json:"pipelining"`
	Rest       Check       `json:"rest"`
	Checksums  []Checksum  `json:"checksums"`
	Conns      Connections `json:"connections"`
}

// Feature is one line of the server's FEAT reply.
type Feature struct {
	Name   string `json:"name"`
	Params string `json:"params,omitempty"`
}

// TLS is what the control connection negotiated, and whether data
// connections must resume its session.
type TLS struct {
	Mode         string `json:"mode"`    // explicit or implicit
	Version      string `json:"version"` // "TLS 1.3"
	Cipher       string `json:"cipher"`
	SessionReuse Check  `json:"session_reuse_required"` // Yes: a data connection without resumption was refused
}

// Listing says which listing commands work on the probed directory and
// what LIST sends.
type Listing struct {
	MLSD Check `json:"mlsd"`
	STAT Check `json:"stat"` // "STAT -a": a listing over the control connection
	LIST Check `json:"list"`
	// Command is what ftpcore's List uses on this server: MLSD, STAT or
	// LIST; "" when none worked.
	Command string `json:"command"`
	// Dialects counts LIST lines per dialect ("unix", "dos", ...), in
	// every directory listed (the probed one, and those looked into for
	// recent files).
	Dialects map[string]int `json:"dialects"`
	// Unparsed quotes LIST lines that no parser understood (the first
	// few), and Bad counts them all.
	Unparsed []string `json:"unparsed,omitempty"`
	Bad      int      `json:"bad_lines"`
}

// Clock compares the times in listings with MDTM, which is UTC (RFC
// 3659). LIST shows the server's local time, to the minute, and only
// the date for files older than six months.
type Clock struct {
	// ListMinute and ListDay count LIST entries with a time of day and
	// with a date only.
	ListMinute int `json:"list_minute"`
	ListDay    int `json:"list_day"`
	// Samples is how many recent files were compared with MDTM.
	Samples int `json:"samples"`
	// ListOffset is LIST's time minus MDTM's, in seconds: the server's
	// offset from UTC as LIST shows it (7200 for UTC+2), the median
	// rounded to 15 minutes (ftpcore.ZoneOffset). Meaningful when
	// Samples > 0.
	ListOffset int `json:"list_offset_seconds"`
	// Consistent is false when a sample is more than a minute from
	// ListOffset: something else is wrong, and a sync would not learn
	// the offset from such files.
	Consistent bool `json:"consistent"`
	// MLSDSamples and MLSDOffset compare MLSD's modify fact with MDTM
	// (both UTC: 0 is right).
	MLSDSamples int    `json:"mlsd_samples"`
	MLSDOffset  int    `json:"mlsd_offset_seconds"`
	Note        string `json:"note,omitempty"` // why nothing was compared
}

// Passive is what EPSV and PASV answer, and whether passive data
// connections work.
type Passive struct {
	EPSV Check `json:"epsv"`
	PASV Check `json:"pasv"`
	// PASVAddress is the address the 227 reply names; NAT is true when
	// it is not the control connection's peer (a server behind NAT, or
	// one that names an internal address). ftpcore connects to the
	// control connection's peer whatever the reply says.
	PASVAddress string `json:"pasv_address,omitempty"`
	NAT         bool   `json:"nat"`
	// Works: a listing over a passive data connection.
	Works Check `json:"works"`
}

// Pipelining says whether replies to commands sent in one write come
// back in order, in each data mode.
type Pipelining struct {
	Passive Check `json:"passive"`
	Active  Check `json:"active"`
}

// Checksum is one checksum command: offered in FEAT, and whether it
// answered on a file.
type Checksum struct {
	Command string `json:"command"` // HASH, XSHA256, XSHA1, XMD5, XCRC
	Offered bool   `json:"offered"`
	Check   Check  `json:"check"`
}

// Connections is the connection limit probe.
type Connections struct {
	// Asked is how many connections the probe was allowed to open in
	// all (Options.MaxConnections); 0: not probed.
	Asked int `json:"asked"`
	// Opened is how many were logged in at once.
	Opened int `json:"opened"`
	// Limit is Opened when the next one was refused; 0 when none was.
	Limit int    `json:"limit"`
	Reply string `json:"reply,omitempty"` // the refusal
}
