#!/usr/bin/env bash
# Memory over a long member load: the release support-community demo
# serving the pristine scale database, the four member endpoints of
# member.sh at once (16 connections each, one wrk per endpoint) for SECS
# seconds, the server's VmHWM / VmRSS / RssAnon (kB) every 10 s, the peak
# reset after start-up and sign-in. SERVER_ARGS adds server flags (e.g.
# "--cache-mb 8").
#
#   benches/web/flat.sh [scale] [seconds]   (default 187 and 600)
#
# Run member.sh (or common.sh's seeding) once first: it needs
# target/bench-data/support-x<scale>.db seeded under BENCH_ORIGIN.
set -euo pipefail
cd "$(dirname "$0")/../.."
SCALE=${1:-187}; SECS=${2:-600}
cargo build --release -q -p support-community
BIN=target/release/support-community
PORT=3914
DB=target/bench-data/flat.db
rm -f $DB $DB-wal $DB-shm; cp target/bench-data/support-x$SCALE.db $DB
KEYFILE=target/bench-data/flat-api-key
$BIN --data $DB --port $PORT --no-rate-limit --no-email --api-key-file $KEYFILE --base-url "${BENCH_ORIGIN:-http://127.0.0.1:3000}" ${SERVER_ARGS:-} > target/bench-data/flat-server.log 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$PORT/latest.json" >/dev/null 2>&1 && break; sleep 1; done
COOKIES=target/bench-data/flat-cookies.txt
python3 benches/web/members.py "http://127.0.0.1:$PORT" 8 "$KEYFILE" > "$COOKIES"
TOPIC=$(curl -fs "http://127.0.0.1:$PORT/latest.json" | python3 -c \
  "import json,sys; t=json.load(sys.stdin)['topic_list']['topics'][5]; print(f\"/t/{t['slug']}/{t['id']}\")")
echo "after start-up: $(grep -E 'VmRSS' /proc/$PID/status)"
echo 5 > /proc/$PID/clear_refs
WRKS=()
for p in /latest.json "$TOPIC.json" "$TOPIC" "/search.json?q=export%20error"; do
  HEARTH_COOKIES="$COOKIES" wrk -t1 -c16 -d${SECS}s -s benches/web/member.lua "http://127.0.0.1:$PORT$p" > "target/bench-data/flat-wrk-$(echo "$p" | md5sum | cut -c1-6).txt" &
  WRKS+=($!)
done
start=$(date +%s)
while [ $(( $(date +%s) - start )) -lt $SECS ]; do
  echo "$(( $(date +%s) - start )) $(awk '/VmRSS|RssAnon|VmHWM/ {printf "%s ", $2}' /proc/$PID/status)"
  sleep 10
done
wait "${WRKS[@]}"
for f in target/bench-data/flat-wrk-*.txt; do head -1 "$f"; grep -E "Requests/sec|Non-2xx" "$f" || true; done
echo "end: $(grep -E 'VmHWM|VmRSS|RssAnon|Threads' /proc/$PID/status | tr '\n' ' ')"
