// Package embedftp runs a read-only FTP server inside the process, on a
// loopback port, over a local directory. It serves `ftpmirror demo` and
// the in-process tests, with goftp.io/server/v2 (a real FTP server
// library: MLSD, EPSV, REST, MDTM and SIZE included) doing the protocol.
package embedftp

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

	"goftp.io/server/v2"
	"goftp.io/server/v2/driver/file"
)

// Options configures a Server. A nil *Options is anonymous only.
type Options struct {
	// User and Password, if User is set, add an account besides
	// anonymous.
	User, Password string
	// Logger receives the server's log; nil discards it.
	Logger server.Logger
}

// Server is a running read-only FTP server.
type Server struct {
	srv  *server.Server
	ln   net.Listener
	done chan error
}

// Start serves root on 127.0.0.1 at a free port.
func Start(root string, opts *Options) (*Server, error) {
	if opts == nil {
		opts = &Options{}
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("embedftp: %s is not a directory", abs)
	}
	drv, err := file.NewDriver(abs)
	if err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = &server.DiscardLogger{}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv, err := server.NewServer(&server.Options{
		Name:     "ftpmirror embedded server",
		Driver:   readOnly{drv},
		Auth:     auth{user: opts.User, password: opts.Password},
		Perm:     server.NewSimplePerm("ftp", "ftp"),
		Hostname: "127.0.0.1",
		PublicIP: "127.0.0.1",
		Logger:   logger,
	})
	if err != nil {
		ln.Close()
		return nil, err
	}
	s := &Server{srv: srv, ln: ln, done: make(chan error, 1)}
	go func() { s.done <- srv.Serve(ln) }()
	return s, nil
}

// Addr returns "127.0.0.1:PORT".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server and waits for its accept loop to end. The
// listener is closed first and Serve waited for: goftp's Shutdown reads
// what Serve sets up, and raced with a Serve that had not yet started
// (a test that never connected).
func (s *Server) Close() error {
	s.ln.Close()
	serr := <-s.done
	err := s.srv.Shutdown()
	if serr != nil && !errors.Is(serr, server.ErrServerClosed) && !errors.Is(serr, net.ErrClosed) && err == nil {
		err = serr
	}
	return err
}

type auth struct{ user, password string }

func (a auth) CheckPasswd(_ *server.Context, name, pass string) (bool, error) {
	if name == "anonymous" || name == "ftp" {
		return true, nil
	}
	return a.user != "" && name == a.user && pass == a.password, nil
}

var errReadOnly = errors.New("read-only server")

// readOnly refuses every command that would change the served tree.
type readOnly struct{ server.Driver }

func (readOnly) DeleteDir(*server.Context, string) error      { return errReadOnly }
func (readOnly) DeleteFile(*server.Context, string) error     { return errReadOnly }
func (readOnly) Rename(*server.Context, string, string) error { return errReadOnly }
func (readOnly) MakeDir(*server.Context, string) error        { return errReadOnly }
func (readOnly) PutFile(*server.Context, string, io.Reader, int64) (int64, error) {
	return 0, errReadOnly
}
