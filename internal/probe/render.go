package probe

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
)

// Suggestion is what a profile suggests for a job's settings.
type Suggestion struct {
	Mode       string   `json:"mode"` // "auto", "passive" or "active"
	Parallel   int      `json:"parallel"`
	Pipelining bool     `json:"pipelining"`
	Why        []string `json:"why,omitempty"`
}

// defaultParallel is the job files' default width.
const defaultParallel = 4

// Suggest returns the job settings the profile suggests: mode auto (the
// default) where active mode worked, in order when pipelined; passive
// where it did not, which spares each run's own test; active where only
// active worked. Pipelining unless replies came out of order, and a
// width below a connection limit that was found.
func (p *Profile) Suggest() Suggestion {
	s := Suggestion{Mode: "auto", Parallel: defaultParallel, Pipelining: true}
	pipe := p.Pipelining.Passive
	switch {
	case p.Passive.Works.Result != Yes && p.Active.Result == Yes:
		s.Mode = "active"
		pipe = p.Pipelining.Active
		s.Why = append(s.Why, "passive data connections failed and active ones worked")
	case p.Passive.Works.Result != Yes:
		s.Why = append(s.Why, "no data connection worked in either mode: see passive mode and active mode above")
	case p.Active.Result != Yes:
		s.Mode = "passive"
		s.Why = append(s.Why, "active data connections failed from here: mode auto would only test them again")
	case p.Pipelining.Active.Result == No:
		s.Mode = "passive"
		s.Why = append(s.Why, "replies to pipelined commands came out of order in active mode: mode auto's test of it would fail")
	}
	if pipe.Result == No {
		s.Pipelining = false
		s.Why = append(s.Why, "replies to pipelined commands came out of order in "+strings.Replace(s.Mode, "auto", "passive", 1)+" mode")
	}
	if l := p.Conns.Limit; l > 0 && l-1 < s.Parallel {
		s.Parallel = max(1, l-1)
		s.Why = append(s.Why, fmt.Sprintf("the server took %d connections at once; one is left for others", l))
	}
	return s
}

// Job is what a [[job]] block needs besides the profile.
type Job struct {
	Name   string
	Source string // the URL, without a password
	Target string
	User   string // "" for anonymous
	TLS    string // "", "explicit" or "implicit"
	// TLSCAFile and TLSInsecure are the job keys tls_ca_file and
	// tls_insecure, as given to doctor.
	TLSCAFile   string
	TLSInsecure bool
}

// WriteJob writes a [[job]] block for a job file (jobs.toml) with the
// settings the profile suggests. Its keys are the job file's.
func WriteJob(w io.Writer, p *Profile, j Job) error {
	s := p.Suggest()
	var b strings.Builder
	b.WriteString("[[job]]\n")
	fmt.Fprintf(&b, "name = %s\n", strconv.Quote(j.Name))
	fmt.Fprintf(&b, "source = %s\n", strconv.Quote(j.Source))
	fmt.Fprintf(&b, "target = %s   # change me: the local directory to mirror into\n", strconv.Quote(j.Target))
	if j.User != "" {
		fmt.Fprintf(&b, "user = %s\n", strconv.Quote(j.User))
		b.WriteString("# password: set password_env or password_file, or use ~/.netrc\n")
	}
	if j.TLS != "" && j.TLS != "none" {
		fmt.Fprintf(&b, "tls = %s\n", strconv.Quote(j.TLS))
	}
	if j.TLSCAFile != "" {
		fmt.Fprintf(&b, "tls_ca_file = %s\n", strconv.Quote(j.TLSCAFile))
	}
	if j.TLSInsecure {
		b.WriteString("tls_insecure = true   # the server's certificate is not verified\n")
	}
	fmt.Fprintf(&b, "mode = %s\n", strconv.Quote(s.Mode))
	fmt.Fprintf(&b, "parallel = %d\n", s.Parallel)
	fmt.Fprintf(&b, "pipelining = %t\n", s.Pipelining)
	for _, why := range s.Why {
		fmt.Fprintf(&b, "# %s\n", why)
	}
	if s.Mode == "passive" && s.Pipelining && p.Pipelining.Active.Result == No {
		b.WriteString("# with mode = \"active\", set pipelining = false: replies came out of order in active mode\n")
	}
	if p.Listing.Command != "" {
		fmt.Fprintf(&b, "# listing: %s (chosen by ftpmirror itself; no key)\n", p.Listing.Command)
	}
	if p.Clock.Samples > 0 && p.Clock.ListOffset != 0 {
		fmt.Fprintf(&b, "# LIST times are %s (ftpmirror uses MDTM/MLSD times, which are UTC)\n", zone(p.Clock.ListOffset))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// zone writes an offset from UTC as "UTC+02:00".
func zone(seconds int) string {
	return ftpcore.ZoneName(time.Duration(seconds) * time.Second)
}

// WriteText writes the profile in plain words, one probe per line.
func WriteText(w io.Writer, p *Profile) error {
	var b strings.Builder
	line := func(label, format string, args ...any) {
		fmt.Fprintf(&b, "%-18s %s\n", label+":", fmt.Sprintf(format, args...))
	}
	line("server", "%s, as %s, in %s", p.Server, p.User, orQuote(p.Dir, "the login directory"))
	line("greeting", "%s", strings.ReplaceAll(p.Greeting, "\n", " | "))
	line("system", "%s", orQuote(p.System, "(SYST refused)"))
	names := make([]string, len(p.Features))
	for i, f := range p.Features {
		names[i] = strings.TrimSpace(f.Name + " " + f.Params)
	}
	line("features", "%s", orQuote(strings.Join(names, ", "), "none (no FEAT)"))
	if p.TLS != nil {
		line("TLS", "%s, %s, %s", p.TLS.Mode, p.TLS.Version, p.TLS.Cipher)
		line("TLS session reuse", "%s", describe(p.TLS.SessionReuse, "data connections must resume the control connection's session", "not required", "not known"))
	}
	l := p.Listing
	line("MLSD", "%s", describe(l.MLSD, "works", "no", "not tried"))
	line("STAT -a", "%s", describe(l.STAT, "lists over the control connection", "no", "not tried"))
	line("LIST", "%s", describe(l.LIST, "works", "no", "not tried"))
	line("listing with", "%s", orQuote(l.Command, "nothing worked"))
	line("LIST dialect", "%s", dialects(l))
	for _, u := range l.Unparsed {
		fmt.Fprintf(&b, "%-18s %s\n", "", u)
	}
	line("LIST times", "%s", listTimes(p.Clock))
	line("clock", "%s", clockWords(p.Clock))
	pa := p.Passive
	line("EPSV", "%s", describe(pa.EPSV, "yes", "no", "not tried"))
	pasv := describe(pa.PASV, "yes", "no", "not tried")
	if pa.NAT {
		pasv += fmt.Sprintf("; it names %s, not the server's address (NAT?): ftpmirror connects to the server's address anyway", pa.PASVAddress)
	}
	line("PASV", "%s", pasv)
	line("passive mode", "%s", describe(pa.Works, "works", "fails", "unknown"))
	line("active mode", "%s", describe(p.Active, "works: the server connects back", "fails", "unknown"))
	line("pipelining", "passive: %s; active: %s",
		describe(p.Pipelining.Passive, "replies in order", "out of order", "unknown"),
		describe(p.Pipelining.Active, "replies in order", "out of order", "unknown"))
	line("REST", "%s", describe(p.Rest, "works", "no", "unknown"))
	for _, cs := range p.Checksums {
		offered := "not in FEAT"
		if cs.Offered {
			offered = "in FEAT"
		}
		line(cs.Command, "%s, %s", offered, describe(cs.Check, "answers", "no", "not tried"))
	}
	line("connections", "%s", connWords(p.Conns))
	_, err := io.WriteString(w, b.String())
	return err
}

// describe says a check's result in the words given, with its detail.
func describe(c Check, yesWords, noWords, unknownWords string) string {
	s := unknownWords
	switch c.Result {
	case Yes:
		s = yesWords
	case No:
		s = noWords
	}
	if c.Detail != "" {
		s += " (" + c.Detail + ")"
	}
	return s
}

func orQuote(s, instead string) string {
	if s == "" {
		return instead
	}
	return s
}

func dialects(l Listing) string {
	var parts []string
	for _, d := range slices.Sorted(maps.Keys(l.Dialects)) {
		parts = append(parts, fmt.Sprintf("%s (%s)", d, count(l.Dialects[d], "line", "lines")))
	}
	s := orQuote(strings.Join(parts, ", "), "none seen")
	if l.Bad > 0 {
		s += fmt.Sprintf("; %s that no parser understands:", count(l.Bad, "line", "lines"))
	}
	return s
}

func listTimes(c Clock) string {
	switch {
	case c.ListMinute > 0 && c.ListDay > 0:
		return fmt.Sprintf("to the minute for recent files (%d), the day only for older ones (%d)", c.ListMinute, c.ListDay)
	case c.ListMinute > 0:
		return fmt.Sprintf("to the minute (%s)", count(c.ListMinute, "file", "files"))
	case c.ListDay > 0:
		return fmt.Sprintf("the day only (%s, older than six months)", count(c.ListDay, "file", "files"))
	}
	return "no file seen"
}

func clockWords(c Clock) string {
	if c.Samples == 0 {
		return "not compared: " + orQuote(c.Note, "no sample")
	}
	s := fmt.Sprintf("LIST shows %s (LIST minus MDTM over %s: %+ds)", zone(c.ListOffset), count(c.Samples, "recent file", "recent files"), c.ListOffset)
	if c.ListOffset == 0 {
		s = fmt.Sprintf("LIST shows UTC, as MDTM does (%s compared)", count(c.Samples, "recent file", "recent files"))
	}
	if !c.Consistent {
		s += "; the samples disagree by more than a minute"
	}
	if c.MLSDSamples > 0 {
		if c.MLSDOffset == 0 {
			s += "; MLSD agrees with MDTM"
		} else {
			s += fmt.Sprintf("; MLSD differs from MDTM by %+ds", c.MLSDOffset)
		}
	}
	return s
}

func connWords(c Connections) string {
	switch {
	case c.Asked == 0:
		return "not probed (-probe-connections N opens up to N)"
	case c.Limit > 0:
		return fmt.Sprintf("the server took %d at once and refused the next (%s)", c.Limit, c.Reply)
	case c.Reply != "":
		return fmt.Sprintf("%d at once, then a failure that is not a refusal (%s)", c.Opened, c.Reply)
	}
	return fmt.Sprintf("at least %d at once (no limit reached)", c.Opened)
}

// count writes n with the singular or plural noun.
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Print prints the profile and the [[job]] block, in words (WriteText,
// WriteJob) or as one JSON object (the profile, Suggest and the block).
func Print(stdout io.Writer, p *Profile, job Job, asJSON bool) error {
	if asJSON {
		var b strings.Builder
		if err := WriteJob(&b, p, job); err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			*Profile
			Suggested Suggestion `json:"suggested"`
			Job       string     `json:"job"`
		}{p, p.Suggest(), b.String()})
	}
	if err := WriteText(stdout, p); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nFor a job file (check it with \"ftpmirror check -jobs FILE\"):\n\n")
	return WriteJob(stdout, p, job)
}
