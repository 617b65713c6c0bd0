package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/robfig/cron/v3"

	"github.com/ftpmirror/ftpmirror/mirror"
)

// A job file (jobs.toml) has an optional [defaults] table and one
// [[job]] table per job. Every key of sync's flags has a job key with the
// same meaning and default (defaultJob); [defaults] takes any key but
// name, and a job's own keys win over it. Relative paths (target, state,
// password_file, tls_ca_file, a hook's program) are taken relative to the
// directory of the job file, so that a file means the same under systemd
// as in the shell it was written in.

// jobFile is a loaded and validated job file.
type jobFile struct {
	Path     string
	Jobs     []*jobSpec
	Warnings []string // things that work but are probably not meant
}

// job returns the job called name, or nil.
func (f *jobFile) job(name string) *jobSpec {
	for _, j := range f.Jobs {
		if j.Name == name {
			return j
		}
	}
	return nil
}

// jobSpec is one [[job]]: the sync settings plus what the daemon, status
// and hooks need.
type jobSpec struct {
	jobConfig // Password stays empty: resolvePassword reads it at each run

	Schedule     string        // cron expression as written; "" means only `sync -jobs` runs it
	schedule     cron.Schedule // parsed Schedule; nil without one
	PasswordEnv  string        // environment variable holding the password
	PasswordFile string        // file holding the password (one line)
	Jitter       time.Duration // random delay in [0, Jitter) before each scheduled run
	CatchUp      bool          // run at daemon start when a scheduled run was missed
	Freshness    time.Duration // max_age: bound on the age of the last success; zero means none

	OnSuccess, OnFailure, OnChange []string // hook argv lists
	HookTimeout                    time.Duration

	Line int // line of the job's [[job]] header; 0 if unknown
}

// defaultHookTimeout bounds a hook that sets no hook_timeout.
const defaultHookTimeout = time.Minute

// tomlFile is the document as decoded.
type tomlFile struct {
	Defaults tomlJob   `toml:"defaults"`
	Job      []tomlJob `toml:"job"`
}

// tomlJob holds the keys of a [[job]] or of [defaults]. Every field is a
// pointer so that "not set" differs from "set to the zero value" when a
// job is merged over the defaults. Keep in step with jobs.toml and
// applyKeys.
type tomlJob struct {
	Name         *string     `toml:"name"`
	Schedule     *string     `toml:"schedule"`
	Source       *string     `toml:"source"`
	Target       *string     `toml:"target"`
	User         *string     `toml:"user"`
	PasswordEnv  *string     `toml:"password_env"`
	PasswordFile *string     `toml:"password_file"`
	Mode         *string     `toml:"mode"`
	TLS          *string     `toml:"tls"`
	TLSCAFile    *string     `toml:"tls_ca_file"`
	TLSInsecure  *bool       `toml:"tls_insecure"`
	Parallel     *int        `toml:"parallel"`
	Delete       *bool       `toml:"delete"`
	MaxDelete    *tomlScalar `toml:"max_delete"`
	Include      *[]string   `toml:"include"`
	Exclude      *[]string   `toml:"exclude"`
	MaxSize      *tomlScalar `toml:"max_size"`
	MinFileAge   *string     `toml:"min_file_age"`
	MaxFileAge   *string     `toml:"max_file_age"`
	Symlinks     *string     `toml:"symlinks"`
	LimitRate    *tomlScalar `toml:"limit_rate"`
	Timeout      *string     `toml:"timeout"`
	Retries      *int        `toml:"retries"`
	Segments     *int        `toml:"segments"`
	State        *string     `toml:"state"`
	DryRun       *bool       `toml:"dry_run"`
	Quiet        *bool       `toml:"quiet"`
	Pipelining   *bool       `toml:"pipelining"`
	Jitter       *string     `toml:"jitter"`
	CatchUp      *bool       `toml:"catch_up"`
	MaxAge       *string     `toml:"max_age"`
	OnSuccess    *[]string   `toml:"on_success"`
	OnFailure    *[]string   `toml:"on_failure"`
	OnChange     *[]string   `toml:"on_change"`
	HookTimeout  *string     `toml:"hook_timeout"`
}

// tomlScalar is a value written either as a string or as a number:
// max_delete = 100 or "5%", max_size = 1048576 or "1M".
type tomlScalar string

func (s *tomlScalar) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		*s = tomlScalar(v)
	case int64:
		*s = tomlScalar(strconv.FormatInt(v, 10))
	case float64:
		*s = tomlScalar(strconv.FormatFloat(v, 'f', -1, 64))
	default:
		return fmt.Errorf("want a string or a number, not %T", v)
	}
	return nil
}

// jobKeys lists the keys a job may have, for messages about unknown ones.
var jobKeys = func() []string {
	t := reflect.TypeFor[tomlJob]()
	var keys []string
	for i := range t.NumField() {
		if k := t.Field(i).Tag.Get("toml"); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}()

// jobError is one problem in a job file, with where it is.
type jobError struct {
	File string
	Line int    // 0 if unknown
	Job  string // job name, or "[defaults]", or "" for the file as a whole
	Key  string // "" for the job as a whole
	Err  error
}

func (e *jobError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	switch {
	case e.Job == "[defaults]":
		b.WriteString("[defaults]: ")
	case e.Job != "":
		fmt.Fprintf(&b, "job %q: ", e.Job)
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *jobError) Unwrap() error { return e.Err }

// jobFileError is every problem found in a job file, one per line. It is
// a configuration error: exit status 2.
type jobFileError struct{ Errs []*jobError }

func (e *jobFileError) Error() string {
	lines := make([]string, len(e.Errs))
	for i, je := range e.Errs {
		lines[i] = je.Error()
	}
	return strings.Join(lines, "\n")
}

// loadJobFile reads, decodes and validates a job file. Every problem is
// reported, not only the first, in a *jobFileError.
func loadJobFile(path string) (*jobFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &jobFileError{[]*jobError{{File: path, Err: err}}}
	}
	return parseJobFile(path, data)
}

// parseJobFile decodes and validates data, read from path (which names
// the file in messages and anchors its relative paths).
func parseJobFile(path string, data []byte) (*jobFile, error) {
	var doc tomlFile
	md, err := toml.Decode(string(data), &doc)
	if err != nil {
		je := &jobError{File: path, Err: err}
		var pe toml.ParseError
		if errors.As(err, &pe) {
			je.Line = pe.Position.Line
			je.Err = errors.New(pe.Message)
			if pe.LastKey != "" {
				je.Key = pe.LastKey
			}
		} else if m := tomlLineRE.FindStringSubmatch(err.Error()); m != nil {
			// Type mismatches come as plain errors: "toml: line 7 (last key "job.parallel"): incompatible types: ..."
			je.Line, _ = strconv.Atoi(m[1])
			je.Key = m[2]
			je.Err = errors.New(m[3])
		}
		return nil, &jobFileError{[]*jobError{je}}
	}
	lines := scanKeyLines(data)
	p := &jobParser{path: path, dir: filepath.Dir(path), lines: lines}
	p.unknownKeys(md.Undecoded())
	if doc.Defaults.Name != nil {
		p.errorf(p.defaultsLine("name"), "[defaults]", "name", "a name belongs to one job, not to [defaults]")
	}
	f := &jobFile{Path: path}
	seen := map[string]int{}
	targets := map[string]*jobSpec{}
	for i := range doc.Job {
		spec := p.job(i, &doc.Defaults, &doc.Job[i])
		if spec == nil {
			continue
		}
		if first, dup := seen[spec.Name]; dup {
			p.errorf(p.jobLine(i, "name"), spec.Name, "name", "duplicate job name (first at line %d)", first)
			continue
		}
		seen[spec.Name] = spec.Line
		// Two jobs mirroring into one directory would delete each
		// other's files, and could never run at the same time.
		target := filepath.Clean(spec.Target)
		if other, dup := targets[target]; dup {
			p.errorf(p.jobLine(i, "target"), spec.Name, "target", "%s is also the target of job %q (line %d); each job needs its own directory", spec.Target, other.Name, other.Line)
			continue
		}
		targets[target] = spec
		f.Jobs = append(f.Jobs, spec)
	}
	if len(doc.Job) == 0 && len(p.errs) == 0 {
		p.errorf(0, "", "", "no [[job]] in the file")
	}
	if len(p.errs) > 0 {
		return nil, &jobFileError{p.errs}
	}
	f.Warnings = p.warnings
	return f, nil
}

var tomlLineRE = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)

// jobParser turns decoded tables into jobSpecs, collecting errors.
type jobParser struct {
	path     string
	dir      string
	lines    keyLines
	errs     []*jobError
	warnings []string
}

func (p *jobParser) errorf(line int, job, key, format string, args ...any) {
	p.errs = append(p.errs, &jobError{File: p.path, Line: line, Job: job, Key: key, Err: fmt.Errorf(format, args...)})
}

func (p *jobParser) warnf(line int, job, format string, args ...any) {
	je := &jobError{File: p.path, Line: line, Job: job, Err: fmt.Errorf(format, args...)}
	p.warnings = append(p.warnings, je.Error())
}

func (p *jobParser) defaultsLine(key string) int { return p.lines.defaults[key] }

// jobLine is the line of key in the i-th job, else in [defaults], else
// the job's header.
func (p *jobParser) jobLine(i int, key string) int {
	if i < len(p.lines.jobs) {
		if l, ok := p.lines.jobs[i].keys[key]; ok {
			return l
		}
	}
	if l, ok := p.lines.defaults[key]; ok {
		return l
	}
	return p.jobHeader(i)
}

func (p *jobParser) jobHeader(i int) int {
	if i < len(p.lines.jobs) {
		return p.lines.jobs[i].line
	}
	return 0
}

// unknownKeys reports the keys the decoder did not use, with their lines.
func (p *jobParser) unknownKeys(keys []toml.Key) {
	for _, k := range keys {
		hint := keyHint(k[len(k)-1])
		switch {
		case len(k) == 1:
			p.errorf(p.lines.tables[k[0]], "", "", "unknown key or table %q; want [defaults] and [[job]] tables", k[0])
		case len(k) == 2 && k[0] == "defaults":
			p.errorf(p.lines.defaults[k[1]], "[defaults]", "", "unknown key %q (%s)", k[1], hint)
		case len(k) == 2 && k[0] == "job":
			// The decoder does not say which [[job]]: report each that has it.
			found := false
			for i, jl := range p.lines.jobs {
				if l, ok := jl.keys[k[1]]; ok {
					found = true
					p.errorf(l, jl.name(i), "", "unknown key %q (%s)", k[1], hint)
				}
			}
			if !found {
				p.errorf(0, "", "", "unknown key %q in a [[job]] (%s)", k[1], hint)
			}
		case k[0] == "defaults" || k[0] == "job":
			// Sub-keys of an unknown key were reported with it.
		default:
			p.errorf(0, "", "", "unknown key %q", k.String())
		}
	}
}

// keyHint suggests the known key closest to an unknown one, or lists
// them all.
func keyHint(key string) string {
	best, bestDist := "", 3
	for _, k := range jobKeys {
		if d := editDistance(key, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf("did you mean %q?", best)
	}
	return "known keys: " + strings.Join(jobKeys, ", ")
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// job merges the i-th job over the defaults and validates it. It returns
// nil if the job has errors (which are recorded).
func (p *jobParser) job(i int, defaults, own *tomlJob) *jobSpec {
	merged := mergeKeys(defaults, own)
	nerrs := len(p.errs)
	spec := &jobSpec{jobConfig: defaultJob(), HookTimeout: defaultHookTimeout, Line: p.jobHeader(i)}
	name := ""
	if merged.Name != nil {
		name = *merged.Name
	}
	label := name
	if label == "" {
		label = fmt.Sprintf("#%d", i+1)
	}
	fail := func(key string, err error) {
		p.errs = append(p.errs, &jobError{File: p.path, Line: p.jobLine(i, key), Job: label, Key: key, Err: err})
	}
	if err := validJobName(name); err != nil {
		fail("name", err)
	}
	spec.Name = name
	p.applyKeys(spec, merged, fail)
	if len(p.errs) > nerrs {
		return nil
	}
	p.warnJob(i, spec)
	return spec
}

// validJobName accepts names that are usable as file names, metric
// labels and log values as they are.
func validJobName(name string) error {
	switch {
	case name == "":
		return errors.New("missing; every job needs a unique name")
	case len(name) > 64:
		return errors.New("longer than 64 characters")
	case name[0] == '.' || name[0] == '-':
		return errors.New("must not start with '.' or '-'")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("%q: use letters, digits, '.', '-' and '_'", name)
		}
	}
	return nil
}

// mergeKeys returns own with every unset key taken from defaults.
func mergeKeys(defaults, own *tomlJob) tomlJob {
	m := *own
	mv := reflect.ValueOf(&m).Elem()
	dv := reflect.ValueOf(defaults).Elem()
	for i := range mv.NumField() {
		f := mv.Field(i)
		if f.Kind() == reflect.Pointer && f.IsNil() && f.CanSet() {
			f.Set(dv.Field(i))
		}
	}
	return m
}

// keyFail reports a problem with a key of a job.
type keyFail func(key string, err error)

// applyKeys validates each key of t and sets it in spec, reporting
// problems through fail.
func (p *jobParser) applyKeys(spec *jobSpec, t tomlJob, fail keyFail) {
	p.applyEnds(spec, t, fail)
	p.applyConnection(spec, t, fail)
	p.applyTransfer(spec, t, fail)
	p.applySchedule(spec, t, fail)
	p.applyHooks(spec, t, fail)
}

func strOrEmpty(v *string) string {
	if v == nil {
		return ""
	}
	return *v
}

// durationKey sets *dst from a duration key, if set.
func durationKey(fail keyFail, key string, v *string, dst *time.Duration) {
	if v == nil {
		return
	}
	d, err := time.ParseDuration(*v)
	if err != nil || d < 0 {
		fail(key, fmt.Errorf("bad duration %q: want e.g. 90s, 30m, 36h", *v))
		return
	}
	*dst = d
}

// sizeKey sets *dst from a size or rate key, if set.
func sizeKey(fail keyFail, key string, v *tomlScalar, parse func(string) (int64, error), dst *int64) {
	if v == nil {
		return
	}
	n, err := parse(string(*v))
	if err != nil {
		fail(key, fmt.Errorf("bad size %q: want bytes or e.g. 64k, 10M, 2G", string(*v)))
		return
	}
	*dst = n
}

// applyEnds: where the mirror comes from and goes, and the login.
func (p *jobParser) applyEnds(spec *jobSpec, t tomlJob, fail keyFail) {
	spec.Source = strOrEmpty(t.Source)
	if spec.Source == "" {
		fail("source", errors.New("missing; want ftp://host/path or ftps://host/path"))
	} else if src, err := parseSource(spec.Source); err != nil {
		fail("source", err)
	} else {
		if src.HasPass {
			p.warnf(p.jobLineByName(spec.Name, "source"), spec.Name,
				"source: the URL holds a password; prefer password_env, password_file or ~/.netrc")
		}
		if t.TLS != nil {
			if _, err := src.tlsMode(*t.TLS); err != nil {
				fail("tls", err)
			}
		}
	}
	spec.Target = p.abs(strOrEmpty(t.Target))
	if spec.Target == "" {
		fail("target", errors.New("missing; want the local directory to mirror into"))
	}
	spec.StatePath = p.abs(strOrEmpty(t.State))

	spec.User = strOrEmpty(t.User)
	spec.PasswordEnv = strOrEmpty(t.PasswordEnv)
	spec.PasswordFile = p.abs(strOrEmpty(t.PasswordFile))
	switch {
	case spec.PasswordEnv != "" && spec.PasswordFile != "":
		fail("password_env", errors.New("set password_env or password_file, not both"))
	case spec.PasswordFile != "":
		if _, err := readPasswordFile(spec.PasswordFile); err != nil {
			fail("password_file", err)
		}
	}
}

// applyConnection: mode, TLS and timeouts.
func (p *jobParser) applyConnection(spec *jobSpec, t tomlJob, fail keyFail) {
	switch m := strOrEmpty(t.Mode); m {
	case "", "passive":
	case "active":
		spec.Active = true
	default:
		fail("mode", fmt.Errorf("want passive or active, not %q", m))
	}
	spec.TLS = strOrEmpty(t.TLS)
	switch spec.TLS {
	case "", "none", "explicit", "implicit":
	default:
		fail("tls", fmt.Errorf("want none, explicit or implicit, not %q", spec.TLS))
	}
	spec.TLSCAFile = p.abs(strOrEmpty(t.TLSCAFile))
	if spec.TLSCAFile != "" {
		if _, err := os.Stat(spec.TLSCAFile); err != nil {
			fail("tls_ca_file", err)
		}
	}
	if t.TLSInsecure != nil {
		spec.TLSInsecure = *t.TLSInsecure
	}
	durationKey(fail, "timeout", t.Timeout, &spec.Timeout)
	if t.Timeout != nil && spec.Timeout == 0 {
		fail("timeout", errors.New("must be more than 0"))
	}
}

// applyTransfer: what to fetch, and how.
func (p *jobParser) applyTransfer(spec *jobSpec, t tomlJob, fail keyFail) {
	if t.Parallel != nil {
		spec.Parallel = *t.Parallel
		if spec.Parallel < 1 || spec.Parallel > 64 {
			fail("parallel", fmt.Errorf("%d: want 1 to 64", spec.Parallel))
		}
	}
	if t.Delete != nil {
		spec.Delete = *t.Delete
	}
	if t.MaxDelete != nil {
		spec.MaxDelete = string(*t.MaxDelete)
		if _, err := mirror.ParseDeleteLimit(spec.MaxDelete); err != nil {
			fail("max_delete", err)
		}
	}
	for _, kv := range []struct {
		key   string
		globs *[]string
		dst   *[]string
	}{{"include", t.Include, &spec.Include}, {"exclude", t.Exclude, &spec.Exclude}} {
		if kv.globs == nil {
			continue
		}
		*kv.dst = *kv.globs
		for _, g := range *kv.globs {
			if err := mirror.ValidateGlob(g); err != nil {
				fail(kv.key, err)
			}
		}
	}
	sizeKey(fail, "max_size", t.MaxSize, parseBytes, &spec.MaxSize)
	durationKey(fail, "min_file_age", t.MinFileAge, &spec.jobConfig.MinAge)
	durationKey(fail, "max_file_age", t.MaxFileAge, &spec.jobConfig.MaxAge)
	if t.Symlinks != nil {
		spec.Symlinks = *t.Symlinks
		if _, err := mirror.ParseSymlinkMode(spec.Symlinks); err != nil {
			fail("symlinks", fmt.Errorf("want skip, follow or keep, not %q", spec.Symlinks))
		}
	}
	sizeKey(fail, "limit_rate", t.LimitRate, parseRate, &spec.LimitRate)
	if t.Retries != nil {
		spec.Retries = *t.Retries
		if spec.Retries < 0 {
			fail("retries", fmt.Errorf("%d: want 0 or more", spec.Retries))
		}
	}
	if t.Segments != nil {
		spec.Segments = *t.Segments
		if spec.Segments < 1 || spec.Segments > 64 {
			fail("segments", fmt.Errorf("%d: want 1 to 64", spec.Segments))
		}
	}
	if t.DryRun != nil {
		spec.DryRun = *t.DryRun
	}
	if t.Quiet != nil {
		spec.Quiet = *t.Quiet
	}
	if t.Pipelining != nil {
		spec.Pipelining = *t.Pipelining
	}
}

// applySchedule: schedule, jitter, catch_up and freshness.
func (p *jobParser) applySchedule(spec *jobSpec, t tomlJob, fail keyFail) {
	spec.Schedule = strings.TrimSpace(strOrEmpty(t.Schedule))
	if spec.Schedule != "" {
		sched, err := cron.ParseStandard(spec.Schedule)
		if err != nil {
			fail("schedule", fmt.Errorf("%q: %v (want 5 fields, @daily, @every 30m, optionally after CRON_TZ=Zone)", spec.Schedule, err))
		}
		spec.schedule = sched
	}
	durationKey(fail, "jitter", t.Jitter, &spec.Jitter)
	if t.CatchUp != nil {
		spec.CatchUp = *t.CatchUp
	}
	durationKey(fail, "max_age", t.MaxAge, &spec.Freshness)
}

// applyHooks: on_success, on_failure, on_change and their timeout.
func (p *jobParser) applyHooks(spec *jobSpec, t tomlJob, fail keyFail) {
	for _, h := range []struct {
		key  string
		argv *[]string
		dst  *[]string
	}{{"on_success", t.OnSuccess, &spec.OnSuccess}, {"on_failure", t.OnFailure, &spec.OnFailure}, {"on_change", t.OnChange, &spec.OnChange}} {
		if h.argv == nil {
			continue
		}
		argv, err := p.hookArgv(*h.argv)
		if err != nil {
			fail(h.key, err)
			continue
		}
		*h.dst = argv
	}
	durationKey(fail, "hook_timeout", t.HookTimeout, &spec.HookTimeout)
	if t.HookTimeout != nil && spec.HookTimeout == 0 {
		fail("hook_timeout", errors.New("must be more than 0"))
	}
}

// jobLineByName finds the line of key in the job called name.
func (p *jobParser) jobLineByName(name, key string) int {
	for i, jl := range p.lines.jobs {
		if jl.name(i) == name {
			return p.jobLine(i, key)
		}
	}
	return p.lines.defaults[key]
}

// hookArgv checks a hook's argv and makes a relative program path (one
// with a '/') relative to the job file. A bare name is looked up in PATH
// when the hook runs; it must be there now too.
func (p *jobParser) hookArgv(argv []string) ([]string, error) {
	if len(argv) == 0 {
		return nil, nil
	}
	if argv[0] == "" {
		return nil, errors.New("empty program name")
	}
	out := append([]string(nil), argv...)
	if strings.Contains(out[0], "/") {
		out[0] = p.abs(out[0])
	}
	if _, err := exec.LookPath(out[0]); err != nil {
		return nil, fmt.Errorf("program %q: %w", argv[0], errors.Unwrap(err))
	}
	return out, nil
}

// abs makes a relative path relative to the job file's directory.
func (p *jobParser) abs(path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(p.dir, path)
}

// warnJob notes what works but is probably not meant.
func (p *jobParser) warnJob(i int, spec *jobSpec) {
	if spec.PasswordEnv != "" {
		if _, ok := os.LookupEnv(spec.PasswordEnv); !ok {
			p.warnf(p.jobLine(i, "password_env"), spec.Name,
				"password_env: $%s is not set here; runs fail unless it is set where they run", spec.PasswordEnv)
		}
	}
	if spec.PasswordFile != "" {
		if fi, err := os.Stat(spec.PasswordFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
			p.warnf(p.jobLine(i, "password_file"), spec.Name,
				"password_file: %s is readable by others (mode %v); chmod 600 it", spec.PasswordFile, fi.Mode().Perm())
		}
	}
	if spec.Schedule == "" && (spec.CatchUp || spec.Jitter > 0) {
		p.warnf(spec.Line, spec.Name, "catch_up and jitter have no effect without a schedule")
	}
}

// readPasswordFile returns the first line of path, without its newline.
func readPasswordFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", fmt.Errorf("%s: empty first line; want the password", path)
	}
	return line, nil
}

// resolvePassword returns the job's settings with the password read from
// password_env or password_file, now: a rotated secret is picked up by
// the next run. Without either, source.credentials falls back to the
// URL, $FTPMIRROR_PASSWORD and ~/.netrc.
func (s *jobSpec) resolvePassword() (*jobConfig, error) {
	jc := s.jobConfig
	switch {
	case s.PasswordEnv != "":
		p, ok := os.LookupEnv(s.PasswordEnv)
		if !ok {
			return nil, usagef("job %s: password_env: $%s is not set", s.Name, s.PasswordEnv)
		}
		jc.Password = p
	case s.PasswordFile != "":
		p, err := readPasswordFile(s.PasswordFile)
		if err != nil {
			return nil, usagef("job %s: password_file: %v", s.Name, err)
		}
		jc.Password = p
	}
	return &jc, nil
}

// next returns the job's next scheduled time after t, or the zero time
// without a schedule.
func (s *jobSpec) next(t time.Time) time.Time {
	if s.schedule == nil {
		return time.Time{}
	}
	return s.schedule.Next(t)
}
