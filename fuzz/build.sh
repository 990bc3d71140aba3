#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer on the stable toolchain, without cargo-fuzz: the same
# SanitizerCoverage instrumentation cargo-fuzz asks for (all stable codegen options), no
# AddressSanitizer (the crates forbid unsafe code). Binaries land in
# ${CARGO_TARGET_DIR:-fuzz/target}/<host triple>/release/<target>. Run one for N seconds:
#   fuzz/run.sh jira_csv 300
set -euo pipefail
cd "$(dirname "$0")"
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks --cfg fuzzing"
cargo build --release --bins --target "$(rustc -vV | sed -n "s/^host: //p")" "$@"
