# Sourced by run.sh and processes.sh: the repository root as working
# directory, wrk present, and the seeded demo database for a scale.
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk"; exit 1; }
mkdir -p target/bench-data

# pristine BIN SCALE: prints the path of the support-community database
# seeded at SCALE by BIN, seeding it the first time (the plugins catch up
# with the event log before --seed-only returns).
pristine() {
  local file="target/bench-data/support-x$2.db"
  [ -f "$file" ] || "$1" --data "$file" --scale "$2" --seed-only >&2
  echo "$file"
}
