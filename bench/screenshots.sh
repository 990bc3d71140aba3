#!/usr/bin/env bash
# Renders every main page of the demo product in headless Chromium at laptop (1440×900) and phone
# (390×844) width, light and dark, into a folder (default: target/screenshots), for a person to
# look at. It reuses the accessibility test's walk over the pages (crates/keel/tests/browser_a11y.rs),
# so it also reports any serious accessibility violation. Needs chromium, chromedriver and npm.
#
#   bench/screenshots.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
out="${1:-$target/screenshots}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

axe_dir="$target/axe"
if [ ! -f "$axe_dir/node_modules/axe-core/axe.min.js" ]; then
  mkdir -p "$axe_dir"
  npm install --no-save --no-audit --no-fund --prefix "$axe_dir" axe-core@4 >/dev/null
fi
KEEL_AXE_JS="$(cd "$axe_dir" && pwd)/node_modules/axe-core/axe.min.js"
export KEEL_AXE_JS

KEEL_SCREENSHOTS="$out" cargo test -p keel --test browser_a11y a11y_sqlite -- --nocapture
echo "$(ls "$out" | wc -l) screenshots in $out"
