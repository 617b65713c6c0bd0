package probe

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// profile is a profile as a probe of a server in UTC+2 behind NAT,
// with a limit of two connections, would give.
func profile() *Profile {
	return &Profile{
		Server: "ftp.example.org:21", User: "anonymous", Dir: "/pub", When: time.Date(2026, 11, 30, 1, 2, 3, 0, time.UTC),
		Greeting: "Welcome\nto the server", System: "UNIX Type: L8",
		Features: []Feature{{Name: "EPSV"}, {Name: "REST", Params: "STREAM"}},
		TLS:      &TLS{Mode: "explicit", Version: "TLS 1.3", Cipher: "TLS_AES_128_GCM_SHA256", SessionReuse: yes("522 session reuse required")},
		Listing: Listing{MLSD: no("not offered"), STAT: yes("3 entries"), LIST: yes("3 entries"), Command: "STAT",
			Dialects: map[string]int{"unix": 3}, Unparsed: []string{`"weird line"`}, Bad: 1},
		Clock:      Clock{ListMinute: 3, ListDay: 1, Samples: 3, ListOffset: 7200, Consistent: true},
		Passive:    Passive{EPSV: no("502 no"), PASV: yes("227 (10,0,0,1,1,2)"), PASVAddress: "10.0.0.1", NAT: true, Works: yes("")},
		Active:     no("no data connection from the server within 5s"),
		Pipelining: Pipelining{Passive: yes(""), Active: unknown("active mode does not work")},
		Rest:       yes(""),
		Checksums:  []Checksum{{Command: "XSHA256", Offered: true, Check: yes("213 abc")}},
		Conns:      Connections{Asked: 8, Opened: 2, Limit: 2, Reply: "421 too many"},
	}
}

func TestWriteText(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(p *Profile)
		want []string
	}{
		{"full", func(*Profile) {}, []string{
			"server:            ftp.example.org:21, as anonymous, in /pub\n",
			"greeting:          Welcome | to the server\n",
			"features:          EPSV, REST STREAM\n",
			"TLS:               explicit, TLS 1.3, TLS_AES_128_GCM_SHA256\n",
			"TLS session reuse: data connections must resume the control connection's session (522 session reuse required)\n",
			"listing with:      STAT\n",
			"LIST dialect:      unix (3 lines); 1 line that no parser understands:\n                   \"weird line\"\n",
			"LIST times:        to the minute for recent files (3), the day only for older ones (1)\n",
			"clock:             LIST shows UTC+02:00 (LIST minus MDTM over 3 recent files: +7200s)\n",
			"PASV:              yes (227 (10,0,0,1,1,2)); it names 10.0.0.1, not the server's address (NAT?)",
			"active mode:       fails (no data connection from the server within 5s)\n",
			"XSHA256:           in FEAT, answers (213 abc)\n",
			"connections:       the server took 2 at once and refused the next (421 too many)\n",
		}},
		{"plain, UTC, not probed", func(p *Profile) {
			p.TLS = nil
			p.Clock = Clock{ListMinute: 2, Samples: 2, Consistent: false}
			p.Conns = Connections{}
			p.Features = nil
		}, []string{
			"features:          none (no FEAT)\n",
			"clock:             LIST shows UTC, as MDTM does (2 recent files compared); the samples disagree by more than a minute\n",
			"connections:       not probed (-probe-connections N opens up to N)\n",
		}},
		{"negative offset, no samples", func(p *Profile) {
			p.Clock = Clock{ListDay: 4, Note: "no file with a time of day"}
		}, []string{
			"LIST times:        the day only (4 files, older than six months)\n",
			"clock:             not compared: no file with a time of day\n",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := profile()
			tt.edit(p)
			var b strings.Builder
			if err := WriteText(&b, p); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, b.String())
				}
			}
			if tt.name != "full" && strings.Contains(b.String(), "TLS:") != (p.TLS != nil) {
				t.Errorf("TLS line without TLS:\n%s", b.String())
			}
		})
	}
}

func TestZone(t *testing.T) {
	for s, want := range map[int]string{0: "UTC+00:00", 7200: "UTC+02:00", -16200: "UTC-04:30", 20700: "UTC+05:45"} {
		if got := zone(s); got != want {
			t.Errorf("zone(%d) = %q, want %q", s, got, want)
		}
	}
}

// TestProfileJSON: a profile survives JSON, as the state will keep it.
func TestProfileJSON(t *testing.T) {
	p := profile()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Profile
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, p) {
		t.Errorf("round trip:\n%+v\nwant\n%+v", &back, p)
	}
	for _, key := range []string{`"list_offset_seconds":7200`, `"nat":true`, `"session_reuse_required":{"result":"yes"`, `"limit":2`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s: %s", key, b)
		}
	}
}

func TestSuggestAndWriteJob(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(p *Profile)
		want Suggestion
		job  []string
	}{
		{"limit 2", func(*Profile) {}, Suggestion{Mode: "passive", Parallel: 1, Pipelining: true},
			[]string{`mode = "passive"`, "parallel = 1\n", "pipelining = true\n", "# listing: STAT", "# LIST times are UTC+02:00", `tls = "explicit"`, `user = "bob"`, `tls_ca_file = "/etc/ca.pem"`}},
		{"only active works, out of order", func(p *Profile) {
			p.Passive.Works = no("425")
			p.Active = yes("")
			p.Pipelining.Active = no("out of order")
			p.Conns = Connections{}
		}, Suggestion{Mode: "active", Parallel: 4, Pipelining: false},
			[]string{`mode = "active"`, "parallel = 4\n", "pipelining = false\n"}},
		{"passive out of order, active fine", func(p *Profile) {
			p.Pipelining.Passive = no("out of order")
			p.Active = yes("")
			p.Conns = Connections{Asked: 8, Opened: 8}
		}, Suggestion{Mode: "auto", Parallel: 4, Pipelining: false},
			[]string{`mode = "auto"`, "pipelining = false\n"}},
		{"both modes work, in order", func(p *Profile) {
			p.Active = yes("")
			p.Pipelining.Active = yes("")
			p.Conns = Connections{}
		}, Suggestion{Mode: "auto", Parallel: 4, Pipelining: true},
			[]string{`mode = "auto"`, "pipelining = true\n"}},
		{"active out of order (pyftpdlib)", func(p *Profile) {
			p.Active = yes("")
			p.Pipelining.Active = no("out of order")
			p.Conns = Connections{}
		}, Suggestion{Mode: "passive", Parallel: 4, Pipelining: true},
			[]string{"pipelining = true\n", `# with mode = "active", set pipelining = false`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := profile()
			tt.edit(p)
			s := p.Suggest()
			s.Why = nil
			if !reflect.DeepEqual(s, tt.want) {
				t.Errorf("Suggest = %+v, want %+v", s, tt.want)
			}
			var b strings.Builder
			if err := WriteJob(&b, p, Job{Name: "n", Source: "ftp://h/pub", Target: "/srv/mirror/n", User: "bob", TLS: "explicit", TLSCAFile: "/etc/ca.pem"}); err != nil {
				t.Fatal(err)
			}
			for _, w := range append(tt.job, "[[job]]\nname = \"n\"\nsource = \"ftp://h/pub\"\n") {
				if !strings.Contains(b.String(), w) {
					t.Errorf("job lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
}
