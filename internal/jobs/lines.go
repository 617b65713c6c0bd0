package jobs

import (
	"fmt"
	"regexp"
	"strings"
)

// keyLines says on which line each key of the file is. The toml decoder
// (BurntSushi/toml v1.6.0) gives positions only in a ParseError, keeps
// those of keys to itself, and keeps one per key path, overwritten by
// every element of an array of tables: job.parallel has one line, that
// of the last [[job]] setting it. So the file is scanned here for the
// messages about valid TOML: table headers and `key =` lines, skipping
// multi-line strings and arrays.
type keyLines struct {
	defaults map[string]int
	jobs     []jobLines
	tables   map[string]int // every other header's first line
}

type jobLines struct {
	line     int
	keys     map[string]int
	nameText string // the job's name value, as written, if simple
}

func (jl jobLines) name(i int) string {
	if jl.nameText != "" {
		return jl.nameText
	}
	return fmt.Sprintf("#%d", i+1)
}

var (
	headerRE = regexp.MustCompile(`^\s*(\[\[?)\s*([A-Za-z0-9_.\-"' ]+?)\s*\]\]?\s*(#.*)?$`)
	keyRE    = regexp.MustCompile(`^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)\s*=\s*(.*)$`)
	nameRE   = regexp.MustCompile(`^("([^"\\]*)"|'([^']*)')\s*(#.*)?$`)
)

func scanKeyLines(data []byte) keyLines {
	kl := keyLines{defaults: map[string]int{}, tables: map[string]int{}}
	var cur map[string]int
	var curJob *jobLines
	var inString string // closing delimiter of a multi-line string
	depth := 0          // open brackets of a multi-line array or inline table
	for n, line := range strings.Split(string(data), "\n") {
		lineNo := n + 1
		if inString != "" {
			if strings.Contains(line, inString) {
				inString = ""
			}
			continue
		}
		if depth > 0 {
			depth, inString = bracketDepth(line, depth)
			continue
		}
		if m := headerRE.FindStringSubmatch(line); m != nil {
			name := strings.Trim(m[2], `"' `)
			curJob = nil
			cur = nil
			switch {
			case m[1] == "[[" && name == "job":
				kl.jobs = append(kl.jobs, jobLines{line: lineNo, keys: map[string]int{}})
				curJob = &kl.jobs[len(kl.jobs)-1]
				cur = curJob.keys
			case m[1] == "[" && name == "defaults":
				cur = kl.defaults
			default:
				if _, ok := kl.tables[name]; !ok {
					kl.tables[name] = lineNo
				}
			}
			continue
		}
		m := keyRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		key := strings.Trim(m[1], `"'`)
		if cur != nil {
			if _, ok := cur[key]; !ok {
				cur[key] = lineNo
			}
		} else if _, ok := kl.tables[key]; !ok {
			kl.tables[key] = lineNo
		}
		value := m[2]
		if curJob != nil && key == "name" {
			if nm := nameRE.FindStringSubmatch(strings.TrimSpace(value)); nm != nil {
				curJob.nameText = nm[2] + nm[3]
			}
		}
		depth, inString = bracketDepth(value, 0)
	}
	return kl
}

// bracketDepth adds the brackets opened and closed on line (outside
// strings and comments) to depth. It also returns the closing delimiter
// of a multi-line string left open on the line.
func bracketDepth(line string, depth int) (int, string) {
	for i := 0; i < len(line); i++ {
		switch c := line[i]; c {
		case '#':
			return depth, ""
		case '[', '{':
			depth++
		case ']', '}':
			if depth > 0 {
				depth--
			}
		case '"', '\'':
			if strings.HasPrefix(line[i:], strings.Repeat(string(c), 3)) {
				delim := strings.Repeat(string(c), 3)
				end := strings.Index(line[i+3:], delim)
				if end < 0 {
					return depth, delim
				}
				i += 3 + end + 2
				continue
			}
			for i++; i < len(line) && line[i] != c; i++ {
				if c == '"' && line[i] == '\\' {
					i++
				}
			}
		}
	}
	return depth, ""
}
