//go:build !linux

package ftpcore

import (
	"net"
	"syscall"
)

// quickACK does nothing where TCP_QUICKACK does not exist.
func quickACK(raw syscall.RawConn) {}

func rawConn(nc net.Conn) syscall.RawConn { return nil }
