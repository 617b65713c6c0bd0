// Package ftpcore implements the client side of the File Transfer Protocol
// as defined in RFC 959, for the needs of a mirroring agent.
//
// It also implements the following extensions:
//
//   - RFC 2228 and RFC 4217: FTP over TLS, explicit (AUTH TLS, PBSZ 0,
//     PROT P) and implicit (TLS from the first byte, usually port 990),
//     with TLS session resumption on data connections, which vsftpd
//     requires by default (require_ssl_reuse=YES).
//   - RFC 2428: EPSV and EPRT, so IPv6 works in both data modes.
//   - RFC 3659: SIZE, MDTM, REST STREAM and MLSD.
//   - RFC 2389 and RFC 2640: FEAT, and OPTS UTF8 ON where offered.
//
// Listings use MLSD where the server offers it and LIST otherwise, with
// parsers for the Unix "ls -l" dialects of vsftpd, pure-ftpd and proftpd
// and for the DOS format of IIS; NLST is the last resort.
//
// A server is untrusted input. Replies are read through a budget of bytes
// and lines that is reset before each command; every blocking call takes
// a context and also stops after [Config.Timeout] without progress; every
// command argument is refused if it holds CR, LF or NUL; in passive mode
// the client connects to the control connection's peer, never to the
// address a 227 reply names (unless [Config.TrustPASVAddress] is set); in
// active mode it accepts one data connection, only from the server's
// address. Listing parsers refuse names that are not a single path
// component ("", ".", "..", or holding '/', NUL, CR or LF).
//
// Deliberately left out: uploads and every command that changes the
// server (STOR, DELE, MKD, RNFR/RNTO, SITE), ASCII-mode line conversion,
// the block and compressed transfer modes, and PROT C/S/E.
//
// A [Conn] is one control connection. It supports one data transfer at a
// time and is not safe for concurrent use; callers that want parallelism
// keep a pool of Conns.
package ftpcore
