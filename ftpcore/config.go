package ftpcore

import (
	"crypto/tls"
	"io"
	"net"
	"time"
)

// TLSMode selects FTP over TLS.
type TLSMode uint8

const (
	TLSNone     TLSMode = iota // plain FTP
	TLSExplicit                // AUTH TLS on the plain port, then PBSZ 0 and PROT P (RFC 4217)
	TLSImplicit                // TLS from the first byte (ftps://, usually port 990)
)

func (m TLSMode) String() string {
	switch m {
	case TLSExplicit:
		return "explicit"
	case TLSImplicit:
		return "implicit"
	default:
		return "none"
	}
}

// DefaultTimeout is used when Config.Timeout is zero.
const DefaultTimeout = 60 * time.Second

// DefaultMinRate is used when Config.MinRate is zero: 1 KiB/s, which a
// dial-up line beats sevenfold and a 1-byte-per-second trickle does not.
const DefaultMinRate = 1 << 10

// Config configures a Conn. The zero value (or a nil *Config) is plain FTP
// in passive mode with the default timeouts and limits.
type Config struct {
	// TLS selects plain FTP, explicit or implicit FTPS.
	TLS TLSMode
	// TLSConfig is used for the control and data connections when TLS is
	// not TLSNone. It is cloned; ServerName defaults to the host of the
	// address, and a session cache is added when it has none, so that data
	// connections resume the control connection's session. Nil means
	// verify against the system roots.
	TLSConfig *tls.Config

	// Active selects active mode (EPRT/PORT: the server connects to us)
	// instead of passive mode (EPSV/PASV: we connect to the server).
	Active bool
	// ActiveIP is the address advertised in EPRT/PORT and listened on.
	// Empty means the control connection's local address.
	ActiveIP string
	// ActivePortMin and ActivePortMax bound the ports listened on in active
	// mode. Zero means an ephemeral port chosen by the kernel.
	ActivePortMin, ActivePortMax int

	// TrustPASVAddress makes passive mode connect to the address that the
	// 227 reply names. By default the client connects to the control
	// connection's peer and uses only the port, so that a server (or a man
	// in the middle) cannot make it connect elsewhere.
	TrustPASVAddress bool
	// DisableEPSV skips EPSV and uses PASV straight away.
	DisableEPSV bool
	// DisableMLSD makes List use LIST even where MLSD is offered.
	DisableMLSD bool
	// DisableUTF8 skips OPTS UTF8 ON.
	DisableUTF8 bool
	// DisablePipelining sends one command at a time. By default, once a
	// data transfer has worked on a connection, the commands of the next
	// ones (EPSV or PORT, REST, MDTM, RETR or LIST) go out in one write
	// and their replies are read afterwards, in order. vsftpd, pure-ftpd
	// and proftpd take that.
	DisablePipelining bool
	// DisableSTAT makes List use a data connection even where the server
	// lists a directory over the control connection ("STAT -a dir").
	DisableSTAT bool
	// Listing is the listing command that an earlier connection to the
	// server found to work ([Conn.Listing]): "STAT", "LIST -a", "LIST"
	// or "NLST". List then starts with it instead of trying first, and
	// failing, the ones it would try before it (STAT -a, LIST -a, LIST),
	// which saves a round trip or more on each connection's first
	// listing. MLSD follows FEAT whatever Listing says, and a command
	// that stopped working falls back as without Listing; Conn.Listing
	// then tells what worked instead. Empty (or "MLSD") means find out.
	Listing string
	// PipelineFirst pipelines a connection's data transfers from its
	// first one, where an earlier connection to the server found that
	// pipelined transfer commands are answered in order
	// ([Conn.PipelinedInOrder]). Without it the first transfer sends one
	// command at a time: two round trips more on each connection.
	PipelineFirst bool

	// Timeout bounds every network operation that makes no progress: a
	// reply that does not come, a data connection that does not open or
	// stalls. Zero means DefaultTimeout.
	Timeout time.Duration
	// MinRate is the slowest a data transfer may be, in bytes per second
	// averaged over each Timeout-long window: a server that trickles a
	// byte now and then, so that no single read times out, fails the
	// transfer with ErrTooSlow after one window. Zero means
	// DefaultMinRate; negative means no minimum.
	MinRate int64
	// Location is the server's time zone for LIST times. Nil means UTC.
	Location *time.Location
	// MaxReplyBytes and MaxReplyLines bound one reply on the control
	// connection. Zero means 256 KiB and 4096 lines.
	MaxReplyBytes, MaxReplyLines int
	// MaxListBytes bounds the bytes of one directory listing, and
	// without a ListMemory also what its entries take in memory. Zero
	// means 64 MiB.
	MaxListBytes int64
	// ListMemory, if set, bounds the memory that the entries of listings
	// in progress take, together, on every Conn that shares it. Nil
	// means each listing on its own may take MaxListBytes.
	ListMemory *ListMemory

	// Dialer is used for the control and data connections. Nil means a
	// zero net.Dialer.
	Dialer *net.Dialer
	// Trace, if set, receives the control connection's conversation, one
	// line per command and reply, with the argument of PASS redacted.
	Trace io.Writer
	// Now is the clock used to place LIST dates without a year. Nil means
	// time.Now.
	Now func() time.Time
}

// withDefaults returns a copy of cfg (nil: the zero Config) with every
// zero field that has a default set to it.
func withDefaults(cfg *Config) Config {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MinRate == 0 {
		c.MinRate = DefaultMinRate
	}
	if c.MaxReplyBytes <= 0 {
		c.MaxReplyBytes = defaultMaxReplyBytes
	}
	if c.MaxReplyLines <= 0 {
		c.MaxReplyLines = defaultMaxReplyLines
	}
	if c.MaxListBytes <= 0 {
		c.MaxListBytes = 64 << 20
	}
	if c.Location == nil {
		c.Location = time.UTC
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
