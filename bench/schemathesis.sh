#!/usr/bin/env bash
# Property-based API testing with Schemathesis against a real `keel serve --demo` on SQLite.
#
#   bench/schemathesis.sh [--examples N] [--binary PATH] [--seed N] [--stateful]
#
# Starts the server on a fresh database in a temporary directory (the demo product SHOP, the
# administrator as its product manager and owner), creates an API token with `keel token create`,
# and runs every operation of /api/v1/openapi.json with the checks: no 5xx, status codes, content
# types, headers and response bodies as documented. Operations that would end the run's own
# session (revoking tokens, signing out, editing users: the fuzzer may deactivate the
# administrator) run in a second pass after the first. The two SSE streams are left out: they
# never end. Exits non-zero on any failure. Schemathesis is installed with pip into a virtual
# environment under ${CARGO_TARGET_DIR:-target}/schemathesis when missing.
#
# CI runs it with the default (bounded) number of examples against the debug binary; a longer
# hunt: bench/schemathesis.sh --examples 200 --stateful
set -euo pipefail
cd "$(dirname "$0")/.."

EXAMPLES=10
SEED=1
STATEFUL=0
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
BINARY="$TARGET_DIR/debug/keel"
SCHEMATHESIS_VERSION="4.32.5"
while [ $# -gt 0 ]; do
  case "$1" in
    --examples) EXAMPLES="$2"; shift 2 ;;
    --binary) BINARY="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    --stateful) STATEFUL=1; shift ;;
    *) echo "unknown option $1"; exit 2 ;;
  esac
done
[ -x "$BINARY" ] || { echo "no keel binary at $BINARY (cargo build -p keel)"; exit 2; }

VENV="$TARGET_DIR/schemathesis"
if [ ! -x "$VENV/bin/schemathesis" ]; then
  echo "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi
ST="$VENV/bin/schemathesis"

WORK="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

export KEEL_ADMIN_EMAIL=admin@keel.test
export KEEL_ADMIN_PASSWORD=schemathesis-admin-password
"$BINARY" --data-dir "$WORK/data" serve --bind "127.0.0.1:$PORT" --demo >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 60); do
  curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS "$BASE/healthz" >/dev/null || { echo "the server did not start:"; cat "$WORK/server.log"; exit 1; }
TOKEN="$("$BINARY" --data-dir "$WORK/data" token create --email "$KEEL_ADMIN_EMAIL" --name schemathesis)"

CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance
PHASES=examples,coverage,fuzzing
[ "$STATEFUL" = 1 ] && PHASES="$PHASES,stateful"
# Operations that end the caller's own session or rights: run last, on their own.
LAST=(--include-operation-id revoke_token --include-operation-id sign_out --include-operation-id patch_user)
run() {
  "$ST" run "$BASE/api/v1/openapi.json" \
    -H "Authorization: Bearer $TOKEN" \
    --checks "$CHECKS" \
    --exclude-path-regex '/stream$' \
    --max-examples "$EXAMPLES" --seed "$SEED" --phases "$PHASES" \
    --workers 2 --request-timeout 30 --suppress-health-check all \
    --warnings off "$@"
}
status=0
echo "== pass 1: every operation but those that end the session ($EXAMPLES examples each, seed $SEED)"
run --exclude-operation-id revoke_token --exclude-operation-id sign_out --exclude-operation-id patch_user || status=1
echo "== pass 2: revoking tokens, signing out, editing users"
run "${LAST[@]}" || status=1
if grep -q "panicked" "$WORK/server.log"; then
  echo "the server panicked:"; grep -A5 "panicked" "$WORK/server.log"; status=1
fi
exit "$status"
