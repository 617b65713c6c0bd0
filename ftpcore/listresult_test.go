package ftpcore

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// listHandlers serves payload as the data of LIST (STAT and MLSD are not
// implemented).
func listHandlers(t *testing.T, payload string) map[string]func(s *fakeSession, arg string) {
	var n atomic.Int32
	port := dataListener(t, "127.0.0.1:0", payload, &n).Addr().(*net.TCPAddr).Port
	h := loginHandlers()
	h["NOOP"] = func(s *fakeSession, _ string) { s.reply("200 ok\r\n") }
	h["EPSV"] = func(s *fakeSession, _ string) {
		s.reply("229 Entering Extended Passive Mode (|||" + strconv.Itoa(port) + "|)\r\n")
	}
	h["LIST"] = func(s *fakeSession, _ string) {
		s.reply("150 here it comes\r\n")
		time.Sleep(10 * time.Millisecond) // let the data connection finish first
		s.reply("226 done\r\n")
	}
	return h
}

// One bad line costs one entry: the others come back with a *ListError
// that quotes the bad ones (issue 13).
func TestListBadLines(t *testing.T) {
	bad := []string{
		"-rw-r--r--    1 ftp      ftp             3 Jan 02  2024 ../x",
		"-rw-r--r--    1 ftp      ftp  18446744073709551616 Jan 02  2024 big",
		"?? no parser knows this ??",
	}
	payload := bad[0] + "\r\n" +
		"-rw-r--r--    1 ftp      ftp             3 Jan 02  2024 a\r\n" +
		bad[1] + "\r\n" +
		"drwxr-xr-x    2 ftp      ftp          4096 Jan 02  2024 sub\r\n" +
		bad[2] + "\r\n"
	f := newFakeServer(t, listHandlers(t, payload))
	c := dialFake(t, f, &Config{Timeout: 10 * time.Second})
	if err := c.Login(t.Context(), "", ""); err != nil {
		t.Fatal(err)
	}
	entries, err := c.List(t.Context(), "/dir")
	var le *ListError
	if !errors.As(err, &le) {
		t.Fatalf("List = %v, %v; want entries and a *ListError", entries, err)
	}
	if len(entries) != 2 || entries[0].Name != "a" || entries[1].Name != "sub" {
		t.Errorf("entries %v, want a and sub", entries)
	}
	if le.Cmd != "LIST" || le.Dir != "/dir" || le.Count != 3 || len(le.Lines) != 3 {
		t.Fatalf("ListError %+v", le)
	}
	for i, l := range le.Lines {
		if l.Line != bad[i] {
			t.Errorf("bad line %d is %q, want %q", i, l.Line, bad[i])
		}
	}
	if !errors.Is(le.Lines[0], ErrProtocol) || !errors.Is(le.Lines[1], ErrProtocol) || !errors.Is(le.Lines[2], errUnsupportedListLine) {
		t.Errorf("line errors: %v", le.Lines)
	}
	if want := `LIST /dir: 3 lines without an entry, the first: ftp protocol violation: bad name "../x" in line ` + strconv.Quote(bad[0]); err.Error() != want {
		t.Errorf("error %q\nwant %q", err, want)
	}
}

// A listing of bad lines only keeps the first maxBadLines, each cut to
// maxQuotedLine bytes, and counts them all.
func TestListBadLinesBounded(t *testing.T) {
	long := "?" + strings.Repeat("x", 4<<10)
	var b strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&b, "%s %d\r\n", long, i)
	}
	f := newFakeServer(t, listHandlers(t, b.String()))
	c := dialFake(t, f, &Config{Timeout: 10 * time.Second})
	if err := c.Login(t.Context(), "", ""); err != nil {
		t.Fatal(err)
	}
	entries, err := c.List(t.Context(), "/dir")
	var le *ListError
	if !errors.As(err, &le) || len(entries) != 0 {
		t.Fatalf("List = %v, %v", entries, err)
	}
	if le.Count != 1000 || len(le.Lines) != maxBadLines {
		t.Errorf("Count %d, %d lines kept; want 1000, %d", le.Count, len(le.Lines), maxBadLines)
	}
	if l := le.Lines[0].Line; len(l) != maxQuotedLine+3 || !strings.HasSuffix(l, "...") {
		t.Errorf("kept %d bytes of a %d-byte line", len(l), len(long))
	}
}

// A STAT listing (after a first one showed that STAT lists) keeps its
// good entries too.
func TestListSTATBadLines(t *testing.T) {
	h := loginHandlers()
	cwd := "/"
	h["CWD"] = func(s *fakeSession, arg string) { cwd = arg; s.reply("250 ok\r\n") }
	h["NOOP"] = func(s *fakeSession, _ string) { s.reply("200 ok\r\n") }
	h["STAT"] = func(s *fakeSession, arg string) {
		s.reply("211-status of " + arg + ":\r\n")
		s.reply(" drwxr-xr-x 2 ftp ftp 4096 Jan 02  2024 .\r\n")
		s.reply(" -rw-r--r-- 1 ftp ftp 3 Jan 02  2024 a\r\n")
		if cwd == "/bad" && arg == "-a ." {
			s.reply(" -rw-r--r-- 1 ftp ftp 3 Jan 02  2024 a/b\r\n")
		}
		s.reply("211 End of status\r\n")
	}
	f := newFakeServer(t, h)
	c := dialFake(t, f, &Config{Timeout: 10 * time.Second})
	if err := c.Login(t.Context(), "", ""); err != nil {
		t.Fatal(err)
	}
	if entries, err := c.List(t.Context(), "/good"); err != nil || len(entries) != 1 {
		t.Fatalf("List /good = %v, %v", entries, err)
	}
	entries, err := c.List(t.Context(), "/bad")
	var le *ListError
	if !errors.As(err, &le) || le.Cmd != "STAT" || le.Count != 1 || len(entries) != 1 || entries[0].Name != "a" {
		t.Fatalf("List /bad = %v, %v", entries, err)
	}
	if le.Lines[0].Line != "-rw-r--r-- 1 ftp ftp 3 Jan 02  2024 a/b" {
		t.Errorf("bad line %q", le.Lines[0].Line)
	}
	if err := c.Noop(t.Context()); err != nil {
		t.Errorf("connection after the listing: %v", err)
	}
}

// Listings that share a ListMemory hold no more than its limit together,
// and give it back when they end.
func TestListMemoryShared(t *testing.T) {
	mem := NewListMemory(4 << 20)
	newListing := func() *listing {
		return &listing{cmd: "MLSD", dir: "/", parse: func(s string, _ time.Time) (Entry, error) { return parseMLSDLine(s) }, mem: mem}
	}
	fill := func(l *listing, n int) error {
		for i := range n {
			if err := l.add(fmt.Sprintf("type=file;size=1;modify=20240101000000; f%d", i)); err != nil {
				return err
			}
		}
		return nil
	}
	a, b := newListing(), newListing()
	if err := fill(a, 20000); err != nil { // about 2.4 MiB
		t.Fatal(err)
	}
	err := fill(b, 20000)
	if !errors.Is(err, ErrListMemory) || !IsTransient(err) {
		t.Fatalf("second listing: %v, want a transient ErrListMemory", err)
	}
	if got := mem.held.Load(); got > mem.limit {
		t.Errorf("held %d of %d", got, mem.limit)
	}
	b.release()
	if _, err := a.result(); err != nil {
		t.Fatal(err)
	}
	if got := mem.held.Load(); got != 0 {
		t.Errorf("held %d after both ended", got)
	}
	if err := fill(newListing(), 20000); err != nil {
		t.Errorf("after the others ended: %v", err)
	}
}

// Without a ListMemory one listing may hold MaxListBytes.
func TestListMemoryAlone(t *testing.T) {
	l := &listing{cmd: "LIST", dir: "/", parse: func(s string, _ time.Time) (Entry, error) { return parseMLSDLine(s) }, limit: 1 << 20}
	var err error
	for i := 0; err == nil && i < 1e6; i++ {
		err = l.add(fmt.Sprintf("type=file;size=1;modify=20240101000000; f%d", i))
	}
	if !errors.Is(err, ErrListMemory) || IsTransient(err) || int64(cap(l.entries))*entrySize > 1<<20 {
		t.Errorf("err %v with room for %d entries", err, cap(l.entries))
	}
}

// A VMS listing (Apache commons-net's VMSFTPEntryParserTest) keeps the
// newest version of each file, under its name without the version, and
// joins a name too long for its column with the line after it.
func TestListingVMS(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "listings", "commons-net-vms-list.txt"))
	if err != nil {
		t.Fatal(err)
	}
	l := testListing(1 << 30)
	for line := range strings.Lines(string(raw)) {
		if line = strings.TrimRight(line, "\r\n"); line != "" {
			if err := l.add(line); err != nil {
				t.Fatal(err)
			}
		}
	}
	entries, err := l.result()
	var le *ListError
	if !errors.As(err, &le) || le.Count != 1 || !strings.HasPrefix(le.Lines[0].Line, "AA.;2") {
		t.Errorf("err %v, want the one line with month FED", err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, fmt.Sprintf("%s %s %s", e.Type, e.Name, e.Time.Format("2006-01-02")))
	}
	want := []string{
		"file 1-JUN.LIS 1998-06-02", "file 2-JUN.LIS 1998-06-02", "file 3-JUN.LIS 1998-06-07",
		"dir DATA 1998-06-02", "file 120196.TXT 1997-04-14", "file A. 1998-07-01",
		"file UCX$REXECD_STARTUP.LOG 2003-02-24", "dir FREEWARE40 1999-02-16", "file ALLOCMISS.COM 1996-08-15",
	}
	if !slices.Equal(got, want) {
		t.Errorf("entries\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A name alone at the end of a listing is a bad line.
	l = testListing(1 << 30)
	l.add("UNZIP_AND_ATTACH_FILES.SAV;1")
	if _, err := l.result(); !errors.As(err, &le) || le.Lines[0].Line != "UNZIP_AND_ATTACH_FILES.SAV;1" {
		t.Errorf("a name alone at the end: %v", err)
	}
}

// testListing is a LIST listing as Conn.list makes it, parsing with
// parseNow and UTC, holding at most limit bytes.
func testListing(limit int64) *listing {
	return &listing{cmd: "LIST", dir: "/", now: parseNow, joinVMS: true, limit: limit,
		parse: func(line string, now time.Time) (Entry, error) { return parseListLine(line, now, time.UTC) }}
}

// TestListManyChainsMLSD: where MLSD lists on a pipelining connection,
// ListMany sends each listing's commands once the data of the one before
// has ended, before its 226. The server here, like proftpd, sends its
// 226 late: it looks (at most 2 s) whether the next listing's commands
// have come before it does.
func TestListManyChainsMLSD(t *testing.T) {
	h := listHandlers(t, "type=file;size=3;modify=20240102030405; a\r\n")
	h["FEAT"] = func(s *fakeSession, _ string) { s.reply("211-Features:\r\n MLST type*;size*;modify*;\r\n211 End\r\n") }
	h["CWD"] = func(s *fakeSession, arg string) {
		if arg == "/missing" {
			s.reply("550 no such directory\r\n")
			return
		}
		s.reply("250 ok\r\n")
	}
	var listings, early atomic.Int32
	h["MLSD"] = func(s *fakeSession, _ string) {
		s.reply("150 here it comes\r\n")
		time.Sleep(10 * time.Millisecond) // let the data connection finish first
		if listings.Add(1) < 3 {
			s.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := s.r.Peek(1); err == nil {
				early.Add(1)
			}
			s.conn.SetReadDeadline(time.Time{})
		}
		s.reply("226 done\r\n")
	}
	f := newFakeServer(t, h)
	c := dialFake(t, f, &Config{Listing: "MLSD", PipelineFirst: true, Timeout: 10 * time.Second})
	if err := c.Login(t.Context(), "", ""); err != nil {
		t.Fatal(err)
	}
	if !c.ChainsListings() {
		t.Fatal("ChainsListings false on a pipelining MLSD connection")
	}
	lists, errs := c.ListMany(t.Context(), []string{"/a", "/b", "/c"})
	for i := range lists {
		if errs[i] != nil || len(lists[i]) != 1 || lists[i][0].Name != "a" {
			t.Errorf("listing %d = %v, %v", i, lists[i], errs[i])
		}
	}
	if n := early.Load(); n != 2 {
		t.Errorf("%d of 2 listings had the next one's commands before their 226", n)
	}
	var cwds []string
	for _, cmd := range f.got() {
		if strings.HasPrefix(cmd, "CWD ") {
			cwds = append(cwds, cmd)
		}
	}
	if want := []string{"CWD /a", "CWD /b", "CWD /c"}; !slices.Equal(cwds, want) {
		t.Errorf("CWDs %q, want %q", cwds, want)
	}

	// A refused CWD in the middle of a chain fails that listing alone:
	// the conversation stays in step.
	lists, errs = c.ListMany(t.Context(), []string{"/a", "/missing", "/c"})
	var fe *Error
	if !errors.As(errs[1], &fe) || fe.Code != 550 || lists[1] != nil {
		t.Errorf("listing of /missing = %v, %v; want the CWD's 550", lists[1], errs[1])
	}
	for _, i := range []int{0, 2} {
		if errs[i] != nil || len(lists[i]) != 1 {
			t.Errorf("listing %d = %v, %v", i, lists[i], errs[i])
		}
	}
}
