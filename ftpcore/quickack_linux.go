package ftpcore

import (
	"net"
	"syscall"
)

// quickACK turns off delayed ACKs on a TCP connection until the kernel
// turns them on again (it does, so it is called before every read of a
// reply). A server that writes two replies back to back, 213 then 229 for
// a pipelined MDTM and EPSV, or 150 then 226 around a transfer, has
// Nagle's algorithm hold the second until the first is acknowledged;
// with delayed ACKs that costs up to 40 ms per reply on Linux. vsftpd
// 3.0.3 does not set TCP_NODELAY on its control connection.
func quickACK(raw syscall.RawConn) {
	if raw == nil {
		return
	}
	raw.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}

// rawConn returns the raw connection under nc, if it is TCP.
func rawConn(nc net.Conn) syscall.RawConn {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}
