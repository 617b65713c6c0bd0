package jobs

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/ftpmirror/ftpmirror/mirror"
)

// tomlFile is the document as decoded.
type tomlFile struct {
	Defaults tomlJob   `toml:"defaults"`
	Job      []tomlJob `toml:"job"`
}

// tomlJob holds the keys of a [[job]] or of [defaults]. Every field is a
// pointer so that "not set" differs from "set to the zero value" when a
// job is merged over the defaults, and of a type with UnmarshalTOML, so
// that a value of the wrong type comes back as a toml.ParseError with
// the key and its line. Keep in step with jobs.toml and applyKeys.
type tomlJob struct {
	Name         *value[string]   `toml:"name"`
	Schedule     *value[string]   `toml:"schedule"`
	Source       *value[string]   `toml:"source"`
	Target       *value[string]   `toml:"target"`
	User         *value[string]   `toml:"user"`
	PasswordEnv  *value[string]   `toml:"password_env"`
	PasswordFile *value[string]   `toml:"password_file"`
	Mode         *value[string]   `toml:"mode"`
	TLS          *value[string]   `toml:"tls"`
	TLSCAFile    *value[string]   `toml:"tls_ca_file"`
	TLSInsecure  *value[bool]     `toml:"tls_insecure"`
	Parallel     *tomlParallel    `toml:"parallel"`
	Delete       *value[bool]     `toml:"delete"`
	MaxDelete    *tomlScalar      `toml:"max_delete"`
	Include      *value[[]string] `toml:"include"`
	Exclude      *value[[]string] `toml:"exclude"`
	Last         *value[[]string] `toml:"last"`
	MaxSize      *tomlScalar      `toml:"max_size"`
	MinFileAge   *value[string]   `toml:"min_file_age"`
	MaxFileAge   *value[string]   `toml:"max_file_age"`
	Symlinks     *value[string]   `toml:"symlinks"`
	Verify       *value[string]   `toml:"verify"`
	LimitRate    *tomlScalar      `toml:"limit_rate"`
	Timeout      *value[string]   `toml:"timeout"`
	Retries      *value[int]      `toml:"retries"`
	Segments     *value[int]      `toml:"segments"`
	Publish      *value[string]   `toml:"publish"`
	KeepSnaps    *value[int]      `toml:"keep_snapshots"`
	State        *value[string]   `toml:"state"`
	DryRun       *value[bool]     `toml:"dry_run"`
	Quiet        *value[bool]     `toml:"quiet"`
	Pipelining   *value[bool]     `toml:"pipelining"`
	Sentinel     *value[string]   `toml:"sentinel"`
	Jitter       *value[string]   `toml:"jitter"`
	CatchUp      *value[bool]     `toml:"catch_up"`
	MaxAge       *value[string]   `toml:"max_age"`
	OnSuccess    *value[[]string] `toml:"on_success"`
	OnFailure    *value[[]string] `toml:"on_failure"`
	OnChange     *value[[]string] `toml:"on_change"`
	HookTimeout  *value[string]   `toml:"hook_timeout"`
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

// tomlParallel is the parallel key: a number, or the string "auto".
type tomlParallel string

func (p *tomlParallel) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case int64:
		*p = tomlParallel(strconv.FormatInt(v, 10))
	case string:
		if v != "auto" {
			return fmt.Errorf("%q: want an integer or \"auto\"", v)
		}
		*p = tomlParallel(v)
	default:
		return incompatible(v, `integer or "auto"`)
	}
	return nil
}

// Keys lists the keys a job may have, for messages about unknown ones.
var Keys = func() []string {
	t := reflect.TypeFor[tomlJob]()
	var keys []string
	for i := range t.NumField() {
		if k := t.Field(i).Tag.Get("toml"); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}()

// value is a job key's value of type T: string, bool, int or []string.
type value[T any] struct{ v T }

// UnmarshalTOML takes the decoded TOML value if it has the type of T.
func (k *value[T]) UnmarshalTOML(data any) error {
	var ok bool
	want := "string"
	switch dst := any(&k.v).(type) {
	case *string:
		*dst, ok = data.(string)
	case *bool:
		want = "boolean"
		*dst, ok = data.(bool)
	case *int:
		want = "integer"
		var n int64
		n, ok = data.(int64)
		ok = ok && n >= math.MinInt && n <= math.MaxInt
		*dst = int(n)
	case *[]string:
		return decodeStrings(data, dst)
	}
	if !ok {
		return incompatible(data, want)
	}
	return nil
}

// decodeStrings sets *dst from a TOML array of strings.
func decodeStrings(data any, dst *[]string) error {
	list, ok := data.([]any)
	if !ok {
		return incompatible(data, "slice")
	}
	*dst = make([]string, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok {
			return incompatible(e, "string")
		}
		(*dst)[i] = s
	}
	return nil
}

// incompatible is the error of a value of the wrong type, worded as the
// toml decoder words its own.
func incompatible(data any, want string) error {
	return fmt.Errorf("incompatible types: TOML value has type %T; destination has type %s", data, want)
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

// applyKeys validates each key of t and sets it in j, reporting
// problems through fail.
func (p *jobParser) applyKeys(j *Job, t tomlJob, fail keyFail) {
	p.applyEnds(j, t, fail)
	p.applyConnection(j, t, fail)
	p.applyTransfer(j, t, fail)
	p.applySchedule(j, t, fail)
	p.applyHooks(j, t, fail)
}

// get is the value of a key, or T's zero value if the key is not set.
func get[T any](v *value[T]) T {
	if v == nil {
		var zero T
		return zero
	}
	return v.v
}

// set copies a key's value to *dst if the file sets the key, and says
// whether it does.
func set[T any](v *value[T], dst *T) bool {
	if v == nil {
		return false
	}
	*dst = v.v
	return true
}

// intKey sets *dst from an integer key, if set, which must be in [lo, hi].
func intKey(fail keyFail, key string, v *value[int], lo, hi int, dst *int) {
	if set(v, dst) && (*dst < lo || *dst > hi) {
		fail(key, fmt.Errorf("%d: want %d to %d", *dst, lo, hi))
	}
}

// durationKey sets *dst from a duration key, if set.
func durationKey(fail keyFail, key string, v *value[string], dst *time.Duration) {
	if v == nil {
		return
	}
	d, err := time.ParseDuration(v.v)
	if err != nil || d < 0 {
		fail(key, fmt.Errorf("bad duration %q: want e.g. 90s, 30m, 36h", v.v))
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
func (p *jobParser) applyEnds(j *Job, t tomlJob, fail keyFail) {
	j.Source = get(t.Source)
	if j.Source == "" {
		fail("source", errors.New("missing; want ftp://host/path or ftps://host/path"))
	} else if src, err := ParseSource(j.Source); err != nil {
		fail("source", err)
	} else {
		if src.HasPass {
			p.warnf(p.jobLineByName(j.Name, "source"), j.Name,
				"source: the URL holds a password; prefer password_env, password_file or ~/.netrc")
		}
		if t.TLS != nil {
			if _, err := src.TLSMode(t.TLS.v); err != nil {
				fail("tls", err)
			}
		}
	}
	j.Target = p.abs(get(t.Target))
	if j.Target == "" {
		fail("target", errors.New("missing; want the local directory to mirror into"))
	}
	j.StatePath = p.abs(get(t.State))

	j.User = get(t.User)
	j.PasswordEnv = get(t.PasswordEnv)
	j.PasswordFile = p.abs(get(t.PasswordFile))
	switch {
	case j.PasswordEnv != "" && j.PasswordFile != "":
		fail("password_env", errors.New("set password_env or password_file, not both"))
	case j.PasswordFile != "":
		if _, err := readPasswordFile(j.PasswordFile); err != nil {
			fail("password_file", err)
		}
	}
}

// applyConnection: mode, TLS and timeouts.
func (p *jobParser) applyConnection(j *Job, t tomlJob, fail keyFail) {
	if m := get(t.Mode); m != "" {
		if err := j.SetMode(m); err != nil {
			fail("mode", err)
		}
	}
	j.TLS = get(t.TLS)
	switch j.TLS {
	case "", "none", "explicit", "implicit":
	default:
		fail("tls", fmt.Errorf("want none, explicit or implicit, not %q", j.TLS))
	}
	j.TLSCAFile = p.abs(get(t.TLSCAFile))
	if j.TLSCAFile != "" {
		if _, err := os.Stat(j.TLSCAFile); err != nil {
			fail("tls_ca_file", err)
		}
	}
	set(t.TLSInsecure, &j.TLSInsecure)
	durationKey(fail, "timeout", t.Timeout, &j.Timeout)
	if t.Timeout != nil && j.Timeout == 0 {
		fail("timeout", errors.New("must be more than 0"))
	}
}

// applyTransfer: what to fetch, and how.
func (p *jobParser) applyTransfer(j *Job, t tomlJob, fail keyFail) {
	if t.Parallel != nil {
		if err := j.SetParallel(string(*t.Parallel)); err != nil {
			fail("parallel", err)
		}
	}
	set(t.Delete, &j.Delete)
	if t.MaxDelete != nil {
		j.MaxDelete = string(*t.MaxDelete)
		if _, err := mirror.ParseDeleteLimit(j.MaxDelete); err != nil {
			fail("max_delete", err)
		}
	}
	for _, kv := range []struct {
		key   string
		globs *value[[]string]
		dst   *[]string
	}{{"include", t.Include, &j.Include}, {"exclude", t.Exclude, &j.Exclude}} {
		if kv.globs == nil {
			continue
		}
		*kv.dst = kv.globs.v
		for _, g := range kv.globs.v {
			if err := mirror.ValidateGlob(g); err != nil {
				fail(kv.key, err)
			}
		}
	}
	if t.Last != nil {
		j.Last = t.Last.v
		if _, err := mirror.ExpandLast(j.Last); err != nil {
			fail("last", err)
		}
	}
	sizeKey(fail, "max_size", t.MaxSize, ParseBytes, &j.MaxSize)
	durationKey(fail, "min_file_age", t.MinFileAge, &j.MinFileAge)
	durationKey(fail, "max_file_age", t.MaxFileAge, &j.MaxFileAge)
	if set(t.Symlinks, &j.Symlinks) {
		if _, err := mirror.ParseSymlinkMode(j.Symlinks); err != nil {
			fail("symlinks", fmt.Errorf("want skip, follow or keep, not %q", j.Symlinks))
		}
	}
	if set(t.Verify, &j.Verify) {
		if _, err := mirror.ParseVerifyMode(j.Verify); err != nil {
			fail("verify", fmt.Errorf("want auto, on or off, not %q", j.Verify))
		}
	}
	sizeKey(fail, "limit_rate", t.LimitRate, ParseRate, &j.LimitRate)
	if set(t.Retries, &j.Retries) && j.Retries < 0 {
		fail("retries", fmt.Errorf("%d: want 0 or more", j.Retries))
	}
	intKey(fail, "segments", t.Segments, 1, 64, &j.Segments)
	if set(t.Publish, &j.Publish) {
		if _, err := mirror.ParsePublishMode(j.Publish); err != nil {
			fail("publish", fmt.Errorf("want inplace or snapshot, not %q", j.Publish))
		}
	}
	intKey(fail, "keep_snapshots", t.KeepSnaps, 1, maxKeepSnapshots, &j.KeepSnapshots)
	if set(t.Sentinel, &j.Sentinel) && j.Sentinel != "" {
		if err := mirror.ValidateSentinel(j.Sentinel); err != nil {
			fail("sentinel", err)
		}
	}
	set(t.DryRun, &j.DryRun)
	set(t.Quiet, &j.Quiet)
	set(t.Pipelining, &j.Pipelining)
}

// applySchedule: schedule, jitter, catch_up and freshness.
func (p *jobParser) applySchedule(j *Job, t tomlJob, fail keyFail) {
	j.Schedule = strings.TrimSpace(get(t.Schedule))
	if j.Schedule != "" {
		sched, err := cron.ParseStandard(j.Schedule)
		if err != nil {
			fail("schedule", fmt.Errorf("%q: %w (want 5 fields, @daily, @every 30m, optionally after CRON_TZ=Zone)", j.Schedule, err))
		}
		j.schedule = sched
	}
	durationKey(fail, "jitter", t.Jitter, &j.Jitter)
	set(t.CatchUp, &j.CatchUp)
	durationKey(fail, "max_age", t.MaxAge, &j.Freshness)
}

// applyHooks: on_success, on_failure, on_change and their timeout.
func (p *jobParser) applyHooks(j *Job, t tomlJob, fail keyFail) {
	for _, h := range []struct {
		key  string
		argv *value[[]string]
		dst  *[]string
	}{{"on_success", t.OnSuccess, &j.OnSuccess}, {"on_failure", t.OnFailure, &j.OnFailure}, {"on_change", t.OnChange, &j.OnChange}} {
		if h.argv == nil {
			continue
		}
		argv, err := p.hookArgv(h.argv.v)
		if err != nil {
			fail(h.key, err)
			continue
		}
		*h.dst = argv
	}
	durationKey(fail, "hook_timeout", t.HookTimeout, &j.HookTimeout)
	if t.HookTimeout != nil && j.HookTimeout == 0 {
		fail("hook_timeout", errors.New("must be more than 0"))
	}
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
func (p *jobParser) warnJob(i int, j *Job) {
	if j.PasswordEnv != "" {
		if _, ok := os.LookupEnv(j.PasswordEnv); !ok {
			p.warnf(p.jobLine(i, "password_env"), j.Name,
				"password_env: $%s is not set here; runs fail unless it is set where they run", j.PasswordEnv)
		}
	}
	if j.PasswordFile != "" {
		if fi, err := os.Stat(j.PasswordFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
			p.warnf(p.jobLine(i, "password_file"), j.Name,
				"password_file: %s is readable by others (mode %v); chmod 600 it", j.PasswordFile, fi.Mode().Perm())
		}
	}
	if j.Schedule == "" && (j.CatchUp || j.Jitter > 0) {
		p.warnf(j.Line, j.Name, "catch_up and jitter have no effect without a schedule")
	}
}
