package mirror_test

import (
	"testing"
	"time"

	"github.com/ftpmirror/ftpmirror/internal/hostileftp"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// An OpenVMS server's listing (lines in the layout of Apache
// commons-net's VMSFTPEntryParserTest) mirrors the newest version of
// each file under its name without ";N", and NAME.DIR as directory
// NAME; a second run fetches nothing.
func TestHostileVMS(t *testing.T) {
	root := hostileftp.Dir("",
		hostileftp.File("A.TXT", []byte("version 2"), t0),
		hostileftp.Dir("SUB", hostileftp.File("B.TXT", []byte("b"), t0)),
	)
	vms := map[string]string{
		"/": "Directory USER1:[TEMP]\r\n\r\n" +
			"A.TXT;1                  1/9           2-JUN-1998 07:32:04  [GROUP,OWNER]    (RWED,RWED,RWED,RE)\r\n" +
			"A.TXT;2                  1/9           3-JUN-1998 07:32:04  [GROUP,OWNER]    (RWED,RWED,RWED,RE)\r\n" +
			"SUB.DIR;1                1/9           2-JUN-1998 07:32:04  [GROUP,OWNER]    (RWED,RWED,RWED,RE)\r\n" +
			"\r\nTotal of 3 files, 3/27 blocks.\r\n",
		"/SUB": "B.TXT;1\r\n                         1/15         24-FEB-2003 13:17:24  [POSTWARE,LP]    (RWED,RWED,RE,)\r\n",
	}
	h := newHostile(t, root, &hostileftp.Options{Style: hostileftp.StyleUnix, Listing: func(verb, dir, text string) string {
		if v, ok := vms[dir]; ok && verb == "LIST" {
			return v
		}
		return text
	}})
	sum, err, _ := h.run(nil, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, sum, 2, 0, mirror.ResultOK)
	h.wantFiles(map[string]string{"A.TXT": "version 2", "SUB/": "", "SUB/B.TXT": "b"})
	sum, err, _ = h.run(nil, 10*time.Second)
	if err != nil || sum.Fetched != 0 || sum.Failed != 0 {
		t.Errorf("second run: %v %+v", err, sum)
	}
}

// IBM i (lines in the layout of Apache commons-net's
// OS400FTPEntryParserTest): stream files and directories are mirrored,
// other objects skipped; z/OS dataset listings are refused line by line
// with a message that says why.
func TestHostileIBM(t *testing.T) {
	root := hostileftp.Dir("",
		hostileftp.File("einladung.zip", []byte("zip"), t0),
		hostileftp.Dir("dir1", hostileftp.File("readme", []byte("r"), t0)),
		hostileftp.Dir("mvs"),
	)
	listings := map[string]string{
		"/": "PEP                 3 04/03/18 18:58:16 *STMF      einladung.zip\r\n" +
			"PEP             36864 04/03/24 14:06:34 *DIR       dir1/\r\n" +
			"PEP             77824 04/03/24 14:06:34 *FILE      QSYS.FILE\r\n" +
			"PEP             36864 04/03/24 14:06:34 *DIR       mvs/\r\n",
		"/dir1": "PEP                 1 04/03/18 18:58:16 *STMF      readme\r\n",
		"/mvs": "Volume Unit    Referred Ext Used Recfm Lrecl BlkSz Dsorg Dsname\r\n" +
			"SAVE00 3390   2004/06/23  1    1  FB     128  6144  PS    INCOMING.RPTBM023.D061704\r\n",
	}
	h := newHostile(t, root, &hostileftp.Options{Style: hostileftp.StyleUnix, Listing: func(verb, dir, text string) string {
		if v, ok := listings[dir]; ok && verb == "LIST" {
			return v
		}
		return text
	}})
	sum, err, _ := h.run(nil, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, sum, 2, 2, mirror.ResultPartial)
	wantErrors(t, sum, `list /mvs: LIST /mvs: unsupported LIST line: a z/OS (MVS) dataset listing: datasets and PDS members are records, not files, and are not mirrored in line "SAVE00 3390`)
	if sum.Skipped != 1 {
		t.Errorf("skipped %d, want 1 (the *FILE)", sum.Skipped)
	}
	h.wantFiles(map[string]string{"einladung.zip": "zip", "dir1/": "", "dir1/readme": "r"}) // mvs holds nothing mirrored: not made
	sum, err, _ = h.run(nil, 10*time.Second)
	if err != nil || sum.Fetched != 0 {
		t.Errorf("second run: %v %+v", err, sum)
	}
}
