#!/usr/bin/env bash
# Delivery metrics under load on the benchmark dataset: a team's velocity over its last 10
# sprints, a sprint burndown, and the large product's cycle-time distribution over 90 days; then
# the product-wide flow reports over the same 90 days (cumulative flow, bug trend, work in
# progress), a release burnup (a release of 20 items made for it) and the Reports page's HTML.
#
# usage: bench/metrics.sh [--items N] [--work DIR] [--port P] [--seconds S] [--skip-build] [--reuse]
#                         [--database-url postgres://…/DB]
#
#   --items N      items in BENCH (default 1000000)
#   --work DIR     where the dataset and results go (default $BENCH_WORK or /tmp/keel-bench-metrics)
#   --port P       Keel's port (default 7980)
#   --seconds S    how long each endpoint is measured (default 10)
#   --skip-build   use the binaries already built
#   --reuse        keep a dataset that already exists
#   --database-url  run on PostgreSQL: the database is dropped and made anew; the default is SQLite
#                  under --work
#
# `keel-bench generate` gives BENCH a "History team" with 26 closed two-week sprints, one item in
# a hundred planned into them through its own history (status, estimate and sprint events), so
# the figures are computed from the history as in production. Each endpoint is measured with one
# connection (wrk -t1 -c1: the latency is the server's time plus a loopback round trip); p50 and
# p99 are printed and kept in DIR/out/summary.txt.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ITEMS=1000000
WORK=${BENCH_WORK:-/tmp/keel-bench-metrics}
PORT=${KEEL_PORT:-7980}
SECONDS_EACH=10
BUILD=1 REUSE=0 PGURL=""
while [ $# -gt 0 ]; do
  case $1 in
    --items) ITEMS=$2; shift 2;;
    --work) WORK=$2; shift 2;;
    --port) PORT=$2; shift 2;;
    --seconds) SECONDS_EACH=$2; shift 2;;
    --skip-build) BUILD=0; shift;;
    --reuse) REUSE=1; shift;;
    --database-url) PGURL=$2; shift 2;;
    -h|--help) sed -n '2,22p' "$0"; exit 0;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
for tool in wrk curl; do
  command -v $tool > /dev/null || { echo "metrics.sh needs $tool" >&2; exit 1; }
done
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
KEEL=$TARGET/release/keel
KB=$TARGET/release/keel-bench
OUT=$WORK/out
DIR=$WORK/data
mkdir -p "$OUT" "$DIR"
: > "$OUT/summary.txt"
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
[ $BUILD = 1 ] && (cd "$ROOT" && cargo build --release -p keel -p keel-bench)
if [ -n "$PGURL" ]; then
  command -v psql > /dev/null || { echo "metrics.sh --database-url needs psql" >&2; exit 1; }
  db=${PGURL##*/}; admin_url=${PGURL%/*}/postgres
  if [ $REUSE = 0 ] || [ ! -f "$OUT/gen.txt" ]; then
    psql -q "$admin_url" -c "DROP DATABASE IF EXISTS \"$db\"" -c "CREATE DATABASE \"$db\""
    log "dataset: $ITEMS items in PostgreSQL $db"
    "$KB" generate --database-url "$PGURL" --items "$ITEMS" --small-products 0 | tee "$OUT/gen.txt" >&2
  fi
  TOKEN=$(awk '/^token: / {print $2}' "$OUT/gen.txt")
  eval "$(awk '/^history: / {print $2; print $3}' "$OUT/gen.txt")"
  SERVE=(--database-url "$PGURL")
else
  if [ $REUSE = 0 ] || [ ! -f "$DIR/keel.db" ]; then
    log "dataset: $ITEMS items in $DIR"
    "$KB" generate --data-dir "$DIR" --items "$ITEMS" --small-products 0 --force | tee "$OUT/gen.txt" >&2
  fi
  # shellcheck disable=SC1091
  . "$DIR/bench-sprints"
  TOKEN=$(cat "$DIR/bench-token")
  SERVE=(--data-dir "$DIR")
fi
BASE=http://127.0.0.1:$PORT
(cd "$WORK" && exec "$KEEL" serve "${SERVE[@]}" --bind "127.0.0.1:$PORT") 2> "$OUT/server.log" &
SPID=$!
trap 'kill $SPID 2> /dev/null || true' EXIT
until curl -sf -o /dev/null "$BASE/readyz"; do
  kill -0 $SPID 2> /dev/null || { cat "$OUT/server.log" >&2; exit 1; }
  sleep 0.01
done
COOKIE=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' \
  -d '{"email":"bench@keel.test","password":"bench-password-keel"}' "$BASE/api/v1/session" |
  awk -F'[:;] *' 'tolower($1) == "set-cookie" {print $2; exit}')
[ -n "$COOKIE" ] || { echo "could not sign in" >&2; exit 1; }
LUA=$OUT/headers.lua
cat > "$LUA" <<LUA
wrk.headers["Authorization"] = "Bearer $TOKEN"
wrk.headers["Cookie"] = "$COOKIE"
LUA
api() { curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }
RELEASE=$(api -d "{\"name\":\"bench $(date +%s)\"}" "$BASE/api/v1/products/BENCH/releases" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for n in $(seq 1 20); do
  api -X PATCH -d "{\"release\":$RELEASE}" "$BASE/api/v1/items/BENCH-$n" > /dev/null
done
# The generated data ends on 2025-01-01: the last 90 days before it.
declare -A TARGETS=(
  [velocity]="/api/v1/teams/$history_team/velocity?last=10"
  [burndown]="/api/v1/sprints/$history_sprint/burndown"
  [cycle-time]="/api/v1/products/BENCH/cycle-time?from=2024-10-03&to=2024-12-31"
  [cumulative-flow]="/api/v1/products/BENCH/cumulative-flow?from=2024-10-03&to=2024-12-31"
  [bug-trend]="/api/v1/products/BENCH/bug-trend?from=2024-10-03&to=2024-12-31"
  [work-in-progress]="/api/v1/products/BENCH/work-in-progress"
  [release-burnup]="/api/v1/releases/$RELEASE/burnup"
  [reports-page]="/products/BENCH/reports?from=2024-10-03&to=2024-12-31"
)
for name in velocity burndown cycle-time cumulative-flow bug-trend work-in-progress release-burnup reports-page; do
  path=${TARGETS[$name]}
  facts=$(curl -sf -H "Authorization: Bearer $TOKEN" -H "Cookie: $COOKIE" "$BASE$path" |
    python3 -c 'import json,sys
raw = sys.stdin.read()
try:
    d = json.loads(raw)
except ValueError:
    print("html bytes=%d" % len(raw)); sys.exit()
print(
      "sprints=%s average=%s" % (d["sprint_count"], d["average"]) if "sprint_count" in d else
      "days=%d committed=%s completed=%s" % (len(d["days"]), d["sprint"]["committed"], d["sprint"]["completed"]) if "sprint" in d else
      "items=%s p50=%s p85=%s p95=%s" % (d["count"], d["cycle"]["p50"], d["cycle"]["p85"], d["cycle"]["p95"]) if "cycle" in d else
      "days=%d last=%s" % (len(d["days"]), json.dumps(d["days"][-1]) if d["days"] else None) if "days" in d else
      "total=%s over=%s page=%d limit_days=%s" % (d.get("total"), d.get("over"), len(d["items"]), d.get("limit_days")))')
  wrk -t1 -c1 -d"${SECONDS_EACH}s" --latency -s "$LUA" "$BASE$path" > "$OUT/$name.txt" 2>&1
  echo "== $name ($facts): $(awk '$1 == "50%" {print "p50=" $2} $1 == "99%" {print "p99=" $2}' "$OUT/$name.txt" | tr '\n' ' ')" \
    "$(awk '/Requests\/sec/ {print $2 " req/s"}' "$OUT/$name.txt") $(grep -E 'Non-2xx|Socket errors' "$OUT/$name.txt" | tr '\n' ' ' || true)" |
    tee -a "$OUT/summary.txt"
done
grep -E 'VmRSS|VmHWM' /proc/$SPID/status | tr '\n' ' ' | tee -a "$OUT/summary.txt"; echo
