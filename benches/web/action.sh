#!/usr/bin/env bash
# Round trips of a plugin action (reactions' `react`) over loopback HTTP,
# against the release support-community demo with its plugins.
#
#   benches/web/action.sh [scale] [count]   (defaults: 1, 400)
#
# Needs the plugins built (cargo xtask plugins). One request at a time on a
# kept-alive connection: the figure is the round trip, not throughput.
set -euo pipefail
source "$(dirname "$0")/common.sh"
SCALE="${1:-1}"
COUNT="${2:-400}"
PORT="${PORT:-3901}"
cargo build --release -q -p support-community
PRISTINE=$(pristine ./target/release/support-community "$SCALE")
DB="target/bench-data/action.db"
rm -f "$DB" "$DB-wal" "$DB-shm"
sqlite3 "$PRISTINE" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
cp "$PRISTINE" "$DB"
KEYFILE="target/bench-data/action-api-key"
./target/release/support-community --data "$DB" --port "$PORT" \
  --no-rate-limit --no-email --api-key-file "$KEYFILE" > target/bench-data/action-server.log 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  curl -fs "http://127.0.0.1:$PORT/latest.json" >/dev/null 2>&1 && break
  sleep 1
done
grep -E "plugins" target/bench-data/action-server.log || true
python3 benches/web/action.py "http://127.0.0.1:$PORT" "$KEYFILE" "$COUNT"
