#!/bin/bash
# mutate.sh — remove the safety guards one at a time and check that a test fails each time.
#
#   bench/mutate.sh [-list] [-only "N M ..."] [-timeout SEC] [-full]
#
#   -list        print the mutations and exit
#   -check       check that every mutation applies (its pattern is found once) and exit
#   -only "..."  run only these mutation numbers
#   -timeout S   bound on one mutant's test run (default 300); a run cut by it counts as caught
#                ("timeout"), but is reported apart: a guard whose removal hangs a test wants a
#                better test
#   -full        run each mutant's whole package instead of the tests named for it
#
# Each mutation is one small textual edit (a perl substitution on a pattern that occurs exactly
# once in its file) that removes one guard: the rows of issue 11's table, and the guards the
# tests of that issue added. A pattern that is not found, or found more than once, stops the
# script with "mutation N did not apply": the list must follow refactors, not silently test
# nothing. Before the mutants, every test named below runs once on the unmodified tree and must
# pass. Each file is restored after its mutant (and on exit or interrupt), and the script checks
# that every file it touched is as it was.
#
# Output: one line per mutation, "caught" (a test failed), "timeout", or "SURVIVED", then a
# markdown table for the closing note. Exit status 1 if any mutation survived or did not apply.
# The power-cut tests need root and /dev/fuse, the integration tests the real servers of
# scripts/install-test-servers.sh; without them, those mutants survive.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
TIMEOUT=300 ONLY="" LIST=0 FULL=0 CHECK=0
while [ $# -gt 0 ]; do
  case $1 in
    -list) LIST=1; shift ;;
    -check) CHECK=1; shift ;;
    -only) ONLY=$2; shift 2 ;;
    -timeout) TIMEOUT=$2; shift 2 ;;
    -full) FULL=1; shift ;;
    -h | -help | --help) sed -n '2,24p' "$0" >&2; exit 2 ;;
    *) echo "mutate.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

# The mutations: number, guard, file, perl substitution,
# package, tests (a go test -run pattern). perl runs with -0777: the whole file is one string.
N=0
declare -a GUARD FILE SUBST PKG TESTS
m() { N=$((N + 1)); GUARD[N]=$1 FILE[N]=$2 SUBST[N]=$3 PKG[N]=$4 TESTS[N]=$5; }

# --- issue 11's table
m "resume only when size and time are unchanged (canResume)" mirror/plan.go \
  's/(func \(r \*runner\) canResume\(p state\.Partial, e ftpcore\.Entry\) bool \{\n)/$1\treturn true\n/' \
  ./mirror 'TestResumeChanged'
m "syncfs before each state commit (SetBeforeCommit)" mirror/apply.go \
  's/\n\tw\.batch\.SetBeforeCommit\(r\.syncTarget\)\n/\n/' \
  ./mirror 'TestPowerCut$'
m "commit ordering: before-commit, then Apply (state/batch.go)" state/batch.go \
  's/(\t\t\tif err == nil && before != nil \{\n\t\t\t\terr = before\(\)\n\t\t\t\}\n)(\t\t\tif err == nil \{\n\t\t\t\terr = b\.job\.Apply\(batch\)\n\t\t\t\}\n)/$2$1/' \
  ./state 'TestBatcherBeforeCommit'
m "commit ordering, seen by the power-cut test" state/batch.go \
  's/(\t\t\tif err == nil && before != nil \{\n\t\t\t\terr = before\(\)\n\t\t\t\}\n)(\t\t\tif err == nil \{\n\t\t\t\terr = b\.job\.Apply\(batch\)\n\t\t\t\}\n)/$2$1/' \
  ./mirror 'TestPowerCut$'
m "state fsync (NoSync: true)" state/state.go \
  's/\t\tNoSync:   o\.NoSync,\n/\t\tNoSync:   true,\n/' \
  ./state 'TestDurableCommits$'
m "stale-temp cleanup (isTempName)" mirror/apply.go \
  's/\t\tif !isTempName\(name\) \{\n/\t\tif true || !isTempName(name) {\n/' \
  ./mirror 'TestStaleTempsRemoved'
m "remove the temporary file on a RETR error" mirror/fetch.go \
  's/(\t\t\t\/\/ Nothing to resume from: leave no empty temporary file\.\n)\t\t\td\.remove\(\)\n/$1/' \
  ./mirror 'TestNoTempAfterRETRError'
m "remove the temporary file on errTooLong" mirror/fetch.go \
  's/(\t\t\/\/ keep none of it\.\n)\t\td\.dir\.Remove\(d\.tmp\)\n/$1/' \
  ./mirror 'TestHostileSizes'
m "delete guard default 50% -> 88% (the command's default)" internal/jobs/job.go \
  's/\t\tMaxDelete:   "50%",\n/\t\tMaxDelete:   "88%",\n/' \
  ./cmd/ftpmirror 'TestDefaultMaxDelete'
m "delete guard default 50% -> 5% (the command's default)" internal/jobs/job.go \
  's/\t\tMaxDelete:   "50%",\n/\t\tMaxDelete:   "5%",\n/' \
  ./cmd/ftpmirror 'TestDefaultMaxDelete'
m "a percentage limit of deletions (DeleteLimit.allows)" mirror/delete.go \
  's/\t\treturn known > 0 && float64\(n\)\*100 <= l\.N\*float64\(known\)\n/\t\treturn true\n/' \
  ./mirror 'TestDeleteGuardDefault|TestDeleteLimit'
m "-max-delete N count limit (DeleteLimit.allows)" mirror/delete.go \
  's/\treturn float64\(n\) <= l\.N\n/\treturn true\n/' \
  ./mirror 'TestMaxDeleteCount|TestDeleteLimit'
m "STAT listing byte limit (ftpcore/list.go)" ftpcore/list.go \
  's/c\.budget\.maxBytes = int\(min\(c\.cfg\.MaxListBytes, 1<<30\)\)/c.budget.maxBytes = int(1 << 40)/' \
  ./ftpcore 'TestSTATListingLimit'
m "CR/LF refusal, for cmd and the pipelined send path (ftpcore/conn.go refuseControlBytes)" ftpcore/conn.go \
  's/(\tfor _, line := range lines \{\n\t\tif )(strings\.ContainsAny\(line, "\\r\\n\\x00"\) \{\n\t\t\tverb, _, _ := strings\.Cut\(line, " "\))/$1false \&\& $2/' \
  ./ftpcore 'TestSendRefusesControlBytes'
m "os.Root confinement of the rename into place (moveIntoPlace)" mirror/staging.go \
  's/\terr := r\.w\.root\.Rename\(stagingDir\+"\/"\+tmp, rel\)\n/\terr := os.Rename(r.w.root.Name()+"\/"+stagingDir+"\/"+tmp, r.w.root.Name()+"\/"+rel)\n/' \
  ./mirror 'TestDirSwappedForLink'
m "privileged passive ports (ftpcore/data.go)" ftpcore/data.go \
  's/\tif port < 1024 && !c\.cfg\.TrustPASVAddress \{/\tif false \&\& port < 1024 \&\& !c.cfg.TrustPASVAddress {/' \
  ./ftpcore 'TestPassivePrivilegedPort'
m "MinRate (ftpcore/transfer.go)" ftpcore/transfer.go \
  's/if min := t\.c\.cfg\.MinRate; min > 0 && /if min := t.c.cfg.MinRate; false \&\& min > 0 \&\& /' \
  ./ftpcore 'TestMinRate'
m "listing byte limit on a data connection (ftpcore/list.go)" ftpcore/list.go \
  's/lr := &io\.LimitedReader\{R: t, N: c\.cfg\.MaxListBytes \+ 1\}/lr := \&io.LimitedReader{R: t, N: 1 << 40}/' \
  ./ftpcore 'TestDataListingLimit'
m "bytes after 234 (ftpcore/tls.go authTLS)" ftpcore/tls.go \
  's/if n := c\.text\.R\.Buffered\(\); n > 0 \{/if n := c.text.R.Buffered(); false \&\& n > 0 {/' \
  ./ftpcore 'TestBytesAfter234'

# --- guards the tests of issue 11 hold besides
m "remove the temporary file when the disk has no room for the file" mirror/fetch.go \
  's/(\t\t\tif d\.offset == 0 \{\n)\t\t\t\td\.remove\(\)\n/$1/' \
  ./mirror 'TestHostileSizes'
m "record a large download as partial before it starts (partialMin)" mirror/fetch.go \
  's/if d\.offset == 0 && e\.Size >= partialMin && /if d.offset == 0 \&\& e.Size >= 1<<62 \&\& /' \
  ./mirror 'TestResumeChangedHostile'
m "compare the bytes before the offset when resuming (mirror/fetch.go)" mirror/fetch.go \
  's/\t\tif !same \{\n/\t\tif false \&\& !same {\n/' \
  ./mirror 'TestResumeChanged'
m "the sync before a commit syncs (syncTarget)" mirror/apply.go \
  's/(func \(r \*runner\) syncTarget\(\) error \{\n)/$1\treturn nil\n/' \
  ./mirror 'TestPowerCut$'
m "a transfer shorter than listed is not renamed into place" mirror/fetch.go \
  's/\tcase e\.Size >= 0 && total != e\.Size:/\tcase false \&\& e.Size >= 0 \&\& total != e.Size:/' \
  ./mirror 'TestHostileSizes'
m "the partial record goes once the file is in place" mirror/commit.go \
  's/(\tif f\.partial \{\n\t\t)if err := r\.w\.store\.DeletePartial\(f\.rel\); err != nil \{/$1if err := error(nil); err != nil {/' \
  ./mirror 'TestResumeChanged'
m "a before-commit error fails the batch (state/batch.go)" state/batch.go \
  's/(\t\t\tif err == nil && before != nil \{\n\t\t\t\t)err = before\(\)/$1before()/' \
  ./state 'TestBatcherBeforeCommitFailure'

# --- the operator's contract (issue 10)
m "a dry run makes no directory (needDir)" mirror/apply.go \
  's/(\t\tr\.report\(Action\{Verb: VerbMkdir, Path: rel\}\)\n)\t\tif r\.dryRun\(\) \{\n\t\t\tcontinue\n\t\t\}\n/$1/' \
  ./mirror 'TestDryRunWritesNothing'
m "a dry run queues no download (planFetch)" mirror/apply.go \
  's/\tif r\.dryRun\(\) \{\n\t\tr\.fetched\.Add\(1\)\n/\tif false \&\& r.dryRun() {\n\t\tr.fetched.Add(1)\n/' \
  ./mirror 'TestDryRunWritesNothing'
m "a dry run opens no writer (no target, no batcher)" mirror/run.go \
  's/\tif !r\.opts\.DryRun \{\n(\t\t\/\/ Only now that the server answered)/\tif true {\n$1/' \
  ./mirror 'TestDryRunWritesNothing'
m "a run that cannot connect makes no target" mirror/apply.go \
  's/(func openView\(target string\) \(localView, error\) \{\n)/$1\tos.MkdirAll(target, 0o755)\n/' \
  ./cmd/ftpmirror 'TestNothingCouldBeDone'
m "the remote root is proven before the target is made (proveRoot)" mirror/run.go \
  's/\tfirst, root, err := r\.proveRoot\(ctx, first\)\n/\tfirst, root, err := first, (*listing)(nil), error(nil)\n/' \
  ./mirror 'TestRootIsAFile'
m "0 and 0% allow no deletion (DeleteLimit.allows)" mirror/delete.go \
  's/\tcase l\.None \|\| n == 0:/\tcase l.None || n == 0 || l.N == 0:/' \
  ./mirror 'TestDeleteLimit'
m "one writer per target (lockTarget)" mirror/lock_unix.go \
  's/\terr = unix\.Flock\(int\(f\.Fd\(\)\), unix\.LOCK_EX\|unix\.LOCK_NB\)/\terr = nil/' \
  ./mirror 'TestTargetLock'
m "sync flags override job keys with -jobs (overrideFlags)" cmd/ftpmirror/sync.go \
  's/\t\tif err := overrideFlags\(&s, args\); err != nil \{/\t\tif err := error(nil); err != nil {/' \
  ./cmd/ftpmirror 'TestSyncFlagsOverrideJobKeys|TestDryRunWithJobsWritesNothing'
m "a dry run of a job takes no lock and writes no status (Runner.Run)" internal/jobs/runner.go \
  's/\tif j\.DryRun \{\n\t\treturn r\.dryRun\(ctx, j\)\n\t\}\n//' \
  ./cmd/ftpmirror 'TestDryRunWithJobsWritesNothing'
m "a first dry run creates no state file (jobs.Mirror)" internal/jobs/runner.go \
  's/\tif !j\.DryRun \|\| fileExists\(path\) \{/\tif true {/' \
  ./cmd/ftpmirror 'TestDryRunFirstRunWritesNothing'
m "nothing could be done exits 5" cmd/ftpmirror/main.go \
  's/(\tcase errors\.Is\(err, mirror\.ErrNotStarted\):\n\t\treturn )exitNotStarted/$1exitPartial/' \
  ./cmd/ftpmirror 'TestNothingCouldBeDone|TestExitStatuses'
m "SIGTERM exits 143" cmd/ftpmirror/main.go \
  's/\t\t\treturn exitSIGTERM\n/\t\t\treturn exitSIGINT\n/' \
  ./cmd/ftpmirror 'TestOneWriterPerTarget'
m "an interrupted run is recorded as interrupted" mirror/run.go \
  's/\t\treturn ResultInterrupted\n/\t\treturn ResultFailed\n/' \
  ./cmd/ftpmirror 'TestOneWriterPerTarget'
m "quiet prints nothing on success" cmd/ftpmirror/output.go \
  's/\tif quiet && err == nil && /\tif false \&\& quiet \&\& err == nil \&\& /' \
  ./cmd/ftpmirror 'TestQuietCron'
m "a port outside 1-65535 is a usage error" internal/jobs/source.go \
  's/n < 1 \|\| n > 65535/n < 1/' \
  ./internal/jobs 'TestParseSource'
m "two jobs may not share a target" internal/jobs/file.go \
  's/if other, dup := targets\[target\]; dup \{/if other, dup := targets[target]; false \&\& dup {/' \
  ./cmd/ftpmirror 'TestTwoJobsOneTarget'
m "directories only for what they hold (emptyDirWanted)" mirror/apply.go \
  's/\treturn len\(r\.opts\.Include\) == 0 \|\| r\.filter\.file\(rel\)\n/\treturn true\n/' \
  ./mirror 'TestIncludeMakesNoEmptyDirectories'
m "JSON summaries are not HTML-escaped" cmd/ftpmirror/output.go \
  's/\t\tenc\.SetEscapeHTML\(false\)\n//' \
  ./cmd/ftpmirror 'TestOutputDetails'
m "no password found: say where ftpmirror looked" internal/jobs/hints.go \
  's/\t\tif cred\.From == "" && user != "anonymous" && user != "ftp" \{/\t\tif false {/' \
  ./cmd/ftpmirror 'TestNoPasswordFound'
m "an unreadable PWD does not stop the run" mirror/root.go \
  's/\tif errors\.Is\(err, ftpcore\.ErrProtocol\) \{\n(\t\t\/\/ A PWD reply)/\tif false {\n$1/' \
  ./mirror 'TestUnreadablePWD'

m "a directory gone before its fetch is made again (remakeDir)" mirror/staging.go \
  's/\tif errors\.Is\(err, fs\.ErrNotExist\) \{\n(\t\tif r\.remakeDir)/\tif false \&\& errors.Is(err, fs.ErrNotExist) {\n$1/' \
  ./mirror 'TestDirRemovedBeforeFetch'

# --- issue 15: the staging directory
m "downloads in progress in the staging directory, not in the tree" mirror/staging.go \
  's/const stagingDir = "\.ftpmirror"/const stagingDir = "."/' \
  ./mirror 'TestStagingReaderSeesNoTemp'
m "downloads in progress in the staging directory, seen by SIGKILLs" mirror/staging.go \
  's/const stagingDir = "\.ftpmirror"/const stagingDir = "."/' \
  ./internal/crashtest 'TestKillLoop'
m "a remote .ftpmirror at the root is not mirrored (reservedName)" mirror/staging.go \
  's/\treturn dir == "" && strings\.EqualFold\(name, stagingDir\)/\treturn false/' \
  ./mirror 'TestStagingReservedName'
m "an old temporary file with a partial record is moved and resumed (adoptOldTemps)" mirror/staging.go \
  's/\t\t\terr = r\.w\.root\.Rename\(p\.Temp, tempPath\(rel\)\)/\t\t\terr = nil/' \
  ./mirror 'TestOldTempAdopted'
m "stale temporary files and the empty staging directory go at the end (cleanStaging)" mirror/staging.go \
  's/\t\tif isStagedName\(name\) && !keep/\t\tif false \&\& isStagedName(name) \&\& !keep/' \
  ./mirror 'TestStagingCleanedAtEnd'
m "what is in the way of the staging directory is not used (openStaging)" mirror/staging.go \
  's/\tcase !fi\.IsDir\(\):\n/\tcase false:\n/' \
  ./mirror 'TestStagingInTheWay'
m "a run that fetches nothing makes no staging directory (the target stays as it was)" mirror/apply.go \
  's/stage, err := openStaging\(r\.view\.dc\.root, false\)/stage, err := openStaging(r.view.dc.root, true)/' \
  ./cmd/ftpmirror 'TestStateCorruptRebuild'

# --- issue 15: the sentinel short-circuit
m "an unchanged sentinel ends the run (checkSentinel)" mirror/sentinel.go \
  's/(\t\t\t\t"bytes", seen\.Size, "time", seen\.ModTime, "last_complete", stored\.Saved\)\n)\t\t\treturn true, nil/$1\t\t\treturn false, nil/' \
  ./mirror 'TestRealServersSentinel'
m "a sentinel of a new size is a change" mirror/sentinel.go \
  's/\t\tcase stored\.Size != seen\.Size:/\t\tcase false:/' \
  ./mirror 'TestRealServersSentinel'
m "a sentinel of a new time is a change" mirror/sentinel.go \
  's/\|\| !sameTime\(stored\.ModTime, seen\.ModTime, p, r\.loc\):/:/' \
  ./mirror 'TestRealServersSentinel'
m "a sentinel record made under other settings is not trusted" mirror/sentinel.go \
  's/ \|\| stored\.Settings != seen\.Settings:/:/' \
  ./mirror 'TestRealServersSentinel'
m "only a run that ended ok records the sentinel" mirror/sentinel.go \
  's/ \|\| res != ResultOK \|\| / || /' \
  ./mirror 'TestSentinelAfterIncompleteRun'
m "a run that skipped files for min-age records no sentinel" mirror/sentinel.go \
  's/ \|\| r\.young\.Load\(\) > 0 \{/ {/' \
  ./mirror 'TestSentinelAfterIncompleteRun'
m "a walking run forgets the sentinel record before it writes (forgetSentinel)" mirror/sentinel.go \
  's/\tif !r\.sentinelStored \{\n\t\treturn nil/\tif true {\n\t\treturn nil/' \
  ./mirror 'TestSentinelAfterIncompleteRun'

# --- issue 12
m "a refused PASS is not quoted in the error (ftpcore/conn.go refuseControlBytes)" ftpcore/conn.go \
  's/NUL: %q", verb, redact\(line\)\)/NUL: %q", verb, line)/' \
  ./ftpcore 'TestRefusedPasswordNotInError'

# --- issue 15: publish (ordered publish, snapshots)
m "Last files wait for the last stage (holdLast)" mirror/apply.go \
  's/\n\tif r\.holdLast\(t\) \{\n\t\treturn\n\t\}\n/\n/' \
  ./mirror 'TestRealServerLastStage'
m "no last stage after a failure of the first" mirror/last.go \
  's/if failed := r\.failed\.Load\(\); failed > 0 \|\| listFail \{/if failed := r.failed.Load(); false && (failed > 0 || listFail) {/' \
  ./mirror 'TestRealServerLastStage'
m "no deletion when the last stage was held back" mirror/run.go \
  's/if err == nil && deleteOK \{/if _ = deleteOK; err == nil {/' \
  ./mirror 'TestRealServerLastStage'
m "current switches only to a complete version (a reader sees no mix)" mirror/snapshot.go \
  's/(\tinner\.Target = filepath\.Join\(opts\.Target, filepath\.FromSlash\(nextSnapshot\)\)\n)/$1\ts.switchTo("next")\n/' \
  ./mirror 'TestRealServerSnapshotReader'
m "a run that did not end ok does not switch current" mirror/snapshot.go \
  's/if err != nil \|\| sum\.Result != ResultOK \{/if err != nil {/' \
  ./mirror 'TestRealServerSnapshotFailedRun'
m "a snapshot dry run writes nothing" mirror/snapshot.go \
  's/\tif opts\.DryRun \{\n/\tif false \&\& opts.DryRun {\n/' \
  ./mirror 'TestRealServerSnapshot'
m "only keep_snapshots versions stay" mirror/snapshot.go \
  's/(func \(s snapshots\) prune\(keep int\) error \{\n)/$1\treturn nil\n/' \
  ./mirror 'TestRealServerSnapshotFailedRun'
m "a switch cut by a crash is finished by the next run (prepare)" mirror/snapshot.go \
  's/if newest != "" && s\.current\(\) != newest \{/if false \&\& newest != "" \&\& s.current() != newest {/' \
  ./mirror 'TestSnapshotsPrepare'
m "temporary files and staging are not linked into a new version" mirror/snapshot.go \
  's/case rel == stagingDir \|\| isTempName\(d\.Name\(\)\):/case false:/' \
  ./mirror 'TestSnapshotsPrepare'
m "a snapshot run that cannot connect makes no target (beforeWrite)" mirror/snapshot.go \
  's/(\tinner\.Target = filepath\.Join\(opts\.Target, filepath\.FromSlash\(nextSnapshot\)\)\n)/\tif err := inner.beforeWrite(); err != nil {\n\t\treturn nil, err\n\t}\n\tinner.beforeWrite = nil\n$1/' \
  ./cmd/ftpmirror 'TestNothingCouldBeDone'
# --- issue 15: verified transfers, digests in the state, verify
m "a digest mismatch fetches once more before it fails (digestFailed)" mirror/digest.go \
  's/\tif t\.refetched \{\n/\tif true {\n/' \
  ./mirror 'TestVerifyLyingHash'
m "the server's digest is compared with the bytes (digester.check)" mirror/digest.go \
  's/\tcase !bytes\.Equal\(got, d\.Sum\):/\tcase !bytes.Equal(got, got):/' \
  ./mirror 'TestVerifyLyingHash|TestVerifyResumedDownload'
m "a resumed download's kept bytes go into the digest (digester.prefix)" mirror/digest.go \
  's/\tif n <= 0 \{\n\t\treturn nil\n/\tif true {\n\t\treturn nil\n/' \
  ./mirror 'TestVerifyResumedDownload'
m "HASH's answer must be of the algorithm asked (parseChecksum)" ftpcore/hash.go \
  's/\t\tif !strings\.EqualFold\(fields\[0\], cs\.Algo\) \{/\t\tif false {/' \
  ./ftpcore 'TestParseChecksum'
m "every file written has its SHA-256 in its record (commit)" mirror/commit.go \
  's/\n\t\tDigest: f\.digest,\n/\n/' \
  ./mirror 'TestVerifyLyingHash'
m "verify compares the bytes with the recorded digest (checkLocal)" mirror/verify.go \
  's/\tif !bytes\.Equal\(h\.Sum\(nil\), rec\.Digest\) \{/\tif !bytes.Equal(rec.Digest, rec.Digest) {/' \
  ./mirror 'TestVerifyRealServers'
m "a record marked Stale by verify -repair is fetched again (decideFile)" mirror/plan.go \
  's/\t\tcase rec\.Stale:/\t\tcase false:/' \
  ./mirror 'TestVerifyRealServers'
m "a record without digest encodes as before digests (encodeRecord)" state/codec.go \
  's/\tif len\(r\.Digest\) > 0 \|\| r\.Stale \{/\tif true {/' \
  ./state 'TestRecordDigestCompatible'
m "verify -repair takes the job lock (jobs.Verify)" internal/jobs/verify.go \
  's/\tif repair && vt\.Lock != "" \{/\tif false {/' \
  ./cmd/ftpmirror 'TestVerifyCommand'

# --- issue 14: the stored server profile and mode auto
m "a connection seeded with a known listing skips STAT (startListing)" ftpcore/profile.go \
  's/\tif i >= 1 \{\n\t\tc\.stat = listARefused/\tif false {\n\t\tc.stat = listARefused/' \
  ./ftpcore 'TestStartFromProfile'
m "new connections skip a stored refused EPSV (profileConfig)" mirror/profile.go \
  's/\tif p\.seedEPSV\.Load\(\) \{\n\t\tcfg\.DisableEPSV = true/\tif false {\n\t\tcfg.DisableEPSV = true/' \
  ./mirror 'TestProfileUsedAndRelearned'
m "the listing command a connection found is stored (learn)" mirror/profile.go \
  's/\tif l := c\.Listing\(\); l != "" \{/\tif l := c.Listing(); false {/' \
  ./mirror 'TestProfileUsedAndRelearned'
m "EPSV is tried again where FEAT newly offers it (learnFeatures)" mirror/profile.go \
  's/\tif p\.seedEPSV\.Load\(\) && c\.HasFeature\("EPSV"\) && /\tif p.seedEPSV.Load() && false && /' \
  ./mirror 'TestProfileUsedAndRelearned'
m "stored refusals are tried again after 20 runs (loadProfile)" mirror/profile.go \
  's/\tif rec\.Runs >= profileRelearnRuns && /\tif false && /' \
  ./mirror 'TestProfileRelearnAfterRuns'
m "the active test waits at most 2 s for the connect-back (probeActive)" mirror/profile.go \
  's/\tactive, err := sample\(true, activeProbeTimeout\)/\tactive, err := sample(true, limit)/' \
  ./mirror 'TestModeAutoBehindNAT'
m "a failed active test is remembered: no test on the next run (chooseMode)" mirror/profile.go \
  's/\tcase p\.activeOK == state\.ActiveUnknown \|\| /\tcase true || /' \
  ./mirror 'TestModeAutoBehindNAT'
m "mode auto uses active where the profile says it works and is faster (chooseMode)" mirror/profile.go \
  's/\tcase p\.activeOK == state\.ActiveWorks && activeFaster\(p\.passive, p\.actCost, p\.rtt\):/\tcase false:/' \
  ./mirror 'TestModeAutoFallsBackMidRun|TestModeAutoVsftpd'
m "an active connect-back that never comes makes the run passive, file retried (noConnectBack)" mirror/retry.go \
  's/ \|\| r\.noConnectBack\(ctx, t, err\)//' \
  ./mirror 'TestModeAutoFallsBackMidRun'
m "a dry run tests no active mode, stores no profile (chooseMode)" mirror/profile.go \
  's/\t\tp\.probe\.Store\(!r\.opts\.DryRun\)/\t\tp.probe.Store(true)/' \
  ./mirror 'TestProfileDryRunStoresNothing'
m "a server record from before the profile decodes (decodeServer)" state/server.go \
  's/\tif len\(d\.buf\) > 0 \{ \/\/ records written before the profile end here/\tif true {/' \
  ./state 'TestServerRecord'

# --- issue 14: listing ahead, shares, the assumed STAT, the one-write login, width
m "a listing ahead is used only when the parent's listing claims it (planDir)" mirror/plan.go \
  's/\t\tr\.claimAhead\(rel, links\)/\t\tr.q.push(&task{kind: taskList, rel: rel, links: links})/' \
  ./mirror 'TestListAhead$'
m "a re-run lists the known directories ahead (walk)" mirror/run.go \
  's/\tr\.queueAhead\(dirs\)\n/\t_ = dirs\n/' \
  ./mirror 'TestListAhead$'
m "a failed listing ahead is dropped, and listed again when claimed: never a failure (aheadDone)" mirror/ahead.go \
  's/\tcase l\.err != nil:\n\t\tdelete\(a\.dirs, rel\)\n\t\tok = false\n/\tcase false:\n/' \
  ./mirror 'TestAheadClaimOrder|TestListAheadDecidesNothing'
m "a claimed listing ahead that failed is listed anew (aheadDone)" mirror/ahead.go \
  's/\tcase l\.err != nil:\n\t\tr\.q\.push\(&task\{kind: taskList, rel: rel, links: d\.links\}\)\n//' \
  ./mirror 'TestAheadClaimOrder|TestListAheadDecidesNothing'
m "the workers waiting share the queued listings, rounded up (moreLists)" mirror/queue.go \
  's/q\.takeLists\(listShare\(len\(q\.lists\), q\.sleepers, most\),/q.takeLists(min(most, len(q.lists)\/8),/' \
  ./mirror 'TestMoreListsShares'
m "a stored STAT batches listings from the first one (startListing)" ftpcore/profile.go \
  's/\t\tc\.stat = listAAssumed\n/\t\t_ = listAAssumed\n/' \
  ./ftpcore 'TestAssumedSTAT'
m "an assumed STAT that lists nothing and an empty LIST: not listed, never empty (listInstead)" ftpcore/list.go \
  's/\tcase err == nil && len\(entries\) == 0:\n\t\treturn nil, fmt\.Errorf\("STAT %s: %w", dir, ErrNotListed\)\n//' \
  ./ftpcore 'TestAssumedSTAT'
m "-parallel auto doubles while a step pays (tick)" mirror/width.go \
  's/\tmore := min\(w\.cur, w\.limit-w\.cur\)/\tmore := min(1, w.limit-w.cur)/' \
  ./mirror 'TestWidthReachesCapSoon'
# --- issue 14 item 5: clock calibration
m "-min-age/-max-age compare real ages: listing time less the server's offset (planFile)" mirror/plan.go \
  's/\t\tage := r\.now\.Sub\(r\.clk\.realTime\(e\)\)/\t\tage := r.now.Sub(e.Time)/' \
  ./mirror 'TestClockAges'
m "the offset is learned before a directory is planned (calibrate in listDir)" mirror/walk.go \
  's/\tr\.calibrate\(ctx, c, t\.rel, entries\)\n\tr\.listedDir\(\)\n\treturn/\tr.listedDir()\n\treturn/' \
  ./mirror 'TestClockAges'
m "with the offset known, adoption on the listing's minute, no MDTM per file (decideFile)" mirror/plan.go \
  's/\t\t\tif off != unknownOffset \{\n\t\t\t\t\/\/ The server/\t\t\tif false {\n\t\t\t\t\/\/ The server/' \
  ./mirror 'TestClockAdopt|TestRealServersClock'
m "a file adopted on the listing's minute is recorded with its local time (planFile)" mirror/plan.go \
  's/\t\t\tif d\.localTime \{/\t\t\tif false {/' \
  ./mirror 'TestClockAdopt'
m "a stored offset that this run's files contradict is relearned (clockLearned)" mirror/clock.go \
  's/ok && off != k\.stored\.ClockOffset \{/ok \&\& false {/' \
  ./mirror 'TestClockRelearn'
m "a learned offset is stored (clockLearned)" mirror/clock.go \
  's/\trec\.ClockOffset, rec\.ClockLearned, rec\.ClockSamples = k\.learned\.ClockOffset, k\.learned\.ClockLearned, k\.learned\.ClockSamples\n//' \
  ./mirror 'TestClockLearned'
m "an offset is learned only from samples within a minute of it (ZoneOffset)" ftpcore/clock.go \
  's/\t\tif o-off > time\.Minute \|\| off-o > time\.Minute \{/\t\tif o-off > 24*time.Hour || off-o > 24*time.Hour {/' \
  ./ftpcore 'TestZoneOffset'
m "a server record without clock fields decodes (decodeServer)" state/server.go \
  's/\tif len\(d\.buf\) > 0 \{ \/\/ records written before clock calibration/\tif true { \/\/ records written before clock calibration/' \
  ./state 'TestServerClock'
m "the calibration's MDTMs go out in one write (Conn.ModTimes)" ftpcore/clock.go \
  's/\tif c\.cfg\.DisablePipelining \|\| len\(paths\) < 2 \{/\tif true {/' \
  ./mirror 'TestClockLearned'

m "mode auto goes active in the run that found it works and is faster (probeActive)" mirror/profile.go \
  's/\t\t\/\/ From the next transfer of each connection on \(followMode\)\.\n\t\tp\.active\.Store\(true\)\n/\t\t\/\/ From the next transfer of each connection on (followMode).\n/' \
  ./mirror 'TestModeAutoSwitchesAfterTest'
m "each worker follows the run's mode before its next transfer (followMode)" mirror/pool.go \
  's/\t\tif w\.next == nil \{\n\t\t\tr\.followMode\(c\)\n\t\t\}\n//' \
  ./mirror 'TestModeAutoSwitchesAfterTest'
m "a connection told the server answers pipelined transfers in order pipelines its first (Dial)" ftpcore/conn.go \
  's/\tc\.pipeline = c\.cfg\.PipelineFirst\n//' \
  ./ftpcore 'TestPipelineFirst'
m "new connections pipeline from the first transfer where the profile says so (profileConfig)" mirror/profile.go \
  's/\tcfg\.PipelineFirst = p\.inOrder\.Load\(\)\n//' \
  ./mirror 'TestProfilePipelinesFirstTransfer'
m "a file adopted on its size alone keeps the local file's time (decideFile)" mirror/plan.go \
  's/reason: "size matches, server gives no time", localTime: true\}/reason: "size matches, server gives no time"}/' \
  ./mirror 'TestAdoptWithoutServerTime'
# --- issue 14 item 6: the state compacted after a run that left it sparse (RSS at 200,000 files)
m "Open takes the file at the path, not one renamed over while it waited (openCurrent)" state/state.go \
  's/case os\.SameFile\(held, now\):/case os.SameFile(held, held) || now != nil:/' \
  ./state 'TestOpenWaitingDuringCompact'
m "a read-only state is never compacted (CloseCompact)" state/compact.go \
  's/if db\.readOnly \|\| /if /' \
  ./state 'TestCloseCompact'
m "compacted only after enough changes (CloseCompact)" state/compact.go \
  's/ \|\| db\.changes\.Load\(\) < minChanges//' \
  ./state 'TestCloseCompact'
m "compacted only when sparse (sparse)" state/compact.go \
  's/\treturn slack >= compactMinSlack && float64\(slack\) >= compactSlack\*float64\(size\), size, nil/\treturn size > 0 || slack > 0, size, nil/' \
  ./state 'TestCloseCompact'
m "a compaction keeps the buckets' sequences, which number the runs (copyTo)" state/compact.go \
  's/\t\t\treturn b\.SetSequence\(seq\)\n\t\t\}\)/\t\t\treturn b.SetSequence(0)\n\t\t})/' \
  ./state 'TestCloseCompact'
m "the mapped pages are released every few MiB of records (touched)" state/compact.go \
  's/\t_ = db\.view\("", func\(tx \*bolt\.Tx\) error \{ release\(tx\); return nil \}\)\n//' \
  ./state 'TestReleaseBoundsMappedPages'
m "a worker's pipelined next fetch follows mode auto's switch (queueNext)" mirror/fetch.go \
  's/\tr\.followMode\(c\)\n\tp, err := xfer\.NextWith/\tp, err := xfer.NextWith/' \
  ./mirror 'TestModeAutoSwitchesPipelinedWorkers'
m "mode auto is the default, and harmless behind NAT (Default)" internal/jobs/job.go \
  's/\t\tMode:        "auto",/\t\tMode:        "passive",/' \
  ./cmd/ftpmirror 'TestModeAutoBehindRealNAT'
m "doctor suggests passive where active mode failed, not auto's test every 30 days (Suggest)" internal/probe/render.go \
  's/(\tcase p\.Active\.Result != Yes:\n)\t\ts\.Mode = "passive"\n/$1/' \
  ./internal/probe 'TestProbeActiveNoConnectBack|TestSuggestAndWriteJob'
m "MLSD listings chain: the next one's commands go before the 226 (ListMany)" ftpcore/list.go \
  's/\tif c\.ChainsListings\(\) && len\(dirs\) > 1 \{\n\t\treturn c\.listChain\(ctx, dirs\)\n\t\}\n//' \
  ./ftpcore 'TestListManyChainsMLSD'
m "a worker chains the listings ahead it takes on an MLSD connection (worker)" mirror/pool.go \
  's/\t\tif t\.ahead && c\.ChainsListings\(\) \{/\t\tif false \&\& t.ahead \&\& c.ChainsListings() {/' \
  ./mirror 'TestListAheadChains'
m "a compaction's copy is synced before it is renamed over the state (rewrite)" state/compact.go \
  's/\tif err == nil \{\n\t\terr = dst\.Sync\(\)\n\t\}\n//' \
  ./state 'TestDurableCompaction$'
m "mode auto goes active only where the round trip it saves matters (activeFaster)" mirror/profile.go \
  's/\treturn rtt >= activeMinRTT && active <= passive-rtt\/2/\treturn active <= passive/' \
  ./mirror 'TestModeAutoSwitchesAfterTest'
m "a stored test without a round trip is made again (chooseMode)" mirror/profile.go \
  's/,\n\t\tp\.activeOK == state\.ActiveWorks && p\.rtt == 0: \/\/ tested before round trips were measured/: \/\/ (mutated)/' \
  ./mirror 'TestModeAutoRetestsWithoutRoundTrip'
m "a server record from before the round trip decodes (decodeServer)" state/server.go \
  's/\tif len\(d\.buf\) > 0 \{ \/\/ records written before the round trip end here\n\t\ts\.Profile\.RTT = d\.micros\(\)\n\t\}/\ts.Profile.RTT = d.micros()/' \
  ./state 'TestServerRecord'
if ((LIST)); then
  for i in $(seq 1 $N); do printf '%2d  %-70s %s  %s -run %s\n' "$i" "${GUARD[i]}" "${FILE[i]}" "${PKG[i]}" "${TESTS[i]}"; done
  exit 0
fi
selected() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }

BACKUP=$(mktemp -d)
restore() {
  for i in $(seq 1 $N); do
    f=${FILE[i]} b=$BACKUP/$(echo "${FILE[i]}" | tr / %)
    [ -f "$b" ] && cp "$b" "$f"
  done
  rm -rf "$BACKUP"
}
trap restore EXIT
trap 'exit 130' INT TERM

run_tests() { # pkg pattern -> exit status of go test, 124 on timeout
  local pattern=$2
  ((FULL)) && pattern=.
  FTPMIRROR_POWERCUT_SECONDS=${FTPMIRROR_POWERCUT_SECONDS:-15} \
    timeout --kill-after=10 "$TIMEOUT" go test -count=1 -run "$pattern" "$1" >"$BACKUP/out" 2>&1
}

# Every pattern must apply before anything runs: a stale list fails at once.
for i in $(seq 1 $N); do
  selected "$i" || continue
  f=${FILE[i]}
  c=$(perl -0777 -ne "print 0 + (${SUBST[i]}g)" "$f")
  if [ "$c" != 1 ]; then
    echo "mutate.sh: mutation $i did not apply (${GUARD[i]}: pattern found $c times in $f)" >&2
    exit 1
  fi
done

if ((CHECK)); then
  echo "all $N mutations apply"
  exit 0
fi
echo "== baseline: the named tests pass on the unmodified tree"
declare -A DONE
for i in $(seq 1 $N); do
  selected "$i" || continue
  key="${PKG[i]} ${TESTS[i]}"
  [ -n "${DONE[$key]:-}" ] && continue
  DONE[$key]=1
  if ! run_tests "${PKG[i]}" "${TESTS[i]}"; then
    cat "$BACKUP/out" >&2
    echo "mutate.sh: baseline fails: go test -run '${TESTS[i]}' ${PKG[i]}" >&2
    exit 1
  fi
done

echo "== mutants"
declare -a RESULT SECS FAILED
bad=0
for i in $(seq 1 $N); do
  selected "$i" || continue
  f=${FILE[i]} b=$BACKUP/$(echo "$f" | tr / %)
  [ -f "$b" ] || cp "$f" "$b"
  perl -0777 -pi -e "${SUBST[i]}" "$f"
  if cmp -s "$f" "$b"; then
    echo "mutation $i did not apply" >&2
    exit 1
  fi
  start=$(date +%s)
  set +e
  run_tests "${PKG[i]}" "${TESTS[i]}"
  rc=$?
  set -e
  SECS[i]=$(($(date +%s) - start))
  cp "$b" "$f"
  case $rc in
    0) RESULT[i]=SURVIVED; bad=1 ;;
    124 | 137) RESULT[i]=timeout ;;
    *)
      if grep -q -e '^FAIL' -e '--- FAIL' "$BACKUP/out"; then
        if grep -q -e '\[build failed\]' -e '\[setup failed\]' "$BACKUP/out"; then
          RESULT[i]="build failed"; bad=1
        else
          RESULT[i]=caught
        fi
      else
        RESULT[i]="error $rc"; bad=1
      fi
      ;;
  esac
  # A panic in a goroutine of the code under test ends the test binary
  # without "--- FAIL" lines: name the panic then.
  failed=$( (grep -o -e '--- FAIL: [^ ]*' "$BACKUP/out" || grep -m1 -o -e '^panic: .\{0,60\}' "$BACKUP/out" || true) |
    sed 's/--- FAIL: //' | sort -u | head -4 | tr '\n' ' ')
  printf '%2d %-9s %4ss  %s  [%s]\n' "$i" "${RESULT[i]}" "${SECS[i]}" "${GUARD[i]}" "$failed"
  [ "${RESULT[i]}" = SURVIVED ] && sed -n '1,20p' "$BACKUP/out"
  FAILED[i]=$failed
done
for b in "$BACKUP"/*%*; do
  [ -e "$b" ] || continue
  f=$(basename "$b" | tr % /)
  cmp -s "$f" "$b" || { echo "mutate.sh: $f not restored" >&2; exit 1; }
done

echo
echo "| # | guard removed | file | tests run | result | failing tests | time |"
echo "|---|---|---|---|---|---|---|"
for i in $(seq 1 $N); do
  selected "$i" || continue
  echo "| $i | ${GUARD[i]} | ${FILE[i]} | \`${TESTS[i]}\` (${PKG[i]}) | ${RESULT[i]} | ${FAILED[i]} | ${SECS[i]}s |"
done
exit $bad
