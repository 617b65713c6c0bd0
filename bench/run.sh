#!/bin/bash
# run.sh — time ftpmirror against lftp and rclone on vsftpd, pure-ftpd or proftpd, over a 20 ms RTT
# link or loopback, and print the medians as a markdown table with each workload's protocol floor
# (the tables of issues 6 and 14 and the README).
#
#   bench/run.sh [options]
#
#   -tools "lftp-p8 rclone-t8 ftpmirror-p8"   run-peer.sh tool names (lftp-pN, rclone-tN, wget, ftpmirror-pN;
#                                             N may be auto), ftpmirror-pN-mauto (with -mode auto), and
#                                             ideal-pN (bench/idealftp: the least a client at width N
#                                             takes over this link; noop is not its workload)
#   -trees "small1k small"                    trees for full, noop and pct1: small1k (1,000 files
#                                             in 40 dirs), small (5,000 files in 200 dirs)
#   -workloads "full noop pct1 large"         full: empty target and state; noop: re-sync of an
#                                             unchanged tree after a full run; pct1: re-sync after
#                                             ~1% of the files changed (fixed seed); large: 4 x 256 MiB
#   -n 3                                      runs per tool and workload (medians of N)
#   -server vsftpd                            the server: vsftpd, pure-ftpd or proftpd (servers.sh)
#   -mode passive                             data connections: passive or active (rclone has no
#                                             active mode: its rows are left out with -mode active)
#   -loopback                                 no netsim: server and client share a private
#                                             network namespace's loopback (CPU-bound figures)
#   -delay 10ms                               one-way delay of the netsim link (RTT = 2x)
#   -protocount                               one run each with vsftpd's protocol log on; prints
#                                             FTP commands per file per tool instead of timings
#   -bin PATH                                 use this ftpmirror binary instead of building one
#   -bin-b PATH                               a second ftpmirror binary, run as the tools named
#                                             ftpmirror-b-pN (an A/B of two builds in one run)
#   -seed 42                                  gentree -mutate seed for pct1
#   -settle SEC                               before each timed run, wait up to SEC seconds for
#                                             the client's TIME_WAIT sockets to drain (default
#                                             0; see ../shared/bench/README.md)
#   -ref lftp-p8                              the tool the ratio column divides by
#   -perf                                     record every ftpmirror run with perf (call graphs;
#                                             slows it a little) into OUT/perf/WORKLOAD-TREE-RUN.{data,txt}
#   -o DIR                                    results directory (default bench/work/results/DATE-MODE)
#
# The floor column is the least time the protocol allows a tool of the row's width W over the
# measured RTT (netsim only; see README "The floor"): per connection, the login (2 RTT: connect
# and greeting, then USER/PASS/TYPE in one write), ceil(dirs/W) listings of L RTT (vsftpd 1: STAT
# -a on the control connection; pure-ftpd and proftpd K: MLSD on a data connection), and per file
# K RTT (passive 3: PASV reply, data connect, then the 226 that lets the next PASV open a port;
# active 2) plus one for a file over one initial congestion window (10 x 1448 bytes); large is
# bytes over the link's single-stream rate, measured with one RETR. pct1 counts the files the
# mutation changed or added.
#
# Tools runs are interleaved (run i of every tool, then run i+1), so drift from other load on
# the machine hits every tool alike. Every run is checked with verify.sh (bytes of every file);
# a run that fails or mirrors wrongly is left out of the median and counted in the "ok" column.
# Needs root (namespaces, vsftpd), Go, and apt for lftp and rclone (installed when missing).
# Everything generated goes to bench/work/ (gitignored): bin/, data/ (the server's root),
# dest/, state/, results/. Servers and namespaces this script starts are stopped on exit.
set -euo pipefail

BENCH=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$BENCH/.." && pwd)
WORK=$BENCH/work
SHB=${SHARED_BENCH:-$(cd "$REPO/../shared/bench" 2>/dev/null && pwd || true)}

TOOLS="lftp-p8 rclone-t8 ftpmirror-p8"
TREES="small1k small"
WORKLOADS="full noop pct1 large"
BIN_B="" N=3 LOOPBACK=0 DELAY=10ms SERVER=vsftpd FTPMODE=passive PROTOCOUNT=0 PERF=0 BIN="" SEED=42 SETTLE=0 REF=lftp-p8 OUT=""
PORT=2161  # our own port: servers.sh keeps its run files in work/run/SERVER-PORT
LO_NS=fm-lo

die() { echo "run.sh: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    -tools) TOOLS=$2; shift 2 ;;
    -trees) TREES=$2; shift 2 ;;
    -workloads) WORKLOADS=$2; shift 2 ;;
    -n) N=$2; shift 2 ;;
    -server) SERVER=$2; shift 2 ;;
    -mode) FTPMODE=$2; shift 2 ;;
    -loopback) LOOPBACK=1; shift ;;
    -delay) DELAY=$2; shift 2 ;;
    -protocount) PROTOCOUNT=1; shift ;;
    -bin) BIN=$(realpath "$2"); shift 2 ;;
    -bin-b) BIN_B=$(realpath "$2"); shift 2 ;;
    -seed) SEED=$2; shift 2 ;;
    -settle) SETTLE=$2; shift 2 ;;
    -ref) REF=$2; shift 2 ;;
    -perf) PERF=1; shift ;;
    -o) OUT=$2; shift 2 ;;
    -h | -help | --help) usage ;;
    *) echo "run.sh: unknown option $1" >&2; usage ;;
  esac
done
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, vsftpd)"
# One benchmark at a time on this machine: two would share netsim's namespaces, the servers'
# port and the CPU. The lock file is in /tmp, which every checkout on the machine shares.
exec 9>"${TMPDIR:-/tmp}/ftpmirror-bench.lock"
flock -n 9 || die "another bench/run.sh is running (lock ${TMPDIR:-/tmp}/ftpmirror-bench.lock held)"
[ -n "$SHB" ] && [ -x "$SHB/servers.sh" ] || die "shared bench tools not found (set SHARED_BENCH=.../shared/bench)"
((PROTOCOUNT)) && N=1
[[ " $TOOLS " == *" ftpmirror-b-"* ]] && [ -z "$BIN_B" ] && die "tools ftpmirror-b-*: give the second binary with -bin-b"
case $SERVER in vsftpd | pure-ftpd | proftpd) ;; *) die "-server: $SERVER (vsftpd, pure-ftpd, proftpd)" ;; esac
case $FTPMODE in passive | active) ;; *) die "-mode: $FTPMODE (passive, active)" ;; esac
((PROTOCOUNT)) && [ "$SERVER" != vsftpd ] && die "-protocount needs -server vsftpd (its protocol log)"
if [ "$FTPMODE" = active ]; then # rclone's FTP backend has no active mode
  t2=""; for t in $TOOLS; do [[ $t == rclone-* ]] || t2="$t2 $t"; done; TOOLS=${t2# }
fi
MODE=netsim; ((LOOPBACK)) && MODE=loopback
MODE=$MODE-$SERVER-$FTPMODE
((PROTOCOUNT)) && MODE=$MODE-protocount
OUT=${OUT:-$WORK/results/$(date -u +%Y%m%d-%H%M%S)-$MODE}
mkdir -p "$WORK"/{bin,data,dest,state,gen} "$OUT/logs"

# --- shared tools: run them in place; if ../shared/bench/work is read-only (CI), from a copy
if ! { mkdir -p "$SHB/work" && touch "$SHB/work/.w" && rm -f "$SHB/work/.w"; } 2>/dev/null; then
  echo "== $SHB/work is read-only: using a copy in $WORK/shared"
  rm -rf "$WORK/shared" && mkdir -p "$WORK/shared"
  (cd "$SHB" && tar --exclude=./work -cf - .) | (cd "$WORK/shared" && tar -xf -)
  SHB=$WORK/shared
fi
echo "== building tools"
"$SHB/build.sh"
GENTREE=$SHB/work/bin/gentree
(cd "$REPO" && go build -o "$WORK/bin/idealftp" ./bench/idealftp)
if [ -z "$BIN" ]; then
  (cd "$REPO" && go build -o "$WORK/bin/ftpmirror" ./cmd/ftpmirror)
  BIN=$WORK/bin/ftpmirror
fi
if ((PERF)); then # run-peer.sh runs $FTPMIRROR: make that perf record the real binary
  command -v perf >/dev/null || die "-perf: no perf"
  mkdir -p "$OUT/perf"
  printf '#!/bin/sh\nexec perf record -q -F 499 -g -o "%s/perf/last.data" -- "%s" "$@"\n' "$OUT" "$BIN" >"$OUT/perf/ftpmirror"
  chmod +x "$OUT/perf/ftpmirror"
fi
REV=$(cd "$REPO" && git describe --always --dirty 2>/dev/null || echo unknown)
[ "$BIN" = "$WORK/bin/ftpmirror" ] || REV="$BIN (tree at $REV)"
[ -n "$BIN_B" ] && REV="$REV; ftpmirror-b-*: $BIN_B"

need_apt=()
for t in $TOOLS; do
  case $t in
    lftp-*) command -v lftp >/dev/null || need_apt+=(lftp) ;;
    rclone-*) command -v rclone >/dev/null || need_apt+=(rclone) ;;
    wget) command -v wget >/dev/null || need_apt+=(wget) ;;
  esac
done
[ -x /usr/sbin/vsftpd ] || need_apt+=(vsftpd)
command -v bc >/dev/null || need_apt+=(bc)       # the floor column
command -v curl >/dev/null || need_apt+=(curl)   # the large workload's link rate
command -v ping >/dev/null || need_apt+=(iputils-ping) # netsim.sh waits for a ping
[ -x /usr/bin/time ] || need_apt+=(time)               # timeit.sh
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== apt-get install ${need_apt[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}" >/dev/null
fi

# --- trees (server root: $WORK/data; pristine trees are never changed, pct1 works on T.mut)
gen() { # NAME GENTREE-ARGS...
  local name=$1; shift
  local stamp="$*"
  if [ -d "$WORK/data/$name" ] && [ "$(cat "$WORK/gen/$name" 2>/dev/null)" = "$stamp" ]; then return; fi
  rm -rf "${WORK:?}/data/$name"
  "$GENTREE" "$@" -o "$WORK/data/$name"
  echo "$stamp" >"$WORK/gen/$name"
}
want_wl() { [[ " $WORKLOADS " == *" $1 "* ]]; }
echo "== trees"
for t in $TREES; do
  case $t in
    small1k) gen small1k -w small -files 1000 ;;
    small) gen small -w small ;;
    *) die "unknown tree $t (small1k, small)" ;;
  esac
done
want_wl large && gen large -w large

# --- network: netsim's two namespaces, or one private namespace with loopback only
OWN_NETSIM=0 OWN_LO=0 OWN_SRV=0
cleanup() {
  set +e
  ((OWN_SRV)) && "$SHB/servers.sh" stop "$SERVER" "$PORT" >/dev/null
  ((OWN_NETSIM)) && "$SHB/netsim.sh" down >/dev/null
  ((OWN_LO)) && ip netns del "$LO_NS"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if ((LOOPBACK)); then
  ip netns list | grep -qw "^$LO_NS" && die "namespace $LO_NS exists (another run? ip netns del $LO_NS)"
  ip netns add "$LO_NS" && OWN_LO=1
  ip -n "$LO_NS" link set lo up
  SRV_NS=$LO_NS CLI_NS=$LO_NS HOST=127.0.0.1
else
  "$SHB/netsim.sh" status | grep -q '^relay pid' && die "netsim is already up (another benchmark?); ../shared/bench/netsim.sh down"
  OWN_NETSIM=1
  "$SHB/netsim.sh" up -delay "$DELAY"
  SRV_NS=fm-srv CLI_NS=fm-cli HOST=10.200.0.2
fi
# A wide passive range: thousands of data connections per run leave TIME_WAIT sockets.
if ((PROTOCOUNT)); then export PROTOLOG=1; else unset PROTOLOG; fi
[ "$SERVER" = vsftpd ] || "$SHB/servers.sh" install >/dev/null
NS=$SRV_NS PASV_MIN=10000 PASV_MAX=32000 "$SHB/servers.sh" start "$SERVER" "$WORK/data" "$PORT"
OWN_SRV=1
# The relay and the server stand for the wire and the remote machine: keep their latency from
# depending on whatever else this (2-core) machine runs. The tools under test keep nice 0.
renice -n -10 -p "$(cat "$SHB/work/run/$SERVER-$PORT/pid")" >/dev/null
((LOOPBACK)) || renice -n -10 -p "$(cat "$SHB/work/run/netsim.pid")" >/dev/null
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
PLOG=$SHB/work/run/vsftpd-$PORT/xfer.log
RTT=""
if ! ((LOOPBACK)); then
  ping_out=$(ip netns exec "$CLI_NS" ping -c 10 -i 0.2 -q "$HOST" | tail -1)
  echo "$ping_out"
  RTT=$(echo "$ping_out" | awk -F/ '{printf "%.4f", $5 / 1000}') # the average, in seconds
fi

# --- one run: setup (untimed) and command (timed by timeit.sh), shared with timeit's bash -c
export PERF WORK SHB BIN BIN_B GENTREE CLI_NS SRV_NS HOST PORT SEED SETTLE PLOG PROTOCOUNT OUT FTPMODE
dest_of() { echo "$WORK/dest/$1/$2"; }              # TOOL SRC
state_of() { echo "$WORK/state/$1-$2.db"; }         # TOOL SRC
peer() { # TOOL SRC: mirror ftp://HOST:PORT/SRC into the tool's target
  local tool=$1 src=$2 args=""
  if [[ $tool == ideal-p* ]]; then # bench/idealftp: knows the tree, lists and checks nothing
    mkdir -p "$(dest_of "$tool" "$src")"
    ip netns exec "$CLI_NS" "$WORK/bin/idealftp" -p "${tool#ideal-p}" -mode "$FTPMODE" -local "$WORK/data/$src" \
      "ftp://$HOST:$PORT/$src" "$(dest_of "$tool" "$src")" 2>>"$OUT/logs/$tool.log"
    return
  fi
  case $tool in
    rclone-*) args=--ftp-force-list-hidden ;; # vsftpd has no MLSD; plain LIST hides dot files
    ftpmirror*) args="-delete -state $(state_of "$tool" "$src")" ;;
  esac
  local bin=$BIN name=$tool
  ((PERF)) && bin=$OUT/perf/ftpmirror
  if [[ $tool == ftpmirror-b-* ]]; then bin=$BIN_B name=ftpmirror-${tool#ftpmirror-b-}; fi
  if [[ $name == ftpmirror-*-mauto ]]; then
    name=${name%-mauto} args="$args -mode auto"
  elif [[ $name == ftpmirror* ]]; then
    args="$args -mode $FTPMODE" # the row's mode, not the default (auto)
  fi
  ip netns exec "$CLI_NS" env FTP_MODE="$FTPMODE" PEER_ARGS="$args" FTPMIRROR="$bin" XDG_STATE_HOME="$WORK/state/xdg" \
    PEER_LOG="$OUT/logs/$tool.log" "$SHB/run-peer.sh" "$name" "ftp://$HOST:$PORT/$src" "$(dest_of "$tool" "$src")"
}
fresh() { rm -rf "$(dest_of "$1" "$2")" "$(state_of "$1" "$2")"; } # TOOL SRC
settle() {
  local i
  for ((i = 0; i < SETTLE; i++)); do
    [ "$( (ip netns exec "$CLI_NS" ss -Htan state time-wait; ip netns exec "$SRV_NS" ss -Htan state time-wait) | wc -l)" -lt 100 ] && return 0
    sleep 1
  done
}
# primefail ends setup with an error: after a failed priming run, the timed run that follows
# would be a full run counted as a noop or pct1 one. setup runs as timeit.sh's -s (bash -c), so
# the exit ends only that shell; timeit.sh (set -e) then exits non-zero, and so does the
# pipeline below: run.sh (set -e, pipefail) stops, its EXIT trap stopping the servers.
primefail() { # TOOL TREE WORKLOAD
  echo "run.sh: priming run of $1 on $2 failed: a $3 time would be a full run's; aborting" >&2
  exit 1
}
setup() { # WORKLOAD TOOL TREE
  local wl=$1 tool=$2 tree=$3
  case $wl in
    full | large) fresh "$tool" "$tree" ;;
    noop) # a complete mirror (and state) from an earlier run, else one untimed full run
      if [ ! -d "$(dest_of "$tool" "$tree")" ] || { [[ $tool == ftpmirror* ]] && [ ! -f "$(state_of "$tool" "$tree")" ]; } ||
        ! "$SHB/verify.sh" "$WORK/data/$tree" "$(dest_of "$tool" "$tree")" >/dev/null 2>&1; then
        fresh "$tool" "$tree" && peer "$tool" "$tree" || primefail "$tool" "$tree" noop
      fi ;;
    pct1) # serve a pristine copy, mirror it fully (untimed), then change ~1% of it on the server
      rm -rf "$WORK/data/$tree.mut" && cp -a "$WORK/data/$tree" "$WORK/data/$tree.mut"
      fresh "$tool" "$tree.mut" && peer "$tool" "$tree.mut" || primefail "$tool" "$tree.mut" pct1
      "$GENTREE" -mutate -pct 1 -seed "$SEED" -o "$WORK/data/$tree.mut" >/dev/null ;;
  esac
  settle
  if ((PROTOCOUNT)); then sleep 0.5; wc -l <"$PLOG" >"$OUT/mark"; fi
}
export -f dest_of state_of peer fresh settle primefail setup

src_of() { if [ "$1" = pct1 ]; then echo "$2.mut"; else echo "$2"; fi; } # WORKLOAD TREE
nfiles() { find "$WORK/data/$1" -type f | wc -l; }

# --- the runs: for each workload, run i of every tool, then run i+1
RUNS=$OUT/runs.tsv   # timeit.sh rows: date label n wall wall_min wall_max cpu rss_mib exit check
PROTO=$OUT/proto.tsv # workload tree tool files total verb=count...
: >"$RUNS"
: >"$PROTO"
cells=()
for wl in $WORKLOADS; do
  case $wl in
    full | noop | pct1) trees=$TREES ;;
    large) trees=large ;;
    *) die "unknown workload $wl (full, noop, pct1, large)" ;;
  esac
  for tree in $trees; do
    cells+=("$wl/$tree")
    src=$(src_of "$wl" "$tree")
    for ((i = 1; i <= N; i++)); do
      for tool in $TOOLS; do
        [[ $tool == ideal-* && $wl != full && $wl != large ]] && continue # it compares nothing
        echo "== $wl $tree $tool run $i/$N"
        "$SHB/timeit.sh" -l "$wl/$tree/$tool/$i" -n 1 -t 900 -o "$RUNS" \
          -s "setup $wl $tool $tree" -C each \
          -c "\"$SHB/verify.sh\" \"$WORK/data/$src\" \"$(dest_of "$tool" "$src")\"" \
          -- bash -c "peer $tool $src" | { grep -E 'run 1/|check:|\| ' || true; } | sed 's/^ */   /'
        if ((PERF)) && [[ $tool == ftpmirror* ]] && [ -f "$OUT/perf/last.data" ]; then
          mv "$OUT/perf/last.data" "$OUT/perf/$wl-$tree-$i.data"
          perf report -i "$OUT/perf/$wl-$tree-$i.data" --stdio --no-children --percent-limit 1 \
            --sort dso,symbol -g none 2>/dev/null | grep -v '^$' >"$OUT/perf/$wl-$tree-$i.txt" || true
          echo "   perf: $OUT/perf/$wl-$tree-$i.txt"
        fi
        if ((PROTOCOUNT)); then
          sleep 0.5
          counts=$("$SHB/protocount.sh" "$PLOG" "$(cat "$OUT/mark")" | tr ' ' '=' | tr '\n' ' ')
          printf '%s\t%s\t%s\t%s\t%s\n' "$wl" "$tree" "$tool" "$(nfiles "$src")" "$counts" >>"$PROTO"
          echo "   commands: $counts"
        fi
      done
    done
  done
done
[ "$(ls "$WORK/dest")" ] && rm -rf "${WORK:?}"/dest/*/large # 1 GiB per tool

# --- the floor of each cell and width (see the header); netsim only
FLOORS=$OUT/floors.tsv # cell tool seconds
: >"$FLOORS"
width_of() { # TOOL: its number of connections, or nothing when it chooses
  case $1 in
    *-p[0-9]* | *-t[0-9]*) echo "${1##*-[pt]}" ;;
    wget) echo 1 ;;
    ftpmirror) echo 4 ;;
  esac
}
tree_stats() { # DIR [PRISTINE]: dirs files big (files over 14,480 bytes); with PRISTINE, only
  # the files that differ from it or are new count as files and big
  local dir=$1 pristine=${2:-} dirs files=0 big=0 f size
  dirs=$(find "$dir" -mindepth 1 -type d | wc -l)
  while IFS= read -r -d '' f; do
    if [ -n "$pristine" ] && cmp -s "$f" "$pristine/${f#"$dir"/}"; then continue; fi
    files=$((files + 1))
    size=$(stat -c %s "$f")
    ((size > 14480)) && big=$((big + 1))
  done < <(find "$dir" -type f -print0)
  echo "$((dirs + 1)) $files $big"
}
LINK_RATE=""
if [ -n "$RTT" ] && want_wl large; then # one RETR of a large file: the link's single-stream rate
  f=$(cd "$WORK/data/large" && find . -type f | sort | head -1)
  LINK_RATE=$(ip netns exec "$CLI_NS" curl -s -o /dev/null -w '%{speed_download}' "ftp://$HOST:$PORT/large/${f#./}" || true)
  echo "== link rate: $LINK_RATE bytes/s (one RETR of large/${f#./})"
fi
K=3; [ "$FTPMODE" = active ] && K=2
L=$K; [ "$SERVER" = vsftpd ] && L=1 # a listing: STAT -a over the control connection, or MLSD over data
if [ -n "$RTT" ]; then
  for c in "${cells[@]}"; do
    wl=${c%%/*} tree=${c#*/}
    case $wl in
      full) read -r dirs files big < <(tree_stats "$WORK/data/$tree") ;;
      noop) read -r dirs files big < <(tree_stats "$WORK/data/$tree"); files=0 big=0 ;;
      pct1) read -r dirs files big < <(tree_stats "$WORK/data/$tree.mut" "$WORK/data/$tree") ;;
      large) read -r dirs files big < <(tree_stats "$WORK/data/large") ;;
    esac
    bytes=$(du -sb "$WORK/data/$(src_of "$wl" "$tree")" | cut -f1)
    for tool in $TOOLS; do
      w=$(width_of "$tool"); [ -n "$w" ] || continue
      if [ "$wl" = large ]; then
        [ -n "$LINK_RATE" ] || continue
        fl=$(echo "$RTT * (2 + $K) + $bytes / $LINK_RATE" | bc -l)
      else
        fl=$(echo "scale=4; $RTT * (2 + $(( (dirs + w - 1) / w )) * $L + $(( (files + w - 1) / w )) * $K + $(( (big + w - 1) / w )))" | bc)
      fi
      printf '%s\t%s\t%.2f\n' "$c" "$tool" "$fl" >>"$FLOORS"
    done
  done
fi

# --- report
server_version() {
  case $SERVER in
    vsftpd) dpkg-query -W -f='${Version}' vsftpd 2>/dev/null || echo '?' ;;
    *) ls "$SHB/work/pkgs/debs" 2>/dev/null | grep -m1 "^$SERVER\(-core\)\?_" | cut -d_ -f2 || echo '?' ;;
  esac
}
{
  echo "## ftpmirror benchmark: $MODE$( ((LOOPBACK)) || echo " (${DELAY} each way)")"
  echo
  echo "- date: $(date -u +%FT%TZ); ftpmirror $REV; $SERVER $(server_version), $FTPMODE; RTT ${RTT:-0} s (ping average)$( [ -n "$LINK_RATE" ] && echo "; link $LINK_RATE bytes/s single stream")"
  echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/^Mem/ {print $2}') GiB, Linux $(uname -r); load average $LOAD0 at start, $(cut -d' ' -f1-3 /proc/loadavg) at end"
  echo "- peers: $(lftp --version 2>/dev/null | head -1 | awk -F'|' '{print $1 $2}' | tr -s ' ')$(rclone version 2>/dev/null | head -1 | sed 's/^/, /')"
  echo "- command: bench/run.sh -tools \"$TOOLS\" -trees \"$TREES\" -workloads \"$WORKLOADS\" -n $N -server $SERVER -mode $FTPMODE$( ((LOOPBACK)) && echo " -loopback")$( ((PROTOCOUNT)) && echo " -protocount")"
  echo
} >"$OUT/table.md"
if ((PROTOCOUNT)); then
  awk -F'\t' '
    { nkv = split($5, kv, " "); tot = 0; det = ""
      for (k = 1; k <= nkv; k++) { split(kv[k], p, "="); if (p[1] == "TOTAL") tot = p[2]; else if (p[1] != "") det = det p[1] " " p[2] ", " }
      sub(/, $/, "", det)
      wl = ($1 == "noop") ? "no-op" : ($1 == "pct1") ? "1% changed" : $1
      tr = ($1 == "large") ? "" : ($2 == "small1k") ? " 1k" : ($2 == "small") ? " 5k" : " " $2
      printf "| %s%s | %s | %d | %s | %.2f | %s |\n", wl, tr, $3, $4, tot, ($4 > 0 ? tot / $4 : 0), det }
  ' "$PROTO" >"$OUT/proto.md.body"
  {
    echo "FTP commands per file (vsftpd protocol log, one run each; files = regular files in the tree)"
    echo
    echo "| workload | tool | files | commands | per file | by verb |"
    echo "|---|---|---|---|---|---|"
    cat "$OUT/proto.md.body"
    echo
  } >>"$OUT/table.md"
fi
# medians over the runs that exited 0 and verified OK
awk -F'\t' -v ref="$REF" -v cells="${cells[*]}" -v tools="$TOOLS" -v loop="$LOOPBACK" -v floors="$FLOORS" '
  function med(s,   a, n, t, i, j) {
    n = split(s, a, " "); if (n == 0) return ""
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j+1] = a[j]; a[j+1] = t }
    return (n % 2) ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2 }
  function name(c,   p) { split(c, p, "/"); return (p[1] == "full" ? "full" : p[1] == "noop" ? "no-op" : p[1] == "pct1" ? "1% changed" : "large") \
                          (p[1] == "large" ? "" : p[2] == "small1k" ? " 1k" : p[2] == "small" ? " 5k" : " " p[2]) }
  FILENAME == floors { fl[$1 SUBSEP $2] = $3; next }
  {
    split($2, l, "/"); k = l[1] "/" l[2] SUBSEP l[3]; runs[k]++
    if ($9 == "0" && $10 ~ /-> OK/) {
      ok[k]++; w[k] = w[k] " " $4; c[k] = c[k] " " $7; r[k] = r[k] " " $8
      if (match($10, /mtime_differs=[0-9]+/)) m[k] = m[k] " " substr($10, RSTART + 14, RLENGTH - 14)
    }
  }
  END {
    nc = split(cells, C, " "); nt = split(tools, T, " ")
    print "| workload | tool | wall s, median (min-max) | ratio to " ref " | floor s | ratio to floor | ok runs | CPU s | peak RSS MiB | files with other mtime |"
    print "|---|---|---|---|---|---|---|---|---|---|"
    for (i = 1; i <= nc; i++) {
      rm = med(w[C[i] SUBSEP ref])
      for (j = 1; j <= nt; j++) {
        k = C[i] SUBSEP T[j]; if (!runs[k]) continue
        wm = med(w[k]); n = split(w[k], a, " "); lo = hi = a[1]
        for (x = 2; x <= n; x++) { if (a[x] + 0 < lo + 0) lo = a[x]; if (a[x] + 0 > hi + 0) hi = a[x] }
        ratio = (wm != "" && rm > 0) ? sprintf("%.2f", wm / rm) : "-"
        ws = (wm == "") ? "failed" : sprintf("%.2f (%s-%s)", wm, lo, hi)
        cell[i, j] = (wm == "") ? "failed" : sprintf("%.1f%s", wm, ratio == "-" ? "" : " (" ratio "x)")
        f = (k in fl) ? fl[k] : ""; fr = (f != "" && wm != "" && f > 0) ? sprintf("%.2f", wm / f) : "-"
        printf "| %s | %s | %s | %s | %s | %s | %d/%d | %s | %s | %s |\n", name(C[i]), T[j], ws, ratio, (f == "" ? "-" : f), fr, ok[k], runs[k], med(c[k]), med(r[k]), med(m[k])
      }
    }
    print ""
    printf "| tool |"; for (i = 1; i <= nc; i++) printf " %s |", name(C[i]); print ""
    printf "|---|"; for (i = 1; i <= nc; i++) printf "---|"; print ""
    for (j = 1; j <= nt; j++) {
      printf "| %s |", T[j]; for (i = 1; i <= nc; i++) printf " %s |", ((i, j) in cell) ? cell[i, j] : "-"; print ""
    }
    print ""
    print "Wall seconds, median of the runs that exited 0 and verified byte for byte; (Nx) = ratio to " ref " in the same run; floor: the protocol floor at the tool'"'"'s width (bench/README.md)."
  }
' "$FLOORS" "$RUNS" >>"$OUT/table.md"
echo
cat "$OUT/table.md"
echo
echo "results: $OUT (runs.tsv, table.md, logs/)"
