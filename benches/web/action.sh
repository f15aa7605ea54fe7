#!/usr/bin/env bash
# Round trips of a plugin action (reactions' `react`, or polls' `vote`)
# over loopback HTTP, against the release support-community demo with its
# plugins.
#
#   benches/web/action.sh [scale] [count] [react|vote]   (defaults: 1, 400, react)
#
# Needs the plugins built (cargo xtask plugins). One request at a time on a
# kept-alive connection: the figure is the round trip, not throughput.
set -euo pipefail
source "$(dirname "$0")/common.sh"
SCALE="${1:-1}"
COUNT="${2:-400}"
ACTION="${3:-react}"
PORT="${PORT:-3901}"
cargo build --release -q -p support-community
serve "$SCALE" "$PORT" action
python3 benches/web/action.py "http://127.0.0.1:$PORT" "$KEYFILE" "$COUNT" "$ACTION"
