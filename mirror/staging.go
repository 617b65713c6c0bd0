package mirror

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Downloads in progress are written into one staging directory at the
// target's root, never beside the files a reader of the mirror sees: a
// web server or rsync reading the tree while a run writes it finds each
// file complete under its final name or not at all, and no temporary
// file at any time. The staging directory is on the target's file
// system, so the rename into place stays atomic. A real run makes it
// when a download first needs it, under the target's lock, and removes
// it at its end when nothing is left in it to resume; a run that fetches
// nothing, and a dry run, never make it. A remote entry of
// that name at the root is refused (reservedName), so no listing can
// write into it or delete it.
//
// A temporary file's name is derived from the file's path alone
// (tempName), so the state's partial record and a later run find it
// again; tempPath is what the record holds.
const stagingDir = ".ftpmirror"

// tempName returns the name, in the staging directory, of the temporary
// file of the file at rel: 32 hex digits of a SHA-256 of the path, and
// ".part".
func tempName(rel string) string {
	sum := sha256.Sum256([]byte(rel))
	return hex.EncodeToString(sum[:16]) + tempSuffix
}

// tempPath returns the temporary file's path relative to the target.
func tempPath(rel string) string { return stagingDir + "/" + tempName(rel) }

// isStagedName reports whether name, in the staging directory, is one of
// the temporary files tempName makes.
func isStagedName(name string) bool {
	hexPart, ok := strings.CutSuffix(name, tempSuffix)
	if !ok || len(hexPart) != 32 {
		return false
	}
	_, err := hex.DecodeString(hexPart)
	return err == nil
}

// reservedName reports whether the remote entry name in directory dir
// would be the staging directory. The comparison ignores case: on a
// case-insensitive target (macOS, Windows) ".FTPMIRROR" is the same
// directory.
func reservedName(dir, name string) bool {
	return dir == "" && strings.EqualFold(name, stagingDir)
}

// oldTempPath is where ftpmirror before issue 15 put the temporary file
// of rel: beside it, named ".ftpmirror-" + 16 hex digits of a SHA-256 of
// the name + ".part".
func oldTempPath(rel string) string {
	dir, name := path.Split(rel)
	sum := sha256.Sum256([]byte(name))
	return dir + tempPrefix + hex.EncodeToString(sum[:8]) + tempSuffix
}

// openStaging opens the staging directory; with create, it makes it if
// need be, else a missing one is nil. What is in its way (a file, a
// link) is not ours to remove: the run fails.
func openStaging(root *os.Root, create bool) (*os.Root, error) {
	fi, err := root.Lstat(stagingDir)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !create:
		return nil, nil
	case errors.Is(err, fs.ErrNotExist):
		if err := root.Mkdir(stagingDir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("staging directory: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("staging directory: %w", err)
	case !fi.IsDir():
		return nil, fmt.Errorf("staging directory: %s in the target is a %v, not a directory: ftpmirror keeps its downloads in progress there; move it away", stagingDir, fi.Mode().Type())
	}
	st, err := root.OpenRoot(stagingDir)
	if err != nil {
		return nil, fmt.Errorf("staging directory: %w", err)
	}
	return st, nil
}

// staging returns the staging directory, made by the first call that
// needs it.
func (r *runner) staging() (*os.Root, error) {
	if st := r.w.stage.Load(); st != nil {
		return st, nil
	}
	r.w.stageMu.Lock()
	defer r.w.stageMu.Unlock()
	if st := r.w.stage.Load(); st != nil {
		return st, nil
	}
	st, err := openStaging(r.w.root, true)
	if err != nil {
		return nil, err
	}
	r.w.stage.Store(st)
	return st, nil
}

// adoptOldTemps moves into the staging directory the temporary files of
// interrupted downloads that an older ftpmirror left beside their files,
// so that they are resumed; their records then name the new place. The
// record must name exactly the file the older version made for that
// path, so that a damaged state moves nothing else. Other old temporary
// files are removed as their directories are listed (removeStaleTemps).
func (r *runner) adoptOldTemps() {
	for rel, p := range r.partials {
		if p.Temp == tempPath(rel) {
			continue
		}
		if p.Temp != oldTempPath(rel) {
			// Not a name ftpmirror makes: nothing to resume from.
			delete(r.partials, rel)
			r.forgetPartial(rel)
			continue
		}
		_, err := r.staging()
		if err == nil {
			err = r.w.root.Rename(p.Temp, tempPath(rel))
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			r.log.Warn("an interrupted download of an older version cannot be moved; fetching it again", "path", "/"+rel, "err", err)
			delete(r.partials, rel)
			r.forgetPartial(rel)
			continue
		}
		p.Temp = tempPath(rel)
		if err := r.w.store.PutPartial(rel, p); err != nil {
			r.log.Warn("recording an interrupted download failed", "path", "/"+rel, "err", err)
		}
		r.partials[rel] = p
		if err == nil {
			r.log.Info("interrupted download of an older version moved to the staging directory", "path", "/"+rel)
		}
	}
}

// cleanStaging removes the temporary files that no partial record names:
// left by a run killed before it could clean up, or by downloads too
// small to resume. With end, the staging directory itself goes too if it
// is then empty. Only names tempName makes are touched.
func (r *runner) cleanStaging(end bool) {
	st := r.w.stage.Load()
	if st == nil {
		return
	}
	partials, err := r.w.store.Partials()
	if err != nil {
		r.log.Warn("reading interrupted downloads failed; staging directory left as it is", "err", err)
		return
	}
	keep := make(map[string]bool, len(partials))
	for _, p := range partials {
		keep[p.Temp] = true
	}
	f, err := st.Open(".")
	if err != nil {
		return
	}
	names, _ := f.Readdirnames(-1)
	f.Close()
	for _, name := range names {
		if isStagedName(name) && !keep[stagingDir+"/"+name] {
			st.Remove(name)
		}
	}
	if end {
		// Fails, as it should, while anything is left in it.
		r.w.root.Remove(stagingDir)
	}
}

// moveIntoPlace renames the complete download tmp (in the staging
// directory) to rel. A directory of rel that is gone (removed under the
// running mirror) is made again.
func (r *runner) moveIntoPlace(tmp, rel string) error {
	err := r.w.root.Rename(stagingDir+"/"+tmp, rel)
	if errors.Is(err, fs.ErrNotExist) {
		if r.remakeDir(parentOf(rel)) == nil {
			err = r.w.root.Rename(stagingDir+"/"+tmp, rel)
		}
	}
	return err
}
