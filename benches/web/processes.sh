#!/usr/bin/env bash
# One vs two support-community servers on one PostgreSQL database, with
# wrk on the same machine: member (uncached) reads of /latest.json and
# replies, and how the CPU time splits between the servers and PostgreSQL.
#
#   benches/web/processes.sh [scale]     (default 40: 6,000 questions ≈ 24,000 posts)
#
# Starts (or reuses) the throwaway cluster of .ci/pg-start, seeds a SQLite
# demo once and migrates it into a fresh database `bench_web` for every
# run, then measures. Figures go to docs/performance.md by hand.
set -euo pipefail
source "$(dirname "$0")/common.sh"
need_wrk
SCALE="${1:-40}"
DURATION="${DURATION:-15s}"
SOCK="${PG_DIR:-/tmp/hearth-pg}"
.ci/pg-start "$SOCK" >/dev/null
URL="postgres://postgres@$(python3 -c "import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1], safe=''))" "$SOCK")/bench_web"
cargo build --release -q -p support-community --features postgres
BIN=./target/release/support-community
PRISTINE=$(pristine "$BIN" "$SCALE")
psql -q -h "$SOCK" -U postgres -c "DROP DATABASE IF EXISTS bench_web" -c "CREATE DATABASE bench_web"
"$BIN" migrate --from "$PRISTINE" --to "$URL" | head -1
KEYFILE="target/bench-data/api-key-pg"
BASE="http://127.0.0.1:3910"
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
start() { # port
  "$BIN" --database "$URL" --port "$1" --base-url "$BASE" --no-rate-limit --no-email \
    --api-key-file "$KEYFILE" > "target/bench-data/server-$1.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$1/latest.json" >/dev/null 2>&1 && return
    sleep 0.5
  done
  echo "the server on port $1 did not start"; exit 1
}
# CPU ticks (user + system) of the given processes, and of every
# PostgreSQL process of the cluster.
ticks() { for p in "$@"; do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null; done | awk '{s += $1} END {print s + 0}'; }
pg_ticks() { ticks $(pgrep -u postgres -f "postgres" || true); }
# wrk (with the options in WRK_ARGS, on PATH_) against each given port at
# once, the 64 connections split between them; prints requests/s in all,
# p50 and p99 of the first, and the CPU split.
load() { # label ports...
  local label="$1"; shift
  local per=$((64 / $#)) out=() s0 p0
  s0=$(ticks "${PIDS[@]}"); p0=$(pg_ticks)
  local i=0
  for port in "$@"; do
    HEARTH_API_KEY="$(cat "$KEYFILE")" HEARTH_TOPICS="$MAX_TOPIC" \
      wrk -t1 -c"$per" -d"$DURATION" --latency "${WRK_ARGS[@]}" "http://127.0.0.1:$port$PATH_" \
      > "target/bench-data/wrk-$i.txt" &
    out+=($!); i=$((i + 1))
  done
  wait "${out[@]}"
  local s1 p1; s1=$(ticks "${PIDS[@]}"); p1=$(pg_ticks)
  local rps; rps=$(cat target/bench-data/wrk-*.txt | awk '/Requests\/sec/ {s += $2} END {printf "%.0f", s}')
  local lat; lat=$(awk '/ 50%/ {p50=$2} / 99%/ {p99=$2} END {print "p50 " p50 ", p99 " p99}' target/bench-data/wrk-0.txt)
  local errs; errs=$(cat target/bench-data/wrk-*.txt | grep -E "Non-2xx|Socket errors" || true)
  local srv=$((s1 - s0)) pg=$((p1 - p0))
  echo "$label: $rps/s ($lat); CPU: servers $srv ticks, PostgreSQL $pg ticks ($((100 * pg / (srv + pg + 1)))% database) $errs"
  rm -f target/bench-data/wrk-*.txt
}
start 3910
MAX_TOPIC=$(psql -qtA -h "$SOCK" -U postgres -d bench_web -c "select max(id) from topics")
MEMBER=(-H "Api-Key: $(cat "$KEYFILE")" -H "Api-Username: maya")
REPLIES=(-s benches/web/reply.lua)
POSTS=$(psql -qtA -h "$SOCK" -U postgres -d bench_web -c "select count(*) from posts")
echo "== one server ($POSTS posts)"
WRK_ARGS=("${MEMBER[@]}"); PATH_="/latest.json"
load "member GET /latest.json, 1 server" 3910
WRK_ARGS=("${REPLIES[@]}"); PATH_=""
load "POST /posts.json replies, 1 server" 3910
start 3911
echo "== two servers"
WRK_ARGS=("${MEMBER[@]}"); PATH_="/latest.json"
load "member GET /latest.json, 2 servers" 3910 3911
WRK_ARGS=("${REPLIES[@]}"); PATH_=""
load "POST /posts.json replies, 2 servers" 3910 3911
