package probe

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ftpmirror/ftpmirror/ftpcore"
)

// maxUnparsed bounds the LIST lines a Profile quotes.
const maxUnparsed = 10

// maxDirs bounds the directories listed to find recent files.
const maxDirs = 10

// listing tries MLSD, STAT -a and LIST on the probed directory and
// reads LIST's lines with ftpcore's parsers.
func (r *prober) listing(ctx context.Context) {
	l := &r.p.Listing
	l.Dialects = map[string]int{}
	c, err := r.conn(ctx)
	if err != nil {
		l.MLSD, l.STAT, l.LIST = unknown(err.Error()), unknown(err.Error()), unknown(err.Error())
		return
	}
	dir := r.p.Dir
	if c.HasFeature("MLST") {
		l.MLSD = entriesCheck(c.ListMLSD(ctx, dir))
	} else {
		l.MLSD = no("no MLST in FEAT")
	}
	if c, err = r.conn(ctx); err == nil {
		l.STAT = entriesCheck(c.ListSTAT(ctx, dir))
	} else {
		l.STAT = unknown(err.Error())
	}
	entries, err := r.listLIST(ctx, dir)
	r.root = entries
	if err != nil {
		l.LIST = no(err.Error())
	} else {
		l.LIST = yes(count(len(entries), "entry", "entries"))
	}
	switch {
	case l.MLSD.Result == Yes:
		l.Command = "MLSD"
	case l.STAT.Result == Yes:
		l.Command = "STAT"
	case l.LIST.Result == Yes:
		l.Command = "LIST"
	}
	r.p.Passive.Works = unknown("no listing over a data connection worked")
	if l.MLSD.Result == Yes || l.LIST.Result == Yes {
		r.p.Passive.Works = yes("")
		cmd := "LIST"
		if l.LIST.Result != Yes {
			cmd = "MLSD"
		}
		if c, err := r.conn(ctx); err == nil {
			r.p.Pipelining.Passive = pipelined(ctx, c, cmd, dir)
		} else {
			r.p.Pipelining.Passive = unknown(err.Error())
		}
	} else {
		r.p.Passive.Works = no(l.LIST.Detail)
		r.p.Pipelining.Passive = unknown("passive mode does not work")
	}
}

// entriesCheck makes a Check of a listing's result.
func entriesCheck(entries []ftpcore.Entry, err error) Check {
	var le *ftpcore.ListError
	switch {
	case err == nil:
		return yes(count(len(entries), "entry", "entries"))
	case errors.As(err, &le):
		return yes(count(len(entries), "entry", "entries") + "; " + count(le.Count, "line", "lines") + " not understood")
	}
	return no(err.Error())
}

// listLIST lists dir with LIST, counting each line's dialect and
// quoting the lines no parser understands, and notes the files.
func (r *prober) listLIST(ctx context.Context, dir string) ([]ftpcore.Entry, error) {
	c, err := r.conn(ctx)
	if err != nil {
		return nil, err
	}
	lines, err := c.ListLines(ctx, "LIST", dir)
	var le *ftpcore.ListError
	if err != nil && !errors.As(err, &le) {
		return nil, err
	}
	l := &r.p.Listing
	var entries []ftpcore.Entry
	for _, line := range lines {
		e, format, err := ftpcore.ParseListLine(line, r.now, time.UTC)
		switch {
		case ftpcore.IsNoEntry(err):
			continue
		case err != nil:
			l.Bad++
			if len(l.Unparsed) < maxUnparsed {
				l.Unparsed = append(l.Unparsed, quoteLine(line))
			}
			continue
		}
		l.Dialects[format]++
		entries = append(entries, e)
		if e.Type == ftpcore.TypeFile {
			r.files = append(r.files, file{dir: dir, entry: e})
			switch e.Precision {
			case ftpcore.TimeMinute:
				r.p.Clock.ListMinute++
			case ftpcore.TimeDay:
				r.p.Clock.ListDay++
			}
		}
	}
	return entries, nil
}

// quoteLine quotes a line for showing: Go syntax, cut to 300 bytes.
func quoteLine(s string) string {
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// clock compares LIST times (and MLSD's) of the most recent files with
// MDTM. It lists subdirectories, breadth first and at most maxDirs in
// all, until it has seen Samples files with a time of day.
func (r *prober) clock(ctx context.Context) {
	ck := &r.p.Clock
	ck.Consistent = true
	if r.p.Listing.LIST.Result != Yes {
		ck.Note = "LIST does not work"
		return
	}
	queue := subdirs(r.p.Dir, r.root, nil)
	for listed := 1; listed < maxDirs && len(queue) > 0 && r.recentFiles() < r.opts.Samples; listed++ {
		dir := queue[0]
		queue = queue[1:]
		entries, err := r.listLIST(ctx, dir)
		if err != nil {
			continue
		}
		queue = subdirs(dir, entries, queue)
	}
	var recent []file
	for _, f := range r.files {
		if f.entry.Precision == ftpcore.TimeMinute {
			recent = append(recent, f)
		}
	}
	if len(recent) == 0 {
		ck.Note = "no file with a time of day in LIST (all older than six months?)"
		return
	}
	sort.SliceStable(recent, func(i, j int) bool { return recent[i].entry.Time.After(recent[j].entry.Time) })
	recent = recent[:min(len(recent), r.opts.Samples)]
	var offsets, mlsdOffsets []time.Duration
	mlsd := map[string]map[string]time.Time{} // dir -> name -> MLSD time
	for _, f := range recent {
		c, err := r.conn(ctx)
		if err != nil {
			break
		}
		mdtm, err := c.ModTime(ctx, f.path())
		if err != nil {
			ck.Note = "MDTM: " + err.Error()
			continue
		}
		offsets = append(offsets, ftpcore.ListOffset(f.entry.Time, mdtm))
		if r.p.Listing.MLSD.Result != Yes {
			continue
		}
		if _, ok := mlsd[f.dir]; !ok {
			mlsd[f.dir] = r.mlsdTimes(ctx, f.dir)
		}
		if t, ok := mlsd[f.dir][f.entry.Name]; ok {
			mlsdOffsets = append(mlsdOffsets, t.Truncate(time.Second).Sub(mdtm.Truncate(time.Second)))
		}
	}
	ck.Samples = len(offsets)
	if len(offsets) > 0 {
		off, ok := ftpcore.ZoneOffset(offsets)
		ck.ListOffset, ck.Consistent = int(off/time.Second), ok
	}
	ck.MLSDSamples = len(mlsdOffsets)
	if len(mlsdOffsets) > 0 {
		ck.MLSDOffset = int(ftpcore.Median(mlsdOffsets) / time.Second)
	}
}

// recentFiles counts the files seen with a time of day.
func (r *prober) recentFiles() int {
	n := 0
	for _, f := range r.files {
		if f.entry.Precision == ftpcore.TimeMinute {
			n++
		}
	}
	return n
}

// subdirs appends the directories among entries (of dir) to queue.
func subdirs(dir string, entries []ftpcore.Entry, queue []string) []string {
	for _, e := range entries {
		if e.Type == ftpcore.TypeDir && len(queue) < maxDirs {
			queue = append(queue, path.Join(dir, e.Name))
		}
	}
	return queue
}

// mlsdTimes returns the MLSD modify times of dir's files.
func (r *prober) mlsdTimes(ctx context.Context, dir string) map[string]time.Time {
	times := map[string]time.Time{}
	c, err := r.conn(ctx)
	if err != nil {
		return times
	}
	entries, _ := c.ListMLSD(ctx, dir)
	for _, e := range entries {
		if e.Precision == ftpcore.TimeExact {
			times[e.Name] = e.Time
		}
	}
	return times
}

// sortFeatures sorts by name.
func sortFeatures(fs []Feature) {
	slices.SortFunc(fs, func(a, b Feature) int { return strings.Compare(a.Name, b.Name) })
}
