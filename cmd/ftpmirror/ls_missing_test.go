package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftpmirror/ftpmirror/internal/ftpservers"
)

// TestLsMissingDirectory runs `ftpmirror ls` as a process against real
// servers: a missing directory (vsftpd answers its LIST with an empty
// listing and 226) and an unreadable one exit with "nothing could be
// done", naming the path and the server's reply, and print no listing.
func TestLsMissingDirectory(t *testing.T) {
	for _, name := range []string{"vsftpd", "inetutils"} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.MkdirAll(filepath.Join(root, "pub", "secret"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, "pub", "a.txt"), []byte("a\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			srv := ftpservers.Start(t, name, root, nil)
			if err := os.Chmod(filepath.Join(root, "pub", "secret"), 0o700); err != nil {
				t.Fatal(err)
			}
			ls := func(path string) (int, string, string) {
				cmd := ftpmirrorCmd("ls", "ftp://"+srv.Addr+path)
				cmd.Env = append(cmd.Env, "NETRC="+filepath.Join(t.TempDir(), "none"), "FTPMIRROR_PASSWORD=")
				var o, e bytes.Buffer
				cmd.Stdout, cmd.Stderr = &o, &e
				err := cmd.Run()
				var ee *exec.ExitError
				switch {
				case err == nil:
					return 0, o.String(), e.String()
				case errors.As(err, &ee):
					return ee.ExitCode(), o.String(), e.String()
				}
				t.Fatal(err)
				return 0, "", ""
			}
			if code, out, errOut := ls("/pub"); code != 0 || !strings.Contains(out, "a.txt") {
				t.Fatalf("ls /pub: exit %d, stdout %q, stderr %q", code, out, errOut)
			}
			for _, path := range []string{"/nonexistent", "/pub/secret"} {
				code, out, errOut := ls(path)
				if code != exitNotStarted || out != "" || !strings.Contains(errOut, path) || !strings.Contains(errOut, "550") {
					t.Errorf("ls %s: exit %d, stdout %q, stderr %q; want %d, nothing, the path and the 550", path, code, out, errOut, exitNotStarted)
				}
			}
		})
	}
}
