#!/bin/bash
# gobench.sh — the Go micro-benchmarks (listing parsers, state store, mirror), in the format
# benchstat reads, also saved to bench/work/gobench/DATE.txt.
#
#   bench/gobench.sh [-count 5] [-bench REGEXP] [-o FILE] [PACKAGES...]   (default ./ftpcore ./state ./mirror)
#
# Compare two builds:  git stash; bench/gobench.sh -o old.txt; git stash pop; bench/gobench.sh -o new.txt
#                      benchstat old.txt new.txt   (go install golang.org/x/perf/cmd/benchstat@latest)
# The machine has other work on it: -count 5 gives benchstat enough samples to show the spread.
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$BENCH/.." && pwd)
COUNT=5 RE=. OUTF=""
while [ $# -gt 0 ]; do
  case $1 in
    -count) COUNT=$2; shift 2 ;;
    -bench) RE=$2; shift 2 ;;
    -o) OUTF=$2; shift 2 ;;
    -h | -help | --help) sed -n '2,9p' "$0" >&2; exit 2 ;;
    -*) echo "gobench.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || set -- ./ftpcore ./state ./mirror
if [ -z "$OUTF" ]; then
  mkdir -p "$BENCH/work/gobench"
  OUTF=$BENCH/work/gobench/$(date -u +%Y%m%d-%H%M%S).txt
fi
cd "$REPO"
{
  # benchstat keeps "key: value" lines before the results as configuration
  echo "commit: $(git describe --always --dirty 2>/dev/null || echo unknown)"
  echo "nproc: $(nproc)"
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
  go test -run '^$' -bench "$RE" -benchmem -count "$COUNT" "$@"
} | tee "$OUTF"
echo "saved: $OUTF" >&2
