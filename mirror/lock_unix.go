//go:build unix

package mirror

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// lockTarget takes an exclusive flock(2) on the target directory itself
// for the rest of the run: two runs that write one target exclude each
// other whatever their job names, state paths or environments, in one
// process or two. Nothing is written for it, and the kernel drops the
// lock when the process dies, so it is never stale.
func lockTarget(root *os.Root, target string) (release func(), err error) {
	f, err := root.Open(".")
	if err != nil {
		return nil, fmt.Errorf("lock target: %w", err)
	}
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	switch {
	case err == nil:
		return func() { f.Close() }, nil
	case errors.Is(err, unix.EWOULDBLOCK):
		h := targetHolder(f)
		f.Close()
		return nil, &TargetLockedError{Target: target, Holder: h}
	}
	f.Close()
	return nil, fmt.Errorf("lock target %s: %w (a file system without flock?)", target, err)
}

// targetHolder finds who holds the flock on dir in /proc/locks (Linux);
// elsewhere, or if it cannot tell, the holder is unknown.
func targetHolder(dir *os.File) LockHolder {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(dir.Fd()), &st); err != nil {
		return LockHolder{}
	}
	f, err := os.Open("/proc/locks")
	if err != nil {
		return LockHolder{}
	}
	defer f.Close()
	dev := uint64(st.Dev)
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(dev), unix.Minor(dev), st.Ino)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "1: FLOCK  ADVISORY  WRITE 12345 fd:01:1234567 0 EOF"
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[1] != "FLOCK" || fields[5] != want {
			continue
		}
		pid, err := strconv.Atoi(fields[4])
		if err != nil || pid <= 0 {
			continue
		}
		return processHolder(pid)
	}
	return LockHolder{}
}

// processHolder describes process pid from /proc.
func processHolder(pid int) LockHolder {
	h := LockHolder{PID: pid}
	h.Host, _ = os.Hostname()
	if cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil {
		h.Cmd = strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))
	}
	h.Since = processStart(pid)
	return h
}

// processStart is when process pid started: field 22 of
// /proc/PID/stat, in clock ticks (USER_HZ, 100 on Linux) after the boot
// time in /proc/stat. Zero if it cannot tell.
func processStart(pid int) time.Time {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return time.Time{}
	}
	// The command name (field 2) may hold spaces: count from its ')'.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return time.Time{}
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 20 {
		return time.Time{}
	}
	ticks, err := strconv.ParseInt(fields[19], 10, 64)
	if err != nil {
		return time.Time{}
	}
	boot, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}
	}
	for _, line := range strings.Split(string(boot), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			sec, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}
			}
			return time.Unix(sec, 0).Add(time.Duration(ticks) * time.Second / 100)
		}
	}
	return time.Time{}
}
