#!/bin/bash
# test.sh: the project's tests, as CI runs them (.ci/run).
#
#   bash scripts/test.sh [GO TEST FLAGS...]     e.g. bash scripts/test.sh -run TestRetr -count=1
#
# go vet ./..., a gofmt check, go test -race ./... with the given flags and, when CI=true, a
# short pass of every fuzz target (each `func FuzzXxx` in a *_test.go file, found anew each
# run), FUZZTIME each (default 100000x: a count of inputs, not a duration, because a timed
# -fuzztime can end a healthy run with "context deadline exceeded" when the time is up while
# the fuzzing engine is busy), at most FUZZ_BUDGET seconds in all when FUZZTIME is in seconds.
# The integration tests need the real FTP servers: sudo bash scripts/install-test-servers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v go >/dev/null || export PATH=/usr/local/go/bin:$PATH

step() { echo "== $* ($SECONDS s)"; }

step "go vet ./..."
go vet ./...

step "gofmt"
mapfile -t gofiles < <(find . -name '*.go' -not -path '*/testdata/*' -not -path './vendor/*' \
  -not -path '*/.*/*' | sort)
if [ ${#gofiles[@]} -gt 0 ]; then
  unformatted=$(gofmt -l "${gofiles[@]}")
  if [ -n "$unformatted" ]; then
    echo "gofmt: these files are not formatted (gofmt -w FILE):" >&2
    echo "$unformatted" >&2
    exit 1
  fi
fi

step "go test -race ./... $*"
go test -race ./... "$@"

# What -race cannot measure: peak memory (the race detector multiplies
# it, so these tests skip under -race and run here without it).
step "go test -run 'Memory' ./mirror (without -race)"
go test -count=1 -run 'TestEndlessListingsMemory' ./mirror "$@"

if [ "${CI:-}" = true ]; then
  # One line per target: "PACKAGE_DIR NAME".
  mapfile -t targets < <(grep -rEo --include='*_test.go' --exclude-dir=testdata --exclude-dir=vendor \
    '^func Fuzz[A-Za-z0-9_]+\(' . | sed -E 's#^(.*)/[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]+)\($#\1 \2#' | sort -u)
  if [ ${#targets[@]} -gt 0 ]; then
    budget=${FUZZ_BUDGET:-120}
    per=${FUZZTIME:-100000x}
    # Shrink the time per target so that the whole pass stays within the budget.
    if [[ $per =~ ^[0-9]+s$ ]] && [ $(( ${#targets[@]} * ${per%s} )) -gt "$budget" ]; then
      per=$(( budget / ${#targets[@]} ))
      [ "$per" -ge 1 ] || per=1
      per=${per}s
    fi
    for t in "${targets[@]}"; do
      dir=${t% *} name=${t#* }
      step "go test -run '^\$' -fuzz '^$name\$' -fuzztime $per $dir"
      go test -run '^$' -fuzz "^$name\$" -fuzztime "$per" "$dir"
    done
  fi
fi
