#!/usr/bin/env bash
# Loopback load test of the support-community demo with wrk.
#
#   benches/web/run.sh [scale]     (default 187: 28,050 questions ≈ 111,000 posts)
#
# Builds the release server, seeds target/bench-data/support-x<scale>.db once,
# starts the server without the per-address rate limit, then runs wrk
# (64 connections, 2 threads) against a topic page, /latest.json and
# POST /posts.json replies, and reports the server's peak memory (VmHWM).
set -euo pipefail
source "$(dirname "$0")/common.sh"
need_wrk
SCALE="${1:-187}"
PORT="${PORT:-3900}"
DURATION="${DURATION:-20s}"
cargo build --release -q -p support-community
# Every run starts from the same database.
serve "$SCALE" "$PORT" run
POSTS=$(sqlite3 "$DB" "select count(*) from posts" 2>/dev/null || echo "?")
echo "posts in the database: $POSTS"
TOPIC_PATH=$(curl -fs "http://127.0.0.1:$PORT/latest.json" | python3 -c \
  "import json,sys; t=json.load(sys.stdin)['topic_list']['topics'][5]; print(f\"/t/{t['slug']}/{t['id']}\")")
echo "== GET $TOPIC_PATH (topic page, guest)"
wrk -t2 -c64 -d"$DURATION" --latency "http://127.0.0.1:$PORT$TOPIC_PATH" | grep -E "Requests/sec|Latency|50%|90%|99%|Non-2xx|Socket errors"
echo "== GET /latest.json (guest)"
wrk -t2 -c64 -d"$DURATION" --latency "http://127.0.0.1:$PORT/latest.json" | grep -E "Requests/sec|Latency|50%|90%|99%|Non-2xx|Socket errors"
echo "== POST /posts.json (replies, API key)"
MAX_TOPIC=$(sqlite3 "$DB" "select max(id) from topics")
HEARTH_API_KEY=$(cat "$KEYFILE") HEARTH_TOPICS=$MAX_TOPIC \
  wrk -t2 -c64 -d"$DURATION" --latency -s benches/web/reply.lua "http://127.0.0.1:$PORT" | grep -E "Requests/sec|Latency|50%|90%|99%|Non-2xx|Socket errors"
echo "== server peak memory"
grep -E "VmHWM|VmRSS" /proc/$PID/status
