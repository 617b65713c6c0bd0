package jobs

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/ftpmirror/ftpmirror/mirror"
	"github.com/ftpmirror/ftpmirror/state"
)

// VerifyTarget is what `ftpmirror verify` checks: a job's target, the
// state database that holds its records, the job's name in it, and its
// lock file ("" for an ad-hoc sync, which has none).
type VerifyTarget struct {
	Job, Target, DB, Lock string
}

// VerifyTarget returns what verify checks for j: a job of a job file,
// or an ad-hoc sync (Source and Target set), whose state sync finds the
// same way.
func (j *Job) VerifyTarget() (VerifyTarget, error) {
	if j.Target == "" {
		return VerifyTarget{}, configf("no target directory")
	}
	if j.Name != "" {
		paths, err := j.Paths()
		if err != nil {
			return VerifyTarget{}, err
		}
		return VerifyTarget{Job: j.Name, Target: j.Target, DB: paths.DB, Lock: paths.Lock}, nil
	}
	src, err := ParseSource(j.Source)
	if err != nil {
		return VerifyTarget{}, err
	}
	name := adhocName(src, j.Target)
	db, err := j.statePath(name)
	if err != nil {
		return VerifyTarget{}, err
	}
	return VerifyTarget{Job: name, Target: j.Target, DB: db}, nil
}

// FindAdhoc finds the ad-hoc sync (`ftpmirror sync URL TARGET`) of
// target without its URL: in the state database statePath, or else in
// every ad-hoc database of the default state directory, the one job
// whose target it is.
func FindAdhoc(target, statePath string) (VerifyTarget, error) {
	abs, err := filepath.Abs(target)
	if err != nil {
		return VerifyTarget{}, err
	}
	dbs := []string{statePath}
	if statePath == "" {
		def, err := defaultStatePath("adhoc:")
		if err != nil {
			return VerifyTarget{}, err
		}
		if dbs, err = filepath.Glob(filepath.Join(filepath.Dir(def), "adhoc-*.db")); err != nil {
			return VerifyTarget{}, err
		}
	}
	var found []VerifyTarget
	var errs []error
	for _, p := range dbs {
		names, err := jobNames(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, n := range names {
			if strings.HasPrefix(n, "adhoc:") && strings.HasSuffix(n, " -> "+abs) {
				found = append(found, VerifyTarget{Job: n, Target: target, DB: p})
			}
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		return VerifyTarget{}, configf("%s is the target of %d ad-hoc syncs; name the URL too (verify URL TARGET)", target, len(found))
	case len(errs) > 0:
		return VerifyTarget{}, fmt.Errorf("no ad-hoc sync of %s found: %w", target, errors.Join(errs...))
	}
	return VerifyTarget{}, configf("no ad-hoc sync of %s found in the state (%d databases); name the URL (verify URL TARGET), -state or -jobs", target, len(dbs))
}

// jobNames lists the jobs of a state database, opened read-only.
func jobNames(path string) ([]string, error) {
	db, err := state.Open(path, &state.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return db.Jobs()
}

// Verify runs mirror.Verify on vt. It opens the state read-only, so it
// runs beside other readers (status), but not beside a sync of the job:
// bbolt locks the database for as long as a sync has it open, and the
// files a sync is replacing would not match anyway; it then fails with
// an error for which IsLocked holds. With repair, which writes the
// state, it takes the job's lock first, as a sync does.
func Verify(ctx context.Context, vt VerifyTarget, repair bool, report func(mirror.Mismatch)) (*mirror.VerifySummary, error) {
	if !fileExists(vt.DB) {
		return nil, configf("job %s: no state database at %s: it was never synced", vt.Job, vt.DB)
	}
	if repair && vt.Lock != "" {
		lock, err := AcquireLock(ctx, vt.Lock, vt.Job, "verify", time.Second)
		if err != nil {
			return nil, err
		}
		defer lock.Release()
	}
	db, err := state.Open(vt.DB, &state.Options{ReadOnly: !repair, Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("job %s: %w", vt.Job, err)
	}
	defer db.Close()
	return mirror.Verify(ctx, &mirror.VerifyOptions{Job: vt.Job, Target: vt.Target, State: db, Repair: repair, Report: report})
}

// VerifyTargets turns ftpmirror verify's arguments into what to check:
// the jobs named of the job file at jobsPath (all if none), or with no
// job file, [URL] TARGET_DIR (statePath: the state of an ad-hoc sync).
func VerifyTargets(jobsPath, statePath string, pos []string) ([]VerifyTarget, error) {
	if jobsPath == "" {
		switch len(pos) {
		case 1:
			vt, err := FindAdhoc(pos[0], statePath)
			return []VerifyTarget{vt}, err
		case 2:
			jc := Default()
			jc.Source, jc.Target, jc.StatePath = pos[0], pos[1], statePath
			vt, err := jc.VerifyTarget()
			return []VerifyTarget{vt}, err
		}
		return nil, configf("verify takes [URL] TARGET_DIR, or -jobs FILE [JOB...] (run \"ftpmirror help verify\")")
	}
	f, err := Load(jobsPath)
	if err != nil {
		return nil, err
	}
	specs, err := f.Select(pos)
	if err != nil {
		return nil, err
	}
	var out []VerifyTarget
	for _, spec := range specs {
		vt, err := spec.VerifyTarget()
		if err != nil {
			return nil, err
		}
		out = append(out, vt)
	}
	return out, nil
}
