#!/usr/bin/env bash
# Autobahn|Testsuite conformance run of the example client (the client role):
# `wstest -m fuzzingserver` on loopback, the example client in `--autobahn` mode against it.
#
#   scripts/autobahn-client.sh [CASES_JSON] [EXCLUDE_JSON]
#     CASES_JSON    default '["*"]'
#     EXCLUDE_JSON  default '[]'
#
# Installs wstest if missing (scripts/autobahn-install.sh), builds the example client
# in release, starts the fuzzing server on a free loopback port (bound to 127.0.0.1, its web
# page off), runs the client against it (it runs every case, echoing, offering
# permessage-deflate, then asks for the reports), stops the server, prints the counts and exits
# non-zero on any case that is not OK / INFORMATIONAL / UNIMPLEMENTED (NON-STRICT counts as a
# failure here), whose closing behaviour is not OK, or that did not run.
#
# Env: AUTOBAHN_VENV (default /opt/autobahn-venv), AUTOBAHN_REPORT (report dir, default
# target/autobahn-client), AUTOBAHN_TIMEOUT (s, default 3600, for the client's whole run;
# all 517 cases took 12-17 min on 2 shared cores, 12.* and 13.* nearly all of it).
set -euo pipefail
cd "$(dirname "$0")/.."

CASES=${1:-'["*"]'}
EXCLUDE=${2:-'[]'}
VENV=${AUTOBAHN_VENV:-/opt/autobahn-venv}
REPORT=${AUTOBAHN_REPORT:-$PWD/target/autobahn-client}
TIMEOUT=${AUTOBAHN_TIMEOUT:-3600}
log() { printf '[autobahn-client] %s\n' "$*" >&2; }

# shellcheck source=scripts/autobahn-install.sh
. scripts/autobahn-install.sh

mkdir -p "$REPORT"
REPORT=$(cd "$REPORT" && pwd)
# shellcheck source=scripts/ports.sh
. scripts/ports.sh
PORT=$(free_port)

# The spec; an empty selection would leave the client nothing to run, so refuse it up front.
PYTHONWARNINGS=ignore "$VENV/bin/python" - "$REPORT/spec.json" "ws://127.0.0.1:$PORT" \
  "$REPORT/reports/clients" "$CASES" "$EXCLUDE" <<'PY' || { log "bad CASES_JSON/EXCLUDE_JSON"; exit 2; }
import json, sys
path, url, outdir, cases, exclude = sys.argv[1:6]
spec = {"url": url, "outdir": outdir, "cases": json.loads(cases),
        "exclude-cases": json.loads(exclude), "exclude-agent-cases": {}}
from autobahntestsuite.case import Cases, CaseCategories, CaseSubCategories, CaseSetname, CaseBasename
from autobahntestsuite.caseset import CaseSet
selected = CaseSet(CaseSetname, CaseBasename, Cases, CaseCategories, CaseSubCategories).parseSpecCases(spec)
if not selected:
    raise SystemExit("no test case matches cases=%s minus exclude=%s" % (cases, exclude))
json.dump(spec, open(path, "w"), indent=2)
open(path + ".count", "w").write("%d\n" % len(selected))
PY
EXPECTED=$(cat "$REPORT/spec.json.count")
rm -rf "$REPORT/reports/clients"

log "building the example client"
cargo build --release --quiet --example client

# wstest's fuzzingserver listens on every interface and serves a web page on 8080; run it with
# its listener bound to 127.0.0.1 and the web page off.
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
}
trap cleanup EXIT
(cd "$REPORT" && PYTHONWARNINGS=ignore PYTHONUNBUFFERED=1 exec "$VENV/bin/python" -c '
import sys
from autobahn.twisted import websocket
from autobahntestsuite import fuzzing, wstest
def listen_loopback(factory, contextFactory=None, backlog=50, interface=""):
    return websocket.listenWS(factory, contextFactory, backlog, "127.0.0.1")
fuzzing.listenWS = listen_loopback
sys.argv = ["wstest"] + sys.argv[1:]
wstest.run()
' -m fuzzingserver -s spec.json --webport=0) >"$REPORT/wstest.log" 2>&1 &
SERVER=$!
if ! wait_port "$PORT"; then
  log "the fuzzing server did not start listening on 127.0.0.1:$PORT"
  tail -n 20 "$REPORT/wstest.log" >&2
  exit 2
fi

log "example client --autobahn ws://127.0.0.1:$PORT ($EXPECTED cases; cases=$CASES exclude=$EXCLUDE)"
start=$(date +%s)
rc=0
timeout "$TIMEOUT" target/release/examples/client --autobahn "ws://127.0.0.1:$PORT" \
  >"$REPORT/client.log" 2>&1 || rc=$?
log "client finished in $(( $(date +%s) - start ))s (rc=$rc)"
cleanup
SERVER=""
if [ "$rc" -ne 0 ] || [ ! -s "$REPORT/reports/clients/index.json" ]; then
  [ "$rc" -eq 124 ] && log "timed out after ${TIMEOUT}s"
  tail -n 20 "$REPORT/client.log" >&2
  tail -n 20 "$REPORT/wstest.log" >&2
  exit 2
fi

python3 scripts/autobahn-report.py "$REPORT/reports/clients/index.json" "$EXPECTED" "autobahn client"
