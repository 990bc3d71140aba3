#!/usr/bin/env bash
# Runs one fuzz target for SECONDS (default 300) on its corpus (fuzz/corpus/TARGET, seeded from
# fuzz/seeds/TARGET when present); crashes are written to fuzz/artifacts/TARGET/.
#   fuzz/run.sh TARGET [SECONDS] [extra libFuzzer flags]
set -euo pipefail
cd "$(dirname "$0")"
t="$1"; secs="${2:-300}"; shift $(( $# >= 2 ? 2 : 1 ))
bin="${CARGO_TARGET_DIR:-target}/$(rustc -vV | sed -n "s/^host: //p")/release/$t"
[ -x "$bin" ] || { echo "build first: fuzz/build.sh"; exit 2; }
mkdir -p "corpus/$t" "artifacts/$t"
seeds=(); [ -d "seeds/$t" ] && seeds=("seeds/$t")
"$bin" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="artifacts/$t/" -print_final_stats=1 "$@" "corpus/$t" "${seeds[@]}"
