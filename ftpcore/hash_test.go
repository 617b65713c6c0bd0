package ftpcore

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	sha256Test = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" // SHA-256 of "test"
	md5Test    = "098f6bcd4621d373cade4e832627b4f6"
)

// One row per reply seen from a server, or as the draft and the
// servers' sources write it.
func TestParseChecksum(t *testing.T) {
	tests := []struct {
		cs         Checksum
		msg        string
		start, end int64
		sum        string // hex; empty: an error wrapping ErrProtocol
	}{
		// proftpd 1.3.8 mod_digest: a first line while computing.
		{Checksum{"HASH", HashSHA256}, "Computing SHA-256 digest\nSHA-256 0-4 " + sha256Test + " /a.txt", 0, 4, sha256Test},
		{Checksum{"HASH", HashSHA256}, "Computing SHA-256 digest\nComputing...\nSHA-256 0-4 " + sha256Test + " /a b.txt", 0, 4, sha256Test},
		{Checksum{"HASH", HashSHA256}, "sha-256 0-4 " + strings.ToUpper(sha256Test), 0, 4, sha256Test},
		{Checksum{"HASH", HashMD5}, "MD5 0-4 " + md5Test + " a.txt", 0, 4, md5Test},
		{Checksum{"HASH", HashCRC32}, "CRC32 0-4 d87f7e0c /a.txt", 0, 4, "d87f7e0c"},
		{Checksum{"HASH", HashCRC32}, "CRC32 0-4 87f7e0c /a.txt", 0, 4, "087f7e0c"},
		// proftpd: 250-Computing..., 250 HEX (upper case).
		{Checksum{"XSHA256", HashSHA256}, "Computing SHA256 digest\n" + strings.ToUpper(sha256Test), -1, -1, sha256Test},
		// 213 <hex> (FileZilla Server), 200 <hex> <path> (others).
		{Checksum{"XMD5", HashMD5}, md5Test, -1, -1, md5Test},
		{Checksum{"XMD5", HashMD5}, md5Test + " /a.txt", -1, -1, md5Test},
		{Checksum{"XCRC", HashCRC32}, "D87F7E0C", -1, -1, "d87f7e0c"},
		// Wrong.
		{Checksum{"HASH", HashSHA256}, "SHA-1 0-4 a94a8fe5ccb19ba61c4c0873d391e987982fbbd3 /a.txt", 0, 0, ""},
		{Checksum{"HASH", HashSHA256}, "SHA3-256 0-4 " + sha256Test + " /a.txt", 0, 0, ""}, // OPTS HASH went wrong
		{Checksum{"HASH", HashSHA256}, "SHA-256 4-0 " + sha256Test, 0, 0, ""},
		{Checksum{"HASH", HashSHA256}, "SHA-256 -1-4 " + sha256Test, 0, 0, ""},
		{Checksum{"HASH", HashSHA256}, "SHA-256 0-4", 0, 0, ""},
		{Checksum{"HASH", HashSHA256}, "SHA-256 0-4 " + md5Test, 0, 0, ""},
		{Checksum{"XSHA256", HashSHA256}, "", 0, 0, ""},
		{Checksum{"XSHA256", HashSHA256}, "Computing SHA256 digest", 0, 0, ""},
		{Checksum{"XMD5", HashMD5}, "xyz", 0, 0, ""},
		{Checksum{"XCRC", HashCRC32}, "1d87f7e0c", 0, 0, ""},
		{Checksum{"XMD5", "MD4"}, md5Test, 0, 0, ""},
	}
	for _, tc := range tests {
		d, err := parseChecksum(tc.cs, tc.msg)
		if tc.sum == "" {
			if err == nil {
				t.Errorf("%v %q: %+v, want an error", tc.cs, tc.msg, d)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v %q: %v", tc.cs, tc.msg, err)
			continue
		}
		if hex.EncodeToString(d.Sum) != tc.sum || d.Start != tc.start || d.End != tc.end || d.Algo != tc.cs.Algo {
			t.Errorf("%v %q: %+v, want %s %d-%d", tc.cs, tc.msg, d, tc.sum, tc.start, tc.end)
		}
	}
}

func FuzzParseChecksum(f *testing.F) {
	f.Add("HASH", "Computing SHA-256 digest\nSHA-256 0-4 "+sha256Test+" /a.txt")
	f.Add("XSHA256", strings.ToUpper(sha256Test))
	f.Add("XCRC", "D87F7E0C")
	f.Add("XMD5", md5Test+" /a.txt")
	f.Fuzz(func(t *testing.T, cmd, msg string) {
		for _, cs := range checksumChoices {
			if cs.Command != cmd {
				continue
			}
			d, err := parseChecksum(cs, msg)
			if err != nil {
				if !errors.Is(err, ErrProtocol) || d.Sum != nil {
					t.Errorf("%v %q: %+v, %v", cs, msg, d, err)
				}
				continue
			}
			if len(d.Sum) != sumLen[cs.Algo] || d.Algo != cs.Algo || d.Start > d.End {
				t.Errorf("%v %q: %+v", cs, msg, d)
			}
		}
	})
}

func TestPickChecksum(t *testing.T) {
	tests := []struct {
		feat map[string]string
		want Checksum
		ok   bool
	}{
		{map[string]string{"HASH": "CRC32;MD5;SHA-1*;SHA-256;SHA-512", "XSHA256": "", "XCRC": ""}, Checksum{"HASH", HashSHA256}, true},
		{map[string]string{"HASH": "SHA-1*;MD5", "XSHA256": ""}, Checksum{"XSHA256", HashSHA256}, true},
		{map[string]string{"HASH": "sha-1;md5*"}, Checksum{"HASH", HashSHA1}, true},
		{map[string]string{"XCRC": "", "XMD5": ""}, Checksum{"XMD5", HashMD5}, true},
		{map[string]string{"HASH": "SHA-512*"}, Checksum{}, false},
		{map[string]string{"MDTM": ""}, Checksum{}, false},
	}
	for _, tc := range tests {
		c := &Conn{features: tc.feat}
		got, ok := c.PickChecksum()
		if got != tc.want || ok != tc.ok {
			t.Errorf("%v: %v %v, want %v %v", tc.feat, got, ok, tc.want, tc.ok)
		}
	}
}

// hashServer scripts a server with HASH (SHA-256 by default, SHA-1 in
// FEAT's list) whose /f holds "test".
func hashServer(t *testing.T) *fakeServer {
	var accepted atomic.Int32
	port := dataListener(t, "127.0.0.1:0", "test", &accepted).Addr().(*net.TCPAddr).Port
	h := loginHandlers()
	h["FEAT"] = func(s *fakeSession, _ string) {
		s.reply("211-Features:\r\n MDTM\r\n HASH SHA-1*;SHA-256\r\n211 End\r\n")
	}
	h["OPTS"] = func(s *fakeSession, arg string) { s.reply("200 " + arg + "\r\n") }
	h["EPSV"] = func(s *fakeSession, _ string) {
		s.reply("229 Entering Extended Passive Mode (|||" + strconv.Itoa(port) + "|)\r\n")
	}
	h["HASH"] = func(s *fakeSession, arg string) {
		if arg != "/f" {
			s.reply("550 " + arg + ": No such file\r\n")
			return
		}
		s.reply("213-Computing SHA-256 digest\r\n213 SHA-256 0-4 " + sha256Test + " /f\r\n")
	}
	h["REST"] = func(s *fakeSession, _ string) { s.reply("350 restarting\r\n") }
	h["MDTM"] = func(s *fakeSession, _ string) { s.reply("213 20200102030405\r\n") }
	h["RETR"] = func(s *fakeSession, _ string) { s.reply("150 here it comes\r\n226 done\r\n") }
	return newFakeServer(t, h)
}

// The checksum goes with the RETR, in the same write when pipelining;
// its refusal is the Digest's error, not the transfer's.
func TestRetrChecksum(t *testing.T) {
	for _, pipelined := range []bool{false, true} {
		t.Run(fmt.Sprintf("pipelined=%v", pipelined), func(t *testing.T) {
			ctx := t.Context()
			f := hashServer(t)
			c := dialFake(t, f, &Config{Timeout: 10 * time.Second, DisablePipelining: !pipelined})
			if err := c.Login(ctx, "", ""); err != nil {
				t.Fatal(err)
			}
			cs, ok := c.PickChecksum()
			if !ok || cs != (Checksum{"HASH", HashSHA256}) {
				t.Fatalf("PickChecksum = %v %v", cs, ok)
			}
			if err := c.SelectHash(ctx, cs.Algo); err != nil {
				t.Fatal(err)
			}
			login := len(f.gotWrites())
			// The first transfer: the Conn pipelines only once one worked.
			x, err := c.RetrWith(ctx, "/f", 0, RetrOptions{Checksum: &cs})
			got, rerr := io.ReadAll(x)
			if err != nil || rerr != nil || string(got) != "test" {
				t.Fatal(err, rerr, got)
			}
			d, err := x.Digest()
			if err != nil || hex.EncodeToString(d.Sum) != sha256Test || d.End != 4 {
				t.Errorf("Digest = %+v, %v", d, err)
			}
			if err := x.Close(); err != nil {
				t.Fatal(err)
			}
			x, err = c.RetrWith(ctx, "/g", 2, RetrOptions{Checksum: &cs, ModTime: true})
			if err != nil {
				t.Fatal(err)
			}
			fetchAll(t, x)
			var fe *Error
			if _, err := x.Digest(); !errors.As(err, &fe) || fe.Code != 550 || fe.Cmd != "HASH" {
				t.Errorf("Digest of /g = %v, want HASH's 550", err)
			}
			want := [][]string{{"HASH /f"}, {"EPSV"}, {"RETR /f"}, {"MDTM /g"}, {"HASH /g"}, {"EPSV"}, {"REST 2"}, {"RETR /g"}}
			if pipelined {
				want = [][]string{{"HASH /f"}, {"EPSV"}, {"RETR /f"}, {"MDTM /g", "HASH /g", "EPSV", "REST 2", "RETR /g"}}
			}
			if w := f.gotWrites()[login:]; !reflect.DeepEqual(w, want) {
				t.Errorf("writes\n%q\nwant\n%q", w, want)
			}
			if !bytes.Contains([]byte(strings.Join(f.got(), "\n")), []byte("OPTS HASH SHA-256")) {
				t.Errorf("no OPTS HASH SHA-256 in %q", f.got())
			}
		})
	}
}

// fetchAll reads x to its end and closes it.
func fetchAll(t *testing.T, x *Transfer) {
	t.Helper()
	if _, err := io.ReadAll(x); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
}
