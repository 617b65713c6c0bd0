//go:build linux

package main

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftpmirror/ftpmirror/internal/ftpservers"
	"github.com/ftpmirror/ftpmirror/internal/treetest"
)

// The NAT test's addresses: a private client network behind a router
// that masquerades it, and the server's side (TEST-NET-3, never routed).
const (
	natClientIP = "192.168.77.2"
	natServerIP = "203.0.113.2"
)

// natNet makes three network namespaces: a client at natClientIP, a
// router that masquerades it, and a server side at natServerIP. It
// returns the client's and the server's namespace names; they are
// deleted when the test ends.
func natNet(t *testing.T) (client, server string) {
	t.Helper()
	if os.Geteuid() != 0 {
		ftpservers.Unavailable(t, "the NAT test makes network namespaces: run the tests as root")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			ftpservers.Unavailable(t, "the NAT test needs %s: apt-get install iproute2 nftables", tool)
		}
	}
	id := os.Getpid() % 100000
	client, router, server := fmt.Sprintf("fmnat%d-c", id), fmt.Sprintf("fmnat%d-r", id), fmt.Sprintf("fmnat%d-s", id)
	cVeth, rcVeth := fmt.Sprintf("fn%dc", id), fmt.Sprintf("fn%drc", id)
	sVeth, rsVeth := fmt.Sprintf("fn%ds", id), fmt.Sprintf("fn%drs", id)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	for _, ns := range []string{client, router, server} {
		_ = exec.Command("ip", "netns", "del", ns).Run() // left by a killed run
		run("ip", "netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		run("ip", "-n", ns, "link", "set", "lo", "up")
	}
	run("ip", "link", "add", cVeth, "netns", client, "type", "veth", "peer", "name", rcVeth, "netns", router)
	run("ip", "link", "add", sVeth, "netns", server, "type", "veth", "peer", "name", rsVeth, "netns", router)
	for _, a := range []struct{ ns, dev, addr string }{
		{client, cVeth, natClientIP + "/24"}, {router, rcVeth, "192.168.77.1/24"},
		{router, rsVeth, "203.0.113.1/24"}, {server, sVeth, natServerIP + "/24"},
	} {
		run("ip", "-n", a.ns, "addr", "add", a.addr, "dev", a.dev)
		run("ip", "-n", a.ns, "link", "set", a.dev, "up")
	}
	run("ip", "-n", client, "route", "add", "default", "via", "192.168.77.1")
	run("ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	run("ip", "netns", "exec", router, "nft", "add table ip nat; "+
		"add chain ip nat post { type nat hook postrouting priority 100; }; "+
		"add rule ip nat post oifname "+rsVeth+" masquerade")
	return client, server
}

// TestModeAutoBehindRealNAT: mode auto, the default, is harmless for a
// client behind NAT. Its test of active mode sends the client's private
// address, which each real server refuses at once (it is not the
// address the control connection comes from); the run goes passive,
// mirrors everything, exits 0, and remembers: the next run tests
// nothing.
func TestModeAutoBehindRealNAT(t *testing.T) {
	client, server := natNet(t)
	for _, name := range []string{"vsftpd", "pure-ftpd", "proftpd"} {
		t.Run(name, func(t *testing.T) {
			src := t.TempDir()
			treetest.Make(t, src, 20, 4000, 3)
			srv := ftpservers.Start(t, name, src, &ftpservers.Options{NetNS: server, Host: natServerIP, ProtocolLog: true})
			u := url.URL{Scheme: "ftp", Host: srv.Addr, Path: "/"}
			if srv.User != "" {
				u.User = url.UserPassword(srv.User, srv.Password)
			}
			target, statePath := filepath.Join(t.TempDir(), "mirror"), filepath.Join(t.TempDir(), "state.db")
			sync := func(run int) string {
				t.Helper()
				// The test binary plays ftpmirror (TestMain), in the client's namespace.
				cmd := exec.Command("ip", "netns", "exec", client, os.Args[0], "sync", "-state", statePath, u.String(), target)
				cmd.Env = append(os.Environ(), "FTPMIRROR_TEST_MAIN=1", "NETRC="+filepath.Join(t.TempDir(), "none"))
				var errOut bytes.Buffer
				cmd.Stderr = &errOut
				if err := cmd.Run(); err != nil {
					t.Fatalf("run %d: %v\n%s", run, err, errOut.String())
				}
				treetest.Equal(t, src, target, false)
				return errOut.String()
			}
			active := func(cmds []string) (n int) {
				for _, c := range cmds {
					if v, _, _ := strings.Cut(c, " "); strings.EqualFold(v, "PORT") || strings.EqualFold(v, "EPRT") {
						if !strings.Contains(c, natClientIP) && !strings.Contains(c, strings.ReplaceAll(natClientIP, ".", ",")) {
							t.Errorf("active mode offered %q, not the client's own address %s", c, natClientIP)
						}
						n++
					}
				}
				return n
			}

			log := sync(1)
			first := srv.Commands()
			if n := active(first); n == 0 {
				t.Fatalf("run 1 never tested active mode; commands: %q", first)
			}
			if i := strings.Index(log, "mode auto: active mode fails, passive from now on"); i < 0 {
				t.Errorf("run 1 did not say that active mode fails:\n%s", log)
			} else {
				line, _, _ := strings.Cut(log[i:], "\n")
				t.Logf("run 1: %s", line)
			}
			sync(2)
			if n := active(srv.Commands()[len(first):]); n != 0 {
				t.Errorf("run 2 tested active mode again (%d PORT/EPRT): the failure was not remembered", n)
			}
		})
	}
}
