//go:build linux

package powercut

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// mountForTest mounts an FS on a temporary directory, or skips (fails
// with CI=true) where FUSE cannot be used.
func mountForTest(t *testing.T) *FS {
	t.Helper()
	Require(t)
	f, err := Mount(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Unmount() })
	return f
}

func read(t *testing.T, p string) (string, bool) {
	t.Helper()
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b), true
}

func write(t *testing.T, p, data string, sync bool) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func syncDir(t *testing.T, p string) {
	t.Helper()
	d, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
}

// What each kind of sync keeps across a power cut.
func TestDurability(t *testing.T) {
	f := mountForTest(t)
	dir := f.Dir()
	write(t, filepath.Join(dir, "synced-all"), "one", false)
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "sub", "inner"), "two", false)
	if err := os.Mkdir(filepath.Join(dir, "d2"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	// After the Sync: changes that nothing makes durable.
	write(t, filepath.Join(dir, "synced-all"), "one, rewritten", false)
	write(t, filepath.Join(dir, "lost"), "never synced", false)
	if err := os.Rename(filepath.Join(dir, "sub", "inner"), filepath.Join(dir, "moved")); err != nil {
		t.Fatal(err)
	}
	// fsync of a file keeps its data, not its name; fsync of the
	// directory keeps the name.
	write(t, filepath.Join(dir, "fsynced-no-dir"), "data", true)
	write(t, filepath.Join(dir, "d2", "both"), "kept", true)
	write(t, filepath.Join(dir, "d2", "name-only"), "lost data", false)
	syncDir(t, filepath.Join(dir, "d2"))

	if err := f.Restart(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path, want string
		exists     bool
	}{
		{"synced-all", "one", true},
		{"sub/inner", "two", true},
		{"moved", "", false},
		{"lost", "", false},
		{"fsynced-no-dir", "", false},
		{"d2/both", "kept", true},
		{"d2/name-only", "", true},
	} {
		got, ok := read(t, filepath.Join(dir, c.path))
		if ok != c.exists || got != c.want {
			t.Errorf("%s: %q exists=%v, want %q exists=%v", c.path, got, ok, c.want, c.exists)
		}
	}
}

// After the armed number of operations every operation fails with EIO,
// and a restart brings back the last durable state.
func TestCut(t *testing.T) {
	f := mountForTest(t)
	dir := f.Dir()
	write(t, filepath.Join(dir, "a"), "a", false)
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.CutAfter(2) // create b; the write fails
	fd, err := os.Create(filepath.Join(dir, "b"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = fd.WriteString("b")
	fd.Close()
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("write after the cut: %v, want EIO", err)
	}
	if !f.Off() {
		t.Fatal("power still on")
	}
	if _, err := os.ReadFile(filepath.Join(dir, "a")); err == nil {
		// The page cache may still answer; a new file never does.
		if _, err := os.Create(filepath.Join(dir, "c")); err == nil {
			t.Fatal("create after the cut succeeded")
		}
	}
	if err := f.Sync(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Sync after the cut: %v, want EIO", err)
	}
	if err := f.Restart(); err != nil {
		t.Fatal(err)
	}
	if got, ok := read(t, filepath.Join(dir, "a")); !ok || got != "a" {
		t.Errorf("a = %q, %v", got, ok)
	}
	if _, ok := read(t, filepath.Join(dir, "b")); ok {
		t.Error("b survived the cut")
	}
}
