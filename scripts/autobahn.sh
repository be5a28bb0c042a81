#!/usr/bin/env bash
# Autobahn|Testsuite conformance run against the example server's /echo.
#
#   scripts/autobahn.sh [CASES_JSON] [EXCLUDE_JSON]
#     CASES_JSON    default '["*"]'
#     EXCLUDE_JSON  default '[]'
#
# Installs wstest (Python 2.7 from Debian bullseye, pinned; autobahntestsuite 0.8.2 from PyPI)
# if missing, builds and starts the example server on a free loopback port, runs the
# fuzzingclient, stops the server, prints the counts and exits non-zero on any case that is
# not OK / INFORMATIONAL / UNIMPLEMENTED (NON-STRICT counts as a failure here), or whose
# closing behaviour is not OK.
#
# Env: AUTOBAHN_VENV (default /opt/autobahn-venv), AUTOBAHN_REPORT (report dir, default
# target/autobahn), SERVER_ARGS (extra example-server flags), AUTOBAHN_TIMEOUT (s, default 1800),
# AUTOBAHN_PACKAGE / AUTOBAHN_EXAMPLE (default socketwire / server; socketwire-tokio /
# echo_server runs the runtime crate's echo server instead).
set -euo pipefail
cd "$(dirname "$0")/.."

CASES=${1:-'["*"]'}
EXCLUDE=${2:-'[]'}
VENV=${AUTOBAHN_VENV:-/opt/autobahn-venv}
REPORT=${AUTOBAHN_REPORT:-$PWD/target/autobahn}
TIMEOUT=${AUTOBAHN_TIMEOUT:-1800}
log() { printf '[autobahn] %s\n' "$*" >&2; }

# shellcheck source=scripts/autobahn-install.sh
. scripts/autobahn-install.sh

EXAMPLE=${AUTOBAHN_EXAMPLE:-server}
PACKAGE=${AUTOBAHN_PACKAGE:-socketwire}
log "building example $EXAMPLE of $PACKAGE"
cargo build --release --quiet -p "$PACKAGE" --example "$EXAMPLE"
# shellcheck source=scripts/ports.sh
. scripts/ports.sh
PORT=$(free_port)
# shellcheck disable=SC2086
target/release/examples/"$EXAMPLE" --addr "127.0.0.1:$PORT" ${SERVER_ARGS:-} >"$REPORT.server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
wait_port "$PORT" || { log "the server did not start listening"; exit 2; }

mkdir -p "$REPORT"
cat > "$REPORT/spec.json" <<SPEC
{"outdir": "$REPORT/reports", "servers": [{"agent": "socketwire", "url": "ws://127.0.0.1:$PORT/echo"}],
 "cases": $CASES, "exclude-cases": $EXCLUDE, "exclude-agent-cases": {}}
SPEC
log "wstest fuzzingclient -> ws://127.0.0.1:$PORT/echo cases=$CASES exclude=$EXCLUDE"
start=$(date +%s)
rc=0
(cd "$REPORT" && PYTHONWARNINGS=ignore timeout "$TIMEOUT" "$VENV/bin/wstest" -m fuzzingclient -s spec.json) \
  >"$REPORT/wstest.log" 2>&1 || rc=$?
log "wstest finished in $(( $(date +%s) - start ))s (rc=$rc)"
if [ "$rc" -ne 0 ] || [ ! -s "$REPORT/reports/index.json" ]; then
  tail -n 20 "$REPORT/wstest.log" >&2
  exit 2
fi

expected=$(grep -oE 'will run [0-9]+ test cases' "$REPORT/wstest.log" | grep -oE '[0-9]+' | head -n1 || true)
python3 scripts/autobahn-report.py "$REPORT/reports/index.json" "$expected" autobahn
