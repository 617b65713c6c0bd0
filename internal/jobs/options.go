package jobs

import (
	"crypto/tls"

	"github.com/ftpmirror/ftpmirror/ftpcore"
	"github.com/ftpmirror/ftpmirror/mirror"
)

// FTPConfig returns the connection settings of the job for src.
func (j *Job) FTPConfig(src *Source) (ftpcore.Config, error) {
	mode, err := src.TLSMode(j.TLS)
	if err != nil {
		return ftpcore.Config{}, err
	}
	cfg := ftpcore.Config{TLS: mode, Active: j.Mode == "active", Timeout: j.Timeout, DisablePipelining: !j.Pipelining}
	if mode != ftpcore.TLSNone {
		tc := &tls.Config{InsecureSkipVerify: j.TLSInsecure}
		if j.TLSCAFile != "" {
			pool, err := ftpcore.LoadCAFile(j.TLSCAFile)
			if err != nil {
				return ftpcore.Config{}, configf("tls CA file: %w", err)
			}
			tc.RootCAs = pool
		}
		cfg.TLSConfig = tc
	}
	return cfg, nil
}

// Options turns the job into mirror.Options (without State and Logger,
// which the caller opens and sets), and says who it logs in as.
func (j *Job) Options() (*mirror.Options, Login, error) {
	src, err := ParseSource(j.Source)
	if err != nil {
		return nil, Login{}, err
	}
	if j.Target == "" {
		return nil, Login{}, configf("no target directory")
	}
	cfg, err := j.FTPConfig(src)
	if err != nil {
		return nil, Login{}, err
	}
	symlinks, err := mirror.ParseSymlinkMode(j.Symlinks)
	if err != nil {
		return nil, Login{}, configf("%w", err)
	}
	verify, err := mirror.ParseVerifyMode(j.Verify)
	if err != nil {
		return nil, Login{}, configf("%w", err)
	}
	maxDelete, err := mirror.ParseDeleteLimit(j.MaxDelete)
	if err != nil {
		return nil, Login{}, configf("%w", err)
	}
	publish, err := mirror.ParsePublishMode(j.Publish)
	if err != nil {
		return nil, Login{}, configf("%w", err)
	}
	if err := j.checkRanges(); err != nil {
		return nil, Login{}, err
	}
	cred := src.Credentials(j.User)
	if j.Password != "" {
		cred.Password, cred.From = j.Password, "the job's password_env or password_file"
	}
	name := j.Name
	if name == "" {
		name = adhocName(src, j.Target)
	}
	o := &mirror.Options{
		Job:           name,
		Addr:          src.Addr,
		User:          cred.User,
		Password:      cred.Password,
		FTP:           cfg,
		Root:          src.Path,
		Target:        j.Target,
		Parallel:      j.Parallel,
		Retries:       j.Retries,
		Delete:        j.Delete,
		MaxDelete:     maxDelete,
		Include:       j.Include,
		Exclude:       j.Exclude,
		Last:          j.Last,
		MaxSize:       j.MaxSize,
		MinAge:        j.MinFileAge,
		MaxAge:        j.MaxFileAge,
		Symlinks:      symlinks,
		LimitRate:     j.LimitRate,
		Segments:      j.Segments,
		Verify:        verify,
		Sentinel:      j.Sentinel,
		DryRun:        j.DryRun,
		Publish:       publish,
		KeepSnapshots: j.KeepSnapshots,
	}
	o.ParallelAuto = j.ParallelAuto
	o.ActiveAuto = j.Mode == "auto"
	return o, cred, nil
}

// checkRanges checks the settings that Options passes on as they are:
// numbers in range, valid globs and sentinel.
func (j *Job) checkRanges() error {
	if j.Parallel < 1 || j.Parallel > 64 {
		return configf("parallel %d: want 1 to 64", j.Parallel)
	}
	if j.Sentinel != "" {
		if err := mirror.ValidateSentinel(j.Sentinel); err != nil {
			return configf("%w", err)
		}
	}
	for _, g := range append(append([]string{}, j.Include...), j.Exclude...) {
		if err := mirror.ValidateGlob(g); err != nil {
			return configf("%w", err)
		}
	}
	if _, err := mirror.ExpandLast(j.Last); err != nil {
		return configf("last: %w", err)
	}
	if j.KeepSnapshots < 1 || j.KeepSnapshots > maxKeepSnapshots {
		return configf("keep_snapshots %d: want 1 to %d", j.KeepSnapshots, maxKeepSnapshots)
	}
	return nil
}
