#!/usr/bin/env bash
# Keel against the reference server, back to back on one machine, with the same load tool.
#
# usage: bench/compare.sh [--items N] [--small-items N] [--work DIR] [--ref DIR] [--port P]
#                         [--skip-build] [--reuse] [--no-ref] [--no-small] [--endpoints "a50 b c d e"]
#
#   --items N        items in the large product (default 1000000)
#   --small-items N  items of the small dataset for the move-cost comparison (default 10000)
#   --work DIR       where datasets and results go (default $BENCH_WORK or /tmp/keel-bench);
#                    datasets are large: keep them out of the repository
#   --ref DIR        the reference server (default $REF_DIR or ../shared/reference-server from
#                    the repository root); it is built there with its own `cargo build --release`
#   --port P         Keel's port (default 7979; the reference uses 8100)
#   --skip-build     use the binaries already built
#   --reuse          keep datasets that already exist instead of regenerating them
#   --no-ref         measure Keel only
#   --no-small       skip the move comparison on the small dataset
#   --endpoints LIST requests to run (default "a50 b c d e"; also a100)
#
# Needs wrk, bc and curl. Keel is built with `cargo build --release -p keel -p keel-bench`
# (honouring CARGO_TARGET_DIR). Load: wrk -t2 -c8, 5 s warm-up, 20 s measured, --latency; the
# requests: a50 backlog page of 50, b one item, c create at the bottom, d move before a random
# item, e full-text search "zebra" (100 hits, rank order). Prints one table with the ratios.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ITEMS=1000000
SMALL=10000
WORK=${BENCH_WORK:-/tmp/keel-bench}
REF=${REF_DIR:-$ROOT/../shared/reference-server}
PORT=${KEEL_PORT:-7979}
BUILD=1 REUSE=0 DO_REF=1 DO_SMALL=1
DUR=${DUR:-20s}
WARM=${WARM:-5s}
ENDPOINTS=(a50 b c d e)

while [ $# -gt 0 ]; do
  case $1 in
    --items) ITEMS=$2; shift 2;;
    --small-items) SMALL=$2; shift 2;;
    --work) WORK=$2; shift 2;;
    --ref) REF=$2; shift 2;;
    --port) PORT=$2; shift 2;;
    --skip-build) BUILD=0; shift;;
    --reuse) REUSE=1; shift;;
    --no-ref) DO_REF=0; shift;;
    --no-small) DO_SMALL=0; shift;;
    --endpoints) read -r -a ENDPOINTS <<< "$2"; shift 2;;
    -h|--help) sed -n '2,25p' "$0"; exit 0;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done

for tool in wrk bc curl; do
  command -v $tool > /dev/null || { echo "compare.sh needs $tool" >&2; exit 1; }
done
mkdir -p "$WORK/out"
OUT=$WORK/out
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
KEEL=$TARGET/release/keel
KB=$TARGET/release/keel-bench
export WRKDIR=$ROOT/bench/wrk
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# wrk's latency ("812.00us", "1.23ms", "1.20s", "1.50m") in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else printf "nan" }'
}
rps_of() { awk '/Requests\/sec/ {print $2}' "$1"; }
p_of() { to_ms "$(awk -v p="$2%" '$1 == p {print $2}' "$1")"; }
errors_of() { grep -E 'Non-2xx|Socket errors' "$1" | tr '\n' ' ' || true; }

# ---------------------------------------------------------------- the reference server
if [ $DO_REF = 1 ]; then
  [ -d "$REF" ] || { echo "no reference server at $REF (use --ref DIR)" >&2; exit 1; }
  if [ $BUILD = 1 ]; then
    log "building the reference server in $REF"
    (cd "$REF" && env -u CARGO_TARGET_DIR cargo build --release 2>&1 | tail -1)
  fi
  mkdir -p "$WORK/ref"
  REFDB=$WORK/ref/m.db
  if [ $REUSE = 0 ] || [ ! -f "$REFDB" ]; then
    rm -f "$REFDB" "$REFDB-wal" "$REFDB-shm"
    log "reference dataset: $ITEMS items"
    /usr/bin/time -f "%e s" "$REF/target/release/limit" gen "$REFDB" "$ITEMS" 2>&1 | tail -2
  fi
  log "reference: ${ENDPOINTS[*]}"
  OUTDIR=$OUT/ref DUR=$DUR "$REF/bench.sh" "$REFDB" "$ITEMS" ref "${ENDPOINTS[@]}" | tee "$OUT/ref.log" >&2
  if [ $DO_SMALL = 1 ]; then
    REFDB10=$WORK/ref/small.db
    if [ $REUSE = 0 ] || [ ! -f "$REFDB10" ]; then
      rm -f "$REFDB10" "$REFDB10-wal" "$REFDB10-shm"
      "$REF/target/release/limit" gen "$REFDB10" "$SMALL" > /dev/null 2>&1
    fi
    log "reference: d at $SMALL items"
    OUTDIR=$OUT/ref DUR=$DUR "$REF/bench.sh" "$REFDB10" "$SMALL" refsmall d | tee "$OUT/refsmall.log" >&2
  fi
fi

# ---------------------------------------------------------------- Keel
if [ $BUILD = 1 ]; then
  log "building Keel (release) into $TARGET"
  (cd "$ROOT" && cargo build --release -p keel -p keel-bench 2>&1 | tail -1)
fi

# gen_keel <dir> <items> [generate options…]
gen_keel() {
  local dir=$1 n=$2; shift 2
  if [ $REUSE = 0 ] || [ ! -f "$dir/keel.db" ]; then
    log "Keel dataset: $n items in $dir"
    "$KB" generate --data-dir "$dir" --items "$n" --force "$@" | tee "$dir.gen.txt" >&2
  fi
}

# keel_bench <data dir> <nmax> <label> <endpoints…>: as the reference's bench.sh, for Keel.
keel_bench() {
  local dir=$1; export NMAX=$2; local label=$3; shift 3
  local base=http://127.0.0.1:$PORT
  export KEEL_TOKEN; KEEL_TOKEN=$(cat "$dir/bench-token")
  sync
  local t0 t1 spid
  t0=$(date +%s%N)
  # Run from $WORK so that no keel.toml of the current directory is picked up.
  (cd "$WORK" && exec "$KEEL" serve --data-dir "$dir" --bind "127.0.0.1:$PORT") 2> "$OUT/$label.server.log" &
  spid=$!
  until curl -sf -o /dev/null "$base/readyz"; do
    kill -0 $spid 2> /dev/null || { echo "keel serve exited:" >&2; cat "$OUT/$label.server.log" >&2; exit 1; }
    sleep 0.002
  done
  t1=$(date +%s%N)
  echo "startup_ms_to_first_200=$(( (t1 - t0) / 1000000 ))" | tee "$OUT/$label.startup.txt" >&2
  grep VmRSS /proc/$spid/status | tee -a "$OUT/$label.startup.txt" >&2
  local ep s p c0 c1 n
  for ep in "$@"; do
    case $ep in
      a50) s=plain.lua; p="/api/v1/products/BENCH/backlog?limit=50";;
      a100) s=plain.lua; p="/api/v1/products/BENCH/backlog?limit=100";;
      b) s=get.lua; p="/";;
      c) s=create.lua; p="/";;
      d) s=move.lua; p="/";;
      e) s=plain.lua; p="/api/v1/products/BENCH/items?q=zebra&limit=100";;
      *) echo "unknown endpoint $ep" >&2; continue;;
    esac
    wrk -t2 -c8 -d$WARM -s "$WRKDIR/$s" "$base$p" > "$OUT/$label.$ep.warm.txt" 2>&1
    c0=$(awk '{print $14+$15}' /proc/$spid/stat)
    wrk -t2 -c8 -d$DUR --latency --timeout 30s -s "$WRKDIR/$s" "$base$p" > "$OUT/$label.$ep.txt" 2>&1
    c1=$(awk '{print $14+$15}' /proc/$spid/stat)
    n=$(awk '/requests in/ {print $1}' "$OUT/$label.$ep.txt")
    echo "== $label $ep: $(grep -E 'Requests/sec' "$OUT/$label.$ep.txt") p50=$(p_of "$OUT/$label.$ep.txt" 50)ms" \
      "p99=$(p_of "$OUT/$label.$ep.txt" 99)ms server_cpu_us_per_req=$(echo "scale=1; ($c1-$c0)*10000/${n:-1}" | bc)" \
      "$(errors_of "$OUT/$label.$ep.txt")" >&2
    # RssFile is mostly SQLite's memory-mapped database pages (shared page cache, counted once
    # per mapping); RssAnon is the process's own memory.
    grep -E 'VmRSS|RssAnon|RssFile' /proc/$spid/status | tr '\n' ' ' | tee "$OUT/$label.$ep.rss.txt" >&2; echo >&2
  done
  grep -E 'VmRSS|VmHWM|RssAnon|RssFile' /proc/$spid/status | tee "$OUT/$label.rss.txt" >&2
  kill $spid; wait $spid 2> /dev/null || true
  ls -l "$dir"/keel.db* > "$OUT/$label.dbsize.txt"
}

mkdir -p "$WORK/keel" "$WORK/keel-small"
gen_keel "$WORK/keel" "$ITEMS"
log "Keel: ${ENDPOINTS[*]}"
keel_bench "$WORK/keel" "$ITEMS" keel "${ENDPOINTS[@]}"
if [ $DO_SMALL = 1 ]; then
  gen_keel "$WORK/keel-small" "$SMALL" --small-products 0
  log "Keel: d at $SMALL items"
  keel_bench "$WORK/keel-small" "$SMALL" keelsmall d
fi

# ---------------------------------------------------------------- the table
ratio() { # ratio a b: a/b with two decimals, or - when either is missing
  if [ -n "$1" ] && [ -n "$2" ] && [ "$2" != "nan" ] && [ "$1" != "nan" ] && [ "$(echo "$2 > 0" | bc)" = 1 ]; then
    echo "scale=2; $1 / $2" | bc | sed 's/^\./0./'
  else echo "-"; fi
}
field() { [ -f "$1" ] && "$2" "$1" ${3:-} || echo ""; }
{
  echo "Keel vs reference, $ITEMS items, wrk -t2 -c8, $WARM warm-up, $DUR measured, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "| request | ref req/s | ref p50 ms | ref p99 ms | Keel req/s | Keel p50 ms | Keel p99 ms | req/s ratio | p99 ratio | targets |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
  for ep in "${ENDPOINTS[@]}"; do
    rr=$(field "$OUT/ref/ref.$ep.txt" rps_of); r50=$(field "$OUT/ref/ref.$ep.txt" p_of 50); r99=$(field "$OUT/ref/ref.$ep.txt" p_of 99)
    kr=$(field "$OUT/keel.$ep.txt" rps_of); k50=$(field "$OUT/keel.$ep.txt" p_of 50); k99=$(field "$OUT/keel.$ep.txt" p_of 99)
    rq=$(ratio "$kr" "$rr"); pq=$(ratio "$k99" "$r99")
    met="-"
    if [ "$rq" != "-" ] && [ "$pq" != "-" ]; then
      a=$(echo "$rq >= 0.66" | bc); b=$(echo "$pq <= 1.5" | bc)
      met="$([ "$a" = 1 ] && echo "req/s ok" || echo "req/s MISSED"), $([ "$b" = 1 ] && echo "p99 ok" || echo "p99 MISSED")"
    fi
    errs=$(field "$OUT/keel.$ep.txt" errors_of)
    echo "| $ep | ${rr:--} | ${r50:--} | ${r99:--} | ${kr:--} | ${k50:--} | ${k99:--} | $rq | $pq | $met${errs:+ (Keel: $errs)} |"
  done
  echo
  if [ -f "$OUT/keelsmall.d.txt" ]; then
    ks=$(rps_of "$OUT/keelsmall.d.txt"); kl=$(rps_of "$OUT/keel.d.txt")
    ks99=$(p_of "$OUT/keelsmall.d.txt" 99); kl99=$(p_of "$OUT/keel.d.txt" 99)
    echo "Keel move: $SMALL items $ks req/s (p99 $ks99 ms); $ITEMS items $kl req/s (p99 $kl99 ms);" \
      "cost ratio (time per move, large/small) $(ratio "$ks" "$kl") (target <= 1.5)"
    if [ -f "$OUT/ref/refsmall.d.txt" ]; then
      rs=$(rps_of "$OUT/ref/refsmall.d.txt"); rl=$(rps_of "$OUT/ref/ref.d.txt")
      echo "Reference move: $SMALL items $rs req/s; $ITEMS items $rl req/s; cost ratio $(ratio "$rs" "$rl")"
    fi
  fi
  echo "Keel start-up to first 200 on /readyz: $(sed 's/startup_ms_to_first_200=//' "$OUT/keel.startup.txt" | head -1) ms (target < 200)"
  echo "Keel RSS at the end: $(tr '\n' ' ' < "$OUT/keel.rss.txt") (target < 300 MiB)"
  echo "Keel peak RssAnon after an endpoint: $(cat "$OUT"/keel.*.rss.txt | grep -oE 'RssAnon:[[:space:]]+[0-9]+' | awk '{if ($2 > m) m = $2} END {printf "%.0f MiB", m / 1024}')"
  [ -f "$OUT/ref/ref.startup.txt" ] && echo "Reference: $(tr '\n' ' ' < "$OUT/ref/ref.startup.txt")"
  [ -f "$OUT/ref/ref.rss.txt" ] && echo "Reference RSS: $(tr '\n' ' ' < "$OUT/ref/ref.rss.txt")"
  echo "Keel database: $(awk '{s += $5} END {printf "%.0f MiB", s / 1048576}' "$OUT/keel.dbsize.txt")"
} | tee "$OUT/summary.md"
