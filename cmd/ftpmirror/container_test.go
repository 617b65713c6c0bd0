package main

import (
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestContainerfile builds the repository's Containerfile with podman,
// as its comment says to, and inspects the image: podman can build FROM
// scratch here but not run containers, so the test checks the entrypoint,
// the user, and that the binary in the image is static and runs. It is
// skipped without podman, with -short, and in CI (CI=true) unless
// FTPMIRROR_CONTAINER_TEST=1: a cold build of the static binary takes
// minutes on two cores.
func TestContainerfile(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	if os.Getenv("CI") != "" && os.Getenv("FTPMIRROR_CONTAINER_TEST") != "1" {
		t.Skip("in CI; set FTPMIRROR_CONTAINER_TEST=1 to run")
	}
	podman, err := exec.LookPath("podman")
	if err != nil {
		t.Skip("no podman (apt-get install podman)")
	}
	if runtime.GOOS != "linux" {
		t.Skip("linux only")
	}
	ctxDir := t.TempDir()
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	// As the Containerfile says, less -trimpath and -ldflags, which
	// would make the build miss the cache the other tests fill.
	build := exec.Command(gobin, "build", "-tags", "timetzdata", "-o", filepath.Join(ctxDir, "ftpmirror"), ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	certs, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		certs = []byte{} // the image builds without; FTPS would not verify
	}
	writeFile(t, filepath.Join(ctxDir, "ca-certificates.crt"), string(certs))

	tag := "localhost/ftpmirror-test:" + time.Now().Format("20060102150405.000000")
	cmd := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(podman, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	cmd("build", "-q", "-f", "../../Containerfile", "-t", tag, ctxDir)
	t.Cleanup(func() { exec.Command(podman, "rmi", "-f", tag).Run() })

	var inspect []struct {
		Config struct {
			Entrypoint []string
			Cmd        []string
			User       string
			Env        []string
		}
	}
	if err := json.Unmarshal([]byte(cmd("image", "inspect", tag)), &inspect); err != nil || len(inspect) != 1 {
		t.Fatalf("inspect: %v", err)
	}
	c := inspect[0].Config
	if strings.Join(c.Entrypoint, " ") != "/usr/local/bin/ftpmirror" || strings.Join(c.Cmd, " ") != "--help" {
		t.Errorf("entrypoint %q cmd %q", c.Entrypoint, c.Cmd)
	}
	if c.User == "" || c.User == "0" || strings.HasPrefix(c.User, "root") || strings.HasPrefix(c.User, "0:") {
		t.Errorf("user %q: want an unprivileged one", c.User)
	}

	// The binary as the image has it: mount the image (root) and look.
	mnt := strings.TrimSpace(cmd("image", "mount", tag))
	t.Cleanup(func() { exec.Command(podman, "image", "unmount", tag).Run() })
	bin := filepath.Join(mnt, "usr/local/bin/ftpmirror")
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an ELF interpreter: not static")
		}
	}
	f.Close()
	if fi, err := os.Stat(filepath.Join(mnt, "etc/ssl/certs/ca-certificates.crt")); err != nil || fi.Size() != int64(len(certs)) {
		t.Errorf("CA certificates: %v", err)
	}
	out, err := exec.Command(bin, "--help").Output()
	if err != nil || !strings.Contains(string(out), "ftpmirror keeps local mirrors") {
		t.Errorf("ftpmirror --help from the image: %v\n%s", err, out)
	}
}
