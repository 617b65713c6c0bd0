package jobs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"
)

// A job file (jobs.toml) has an optional [defaults] table and one
// [[job]] table per job. Every key of sync's flags has a job key with the
// same meaning and default (Default); [defaults] takes any key but
// name, and a job's own keys win over it. Relative paths (target, state,
// password_file, tls_ca_file, a hook's program) are taken relative to the
// directory of the job file, so that a file means the same under systemd
// as in the shell it was written in.

// File is a loaded and validated job file.
type File struct {
	Path     string
	Jobs     []*Job
	Warnings []string // things that work but are probably not meant
}

// Job returns the job called name, or nil.
func (f *File) Job(name string) *Job {
	for _, j := range f.Jobs {
		if j.Name == name {
			return j
		}
	}
	return nil
}

// KeyError is one problem in a job file, with where it is.
type KeyError struct {
	File string
	Line int    // 0 if unknown
	Job  string // job name, or "[defaults]", or "" for the file as a whole
	Key  string // "" for the job as a whole
	Err  error
}

func (e *KeyError) Error() string {
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

func (e *KeyError) Unwrap() error { return e.Err }

// FileError is every problem found in a job file, one per line. It is a
// configuration error, as [ConfigError] is.
type FileError struct{ Errs []*KeyError }

func (e *FileError) Error() string {
	lines := make([]string, len(e.Errs))
	for i, je := range e.Errs {
		lines[i] = je.Error()
	}
	return strings.Join(lines, "\n")
}

// Load reads, decodes and validates a job file. Every problem is
// reported, not only the first, in a *FileError.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &FileError{[]*KeyError{{File: path, Err: err}}}
	}
	return Parse(path, data)
}

// Parse decodes and validates data, read from path (which names the
// file in messages and anchors its relative paths).
func Parse(path string, data []byte) (*File, error) {
	var doc tomlFile
	md, err := toml.Decode(string(data), &doc)
	lines := scanKeyLines(data)
	if err != nil {
		return nil, &FileError{[]*KeyError{decodeError(path, err, &md, lines)}}
	}
	p := &jobParser{path: path, dir: filepath.Dir(path), lines: lines}
	p.unknownKeys(md.Undecoded())
	if doc.Defaults.Name != nil {
		p.errorf(p.defaultsLine("name"), "[defaults]", "name", "a name belongs to one job, not to [defaults]")
	}
	f := &File{Path: path}
	seen := map[string]int{}
	targets := map[string]*Job{}
	for i := range doc.Job {
		j := p.job(i, &doc.Defaults, &doc.Job[i])
		if j == nil {
			continue
		}
		if first, dup := seen[j.Name]; dup {
			p.errorf(p.jobLine(i, "name"), j.Name, "name", "duplicate job name (first at line %d)", first)
			continue
		}
		seen[j.Name] = j.Line
		// Two jobs mirroring into one directory would delete each
		// other's files, and could never run at the same time.
		target := filepath.Clean(j.Target)
		if other, dup := targets[target]; dup {
			p.errorf(p.jobLine(i, "target"), j.Name, "target", "%s is also the target of job %q (line %d); each job needs its own directory", j.Target, other.Name, other.Line)
			continue
		}
		targets[target] = j
		f.Jobs = append(f.Jobs, j)
	}
	if len(doc.Job) == 0 && len(p.errs) == 0 {
		p.errorf(0, "", "", "no [[job]] in the file")
	}
	if len(p.errs) > 0 {
		return nil, &FileError{p.errs}
	}
	f.Warnings = p.warnings
	return f, nil
}

// decodeError is the KeyError of a file the toml decoder refused. A
// syntax error, and a value of the wrong type for a key (tomlJob's
// fields decode themselves to get this), is a toml.ParseError with the
// line and key. The decoder's other errors are about a value where the
// [defaults] or [[job]] tables belong: md's types say which.
func decodeError(path string, err error, md *toml.MetaData, lines keyLines) *KeyError {
	ke := &KeyError{File: path, Err: err}
	var pe toml.ParseError
	if errors.As(err, &pe) {
		ke.Line = pe.Position.Line
		ke.Key = pe.LastKey
		ke.Err = errors.New(pe.Message)
		return ke
	}
	for _, t := range []struct{ key, typ, want string }{
		{"defaults", "Hash", "a [defaults] table"},
		{"job", "ArrayHash", "[[job]] tables"},
	} {
		if typ := md.Type(t.key); typ != "" && typ != t.typ {
			ke.Line, ke.Key = lines.tables[t.key], t.key
			ke.Err = fmt.Errorf("type mismatch: want %s, not %s", t.want, typ)
			break
		}
	}
	return ke
}

// Select returns the jobs called names, in the file's order when names
// is empty, else in names' order.
func (f *File) Select(names []string) ([]*Job, error) {
	if len(names) == 0 {
		return f.Jobs, nil
	}
	var jobs []*Job
	for _, n := range names {
		j := f.Job(n)
		if j == nil {
			known := make([]string, len(f.Jobs))
			for i, j := range f.Jobs {
				known[i] = j.Name
			}
			return nil, configf("%s: no job %q (jobs: %v)", f.Path, n, known)
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// jobParser turns decoded tables into Jobs, collecting errors.
type jobParser struct {
	path     string
	dir      string
	lines    keyLines
	errs     []*KeyError
	warnings []string
}

func (p *jobParser) errorf(line int, job, key, format string, args ...any) {
	p.errs = append(p.errs, &KeyError{File: p.path, Line: line, Job: job, Key: key, Err: fmt.Errorf(format, args...)})
}

func (p *jobParser) warnf(line int, job, format string, args ...any) {
	je := &KeyError{File: p.path, Line: line, Job: job, Err: fmt.Errorf(format, args...)}
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
	for _, k := range Keys {
		if d := editDistance(key, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf("did you mean %q?", best)
	}
	return "known keys: " + strings.Join(Keys, ", ")
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
func (p *jobParser) job(i int, defaults, own *tomlJob) *Job {
	merged := mergeKeys(defaults, own)
	nerrs := len(p.errs)
	j := Default()
	j.Line = p.jobHeader(i)
	name := ""
	if merged.Name != nil {
		name = merged.Name.v
	}
	label := name
	if label == "" {
		label = fmt.Sprintf("#%d", i+1)
	}
	fail := func(key string, err error) {
		p.errs = append(p.errs, &KeyError{File: p.path, Line: p.jobLine(i, key), Job: label, Key: key, Err: err})
	}
	if err := ValidName(name); err != nil {
		fail("name", err)
	}
	j.Name = name
	p.applyKeys(&j, merged, fail)
	if len(p.errs) > nerrs {
		return nil
	}
	p.warnJob(i, &j)
	return &j
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
