#!/usr/bin/env bash
# The Product Owner's pages under load: the team board of 500 cards in the active sprint of a
# product of N items (page and JSON), and sprint close with 300 items.
#
# usage: bench/po.sh [--items N] [--work DIR] [--port P] [--skip-build] [--reuse]
#                    [--database-url postgres://…/DB]
#
#   --items N      items in BENCH (default 1000000)
#   --work DIR     where the dataset and results go (default $BENCH_WORK or /tmp/keel-bench-po)
#   --port P       Keel's port (default 7979)
#   --skip-build   use the binaries already built
#   --reuse        keep a dataset that already exists
#   --database-url  run on PostgreSQL: the database is dropped and made anew (its server must let
#                  the user create databases); the default is SQLite under --work
#
# `keel-bench generate` gives BENCH a team whose active sprint holds 500 open items, and four more
# teams whose active sprints hold 300 open items each (their ids in DIR/bench-sprints). Measured:
# single-user latency (wrk -t1 -c1, 10 s: at one connection the latency is the server's time
# plus a loopback round trip) and throughput at concurrency 8 (wrk -t2 -c8, 20 s after a 5 s
# warm-up) of GET /api/v1/teams/{team}/board and of the board page /teams/{team}/board (signed in
# with a session cookie); then each 300-item sprint closed once with all unfinished items going
# back to the backlog (curl's total time, loopback).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ITEMS=1000000
WORK=${BENCH_WORK:-/tmp/keel-bench-po}
PORT=${KEEL_PORT:-7979}
BUILD=1 REUSE=0 PGURL=""
while [ $# -gt 0 ]; do
  case $1 in
    --items) ITEMS=$2; shift 2;;
    --work) WORK=$2; shift 2;;
    --port) PORT=$2; shift 2;;
    --skip-build) BUILD=0; shift;;
    --reuse) REUSE=1; shift;;
    --database-url) PGURL=$2; shift 2;;
    -h|--help) sed -n '2,24p' "$0"; exit 0;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
for tool in wrk curl; do
  command -v $tool > /dev/null || { echo "po.sh needs $tool" >&2; exit 1; }
done
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
KEEL=$TARGET/release/keel
KB=$TARGET/release/keel-bench
OUT=$WORK/out
DIR=$WORK/data
mkdir -p "$OUT" "$DIR"
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
[ $BUILD = 1 ] && (cd "$ROOT" && cargo build --release -p keel -p keel-bench)
if [ -n "$PGURL" ]; then
  command -v psql > /dev/null || { echo "po.sh --database-url needs psql" >&2; exit 1; }
  db=${PGURL##*/}; admin_url=${PGURL%/*}/postgres
  if [ $REUSE = 0 ] || [ ! -f "$OUT/gen.txt" ]; then
    psql -q "$admin_url" -c "DROP DATABASE IF EXISTS \"$db\"" -c "CREATE DATABASE \"$db\""
    log "dataset: $ITEMS items in PostgreSQL $db"
    "$KB" generate --database-url "$PGURL" --items "$ITEMS" --small-products 0 | tee "$OUT/gen.txt" >&2
  fi
  TOKEN=$(awk '/^token: / {print $2}' "$OUT/gen.txt")
  eval "$(awk '/^sprints: / {print $2; print $3; print $4}' "$OUT/gen.txt")"
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
cards=$(curl -sf -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/teams/$team/board" | grep -o '"key":' | wc -l)
bytes=$(curl -sf -H "Cookie: $COOKIE" "$BASE/teams/$team/board" | wc -c)
log "board of team $team: $cards cards in the JSON; page $bytes bytes"
for target in "/api/v1/teams/$team/board" "/teams/$team/board"; do
  name=$([ "${target#/api}" = "$target" ] && echo page || echo json)
  wrk -t1 -c1 -d10s --latency -s "$LUA" "$BASE$target" > "$OUT/$name.c1.txt" 2>&1
  wrk -t2 -c8 -d5s -s "$LUA" "$BASE$target" > /dev/null 2>&1
  wrk -t2 -c8 -d20s --latency -s "$LUA" "$BASE$target" > "$OUT/$name.c8.txt" 2>&1
  echo "== board $name: c1 $(awk '$1 == "50%" {print "p50=" $2} $1 == "99%" {print "p99=" $2}' "$OUT/$name.c1.txt" | tr '\n' ' ')" \
    "| c8 $(awk '/Requests\/sec/ {print $2 " req/s"}' "$OUT/$name.c8.txt")" \
    "$(awk '$1 == "50%" {print "p50=" $2} $1 == "99%" {print "p99=" $2}' "$OUT/$name.c8.txt" | tr '\n' ' ')" \
    "$(grep -E 'Non-2xx|Socket errors' "$OUT/$name.c8.txt" | tr '\n' ' ' || true)" | tee -a "$OUT/summary.txt"
done
IFS=, read -r -a closes <<< "$close_sprints"
for s in "${closes[@]}"; do
  r=$(curl -s -o "$OUT/close.$s.json" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d '{"destination":"backlog"}' "$BASE/api/v1/sprints/$s/close")
  echo "== sprint close $s (300 items): HTTP ${r% *}, $(awk -v t="${r#* }" 'BEGIN {printf "%.1f ms", t * 1000}')" |
    tee -a "$OUT/summary.txt"
done
grep -E 'VmRSS|VmHWM' /proc/$SPID/status | tr '\n' ' ' | tee -a "$OUT/summary.txt"; echo
