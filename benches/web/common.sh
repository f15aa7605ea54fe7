# Sourced by run.sh, processes.sh and action.sh: the repository root as
# working directory, and the seeded demo database for a scale.
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# need_wrk: stops unless wrk is installed (the load runs use it).
need_wrk() {
  command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk"; exit 1; }
}
mkdir -p target/bench-data

# Posts carry absolute links made for one origin; served under another, the
# demo renders every post again at start (minutes and ≈ 300 MB at scale 187),
# which no figure should include. Seeded and served under this one.
BENCH_ORIGIN="${BENCH_ORIGIN:-http://127.0.0.1:3000}"

# pristine BIN SCALE: prints the path of the support-community database
# seeded at SCALE by BIN, seeding it the first time (the plugins catch up
# with the event log before --seed-only returns).
pristine() {
  local file="target/bench-data/support-x$2.db"
  [ -f "$file" ] || "$1" --data "$file" --scale "$2" --base-url "$BENCH_ORIGIN" --seed-only >&2
  echo "$file"
}

# serve SCALE PORT NAME: copies the pristine database for SCALE (seeding it
# the first time) to target/bench-data/NAME.db, starts the release server on
# PORT without the per-address rate limit or e-mail (its API key in
# target/bench-data/NAME-api-key, its log in NAME-server.log; SERVER_ARGS
# adds flags, e.g. "--engine-calls 16"), stops it on
# exit, and waits until it answers. Sets DB, KEYFILE and PID.
serve() {
  local pristine
  pristine=$(pristine ./target/release/support-community "$1")
  DB="target/bench-data/$3.db"
  rm -f "$DB" "$DB-wal" "$DB-shm"
  sqlite3 "$pristine" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
  cp "$pristine" "$DB"
  KEYFILE="target/bench-data/$3-api-key"
  ./target/release/support-community --data "$DB" --port "$2" \
    --no-rate-limit --no-email --api-key-file "$KEYFILE" --base-url "$BENCH_ORIGIN" ${SERVER_ARGS:-} > "target/bench-data/$3-server.log" 2>&1 &
  PID=$!
  trap 'kill $PID 2>/dev/null || true' EXIT
  for _ in $(seq 1 600); do
    curl -fs "http://127.0.0.1:$2/latest.json" >/dev/null 2>&1 && break
    sleep 1
  done
  grep -E "plugins" "target/bench-data/$3-server.log" || true
}
