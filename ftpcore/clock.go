package ftpcore

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// A Unix LIST shows a file's time in the server's local time zone,
// truncated to the minute (only the day for a file more than six months
// old); MDTM (RFC 3659 3) and MLSD give UTC. Comparing the two for the
// same files tells the server's zone, relative to Config.Location in
// which LIST times are read.

// ListOffset returns how far the LIST time list of a file runs ahead of
// its MDTM time mdtm: list shows mdtm, truncated to the minute, in the
// server's zone. Zones are whole quarter hours, so truncating first
// loses nothing.
func ListOffset(list, mdtm time.Time) time.Duration {
	return list.Sub(mdtm.Truncate(time.Minute))
}

// ZoneOffset returns the server's zone offset from the ListOffsets of
// several files: their median rounded to the nearest 15 minutes, and
// whether every one of them is within a minute of it. Files that
// disagree were listed on either side of a zone change (summer time), or
// changed between LIST and MDTM; such an offset is not to be trusted.
// It returns 0, false for no offsets.
func ZoneOffset(offsets []time.Duration) (time.Duration, bool) {
	if len(offsets) == 0 {
		return 0, false
	}
	off := Median(offsets).Round(15 * time.Minute)
	for _, o := range offsets {
		if o-off > time.Minute || off-o > time.Minute {
			return off, false
		}
	}
	return off, true
}

// ZoneName names a zone offset the way doctor and state show do:
// "UTC+03:00", "UTC-05:30".
func ZoneName(off time.Duration) string {
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	return fmt.Sprintf("UTC%s%02d:%02d", sign, int(off.Hours()), int(off.Minutes())%60)
}

// Median returns the median of ds (the upper one of an even number),
// which must not be empty. ds is left as it was.
func Median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// ModTimes is [Conn.ModTime] for several files. Unless pipelining is
// off, the MDTM commands go out in one write and their replies are read
// in order: one round trip for all. errs[i] is paths[i]'s error.
func (c *Conn) ModTimes(ctx context.Context, paths []string) (times []time.Time, errs []error) {
	times = make([]time.Time, len(paths))
	errs = make([]error, len(paths))
	if c.cfg.DisablePipelining || len(paths) < 2 {
		for i, p := range paths {
			times[i], errs[i] = c.ModTime(ctx, p)
		}
		return times, errs
	}
	lines := make([]string, len(paths))
	for i, p := range paths {
		lines[i] = "MDTM " + p
	}
	if err := c.send(ctx, lines...); err != nil {
		for i := range errs {
			errs[i] = err
		}
		return times, errs
	}
	for i, p := range paths {
		if c.broken != nil {
			errs[i] = fmt.Errorf("MDTM: %w", c.errBroken())
			continue
		}
		var msg string
		if _, msg, errs[i] = c.read(ctx, "MDTM", 213); errs[i] == nil {
			times[i], errs[i] = mdtmTime(p, msg)
		}
	}
	return times, errs
}
