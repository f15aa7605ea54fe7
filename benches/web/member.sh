#!/usr/bin/env bash
# Signed-in members under load, beside guests: the release support-community
# demo, wrk over loopback (64 connections, 2 threads), each request as one
# of 8 members (a session cookie each, members.py + member.lua), against
# /latest.json, a topic's JSON, the topic page and a two-word search; the
# same endpoints as guests for comparison; the server's CPU time per
# request and its peak memory under the load (start-up excluded).
#
#   benches/web/member.sh [scale]   (default 187: ≈ 111,000 posts)
#
# Members' repeated reads are served from their session's cache
# (`WebConfig::member_cache`) while nothing changes: a member's first read
# of a page is rendered, the next ones are memory. SERVER_ARGS=--no-member-cache
# measures every request rendered (what a member's first read costs).
#
# PERF=1 also records the server with `perf record -g` during the member
# latest.json run (target/bench-data/member-latest.perf).
set -euo pipefail
source "$(dirname "$0")/common.sh"
need_wrk
SCALE="${1:-187}"
PORT="${PORT:-3902}"
DURATION="${DURATION:-15s}"
cargo build --release -q -p support-community
serve "$SCALE" "$PORT" member
COOKIES=target/bench-data/member-cookies.txt
python3 benches/web/members.py "http://127.0.0.1:$PORT" 8 "$KEYFILE" > "$COOKIES"
TOPIC=$(curl -fs "http://127.0.0.1:$PORT/latest.json" | python3 -c \
  "import json,sys; t=json.load(sys.stdin)['topic_list']['topics'][5]; print(f\"/t/{t['slug']}/{t['id']}\")")
# Start-up and signing in are not the load: their peak is printed here, and
# the high-water mark starts again (clear_refs 5) before the first run.
echo "== server memory after start-up and sign-in"
grep -E "VmHWM|VmRSS" "/proc/$PID/status"
echo 5 > "/proc/$PID/clear_refs" 2>/dev/null || echo "(could not reset the peak: it includes start-up)"
cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
TICK=$(getconf CLK_TCK)
run() { # label path member|guest
  local before after out reqs
  before=$(cpu)
  if [ "$3" = member ]; then
    out=$(HEARTH_COOKIES="$COOKIES" wrk -t2 -c64 -d"$DURATION" --latency -s benches/web/member.lua "http://127.0.0.1:$PORT$2")
  else
    out=$(wrk -t2 -c64 -d"$DURATION" --latency "http://127.0.0.1:$PORT$2")
  fi
  after=$(cpu)
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  echo "== $1 ($3): GET $2"
  echo "$out" | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors"
  python3 -c "print(f'  server CPU per request: {($after - $before) / $TICK / max($reqs, 1) * 1e6:.0f} µs')"
}
for who in guest member; do
  run "latest" /latest.json "$who"
  run "topic JSON" "$TOPIC.json" "$who"
  run "topic page" "$TOPIC" "$who"
  run "search" "/search.json?q=export%20error" "$who"
done
if [ "${PERF:-}" = 1 ]; then
  perf record -F 999 -g -p "$PID" -o target/bench-data/member-latest.perf -- sleep 10 &
  REC=$!
  HEARTH_COOKIES="$COOKIES" wrk -t2 -c64 -d10s -s benches/web/member.lua "http://127.0.0.1:$PORT/latest.json" > /dev/null
  wait $REC || true
  echo "perf data: target/bench-data/member-latest.perf"
fi
echo "== server memory under the load (VmHWM: the peak since the first run)"
grep -E "VmHWM|VmRSS|RssAnon|RssFile|Threads" /proc/$PID/status
