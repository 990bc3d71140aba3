#!/usr/bin/env bash
# Jira import speed: a generated Jira-shaped export (issues, changelog, sprints) imported into a
# fresh database with `keel import jira`, timed, with the importing process's peak memory.
#
# usage: bench/import.sh [--rows N] [--work DIR] [--texts DIR] [--skip-build] [--reuse]
#                        [--database-url postgres://…/DB]
#
#   --rows N        issues in the export (default 100000)
#   --work DIR      where the export, the database and the results go (default $BENCH_WORK or
#                   /tmp/keel-bench-import)
#   --texts DIR     a folder of Deep-SE story-point CSVs: real issue titles and descriptions
#   --skip-build    use the binaries already built
#   --reuse         keep an export that already exists for this number of rows
#   --database-url  import into PostgreSQL: the database is dropped and made anew; the default is
#                   SQLite under --work
#
# Prints the importer's report and `items/s peak_rss_mb` on the last line (also in
# DIR/out/import-N.txt).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROWS=100000
WORK=${BENCH_WORK:-/tmp/keel-bench-import}
TEXTS=""
BUILD=1 REUSE=0 PGURL=""
while [ $# -gt 0 ]; do
  case $1 in
    --rows) ROWS=$2; shift 2;;
    --work) WORK=$2; shift 2;;
    --texts) TEXTS=$2; shift 2;;
    --skip-build) BUILD=0; shift;;
    --reuse) REUSE=1; shift;;
    --database-url) PGURL=$2; shift 2;;
    *) echo "unknown argument $1" >&2; exit 2;;
  esac
done
command -v /usr/bin/time > /dev/null || { echo "import.sh needs GNU time (/usr/bin/time)" >&2; exit 1; }
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
KEEL=$TARGET/release/keel
KB=$TARGET/release/keel-bench
OUT=$WORK/out
CSV=$WORK/jira-$ROWS
mkdir -p "$OUT"
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
[ $BUILD = 1 ] && (cd "$ROOT" && cargo build --release -p keel -p keel-bench)
if [ $REUSE = 0 ] || [ ! -f "$CSV/issues.csv" ]; then
  log "export: $ROWS issues in $CSV"
  rm -rf "$CSV"
  "$KB" jira-csv --rows "$ROWS" --output "$CSV" ${TEXTS:+--texts "$TEXTS"} >&2
fi
if [ -n "$PGURL" ]; then
  command -v psql > /dev/null || { echo "import.sh --database-url needs psql" >&2; exit 1; }
  db=${PGURL##*/}; admin_url=${PGURL%/*}/postgres
  psql -q "$admin_url" -c "DROP DATABASE IF EXISTS \"$db\"" -c "CREATE DATABASE \"$db\""
  DB=(--database-url "$PGURL")
else
  rm -rf "$WORK/data"
  DB=(--data-dir "$WORK/data")
fi
"$KEEL" "${DB[@]}" user add --email bench@keel.test --name Bench --admin > /dev/null
"$KEEL" "${DB[@]}" product add --key SHOP --name Shop > /dev/null
"$KEEL" "${DB[@]}" member set --product SHOP --email bench@keel.test --roles pm,po > /dev/null
log "import: $ROWS issues into ${PGURL:-SQLite}"
res=$OUT/import-$ROWS.txt
/usr/bin/time -f 'peak_rss_kb %M' -o "$OUT/time.txt" "$KEEL" "${DB[@]}" import jira "$CSV"/*.csv --product SHOP \
  | tee "$res"
rss=$(awk '/peak_rss_kb/ {print int($2 / 1024)}' "$OUT/time.txt")
rate=$(awk '/ items\/s\)$/ {gsub(/\(/, "", $4); print $4}' "$res")
echo "items/s $rate peak_rss_mb $rss" | tee -a "$res"
