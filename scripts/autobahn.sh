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

install_wstest() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  if ! [ -x /usr/bin/python2.7 ]; then
    local mirror codename
    codename=$(. /etc/os-release; echo "${VERSION_CODENAME:-}")
    if [ "$codename" != bullseye ] && [ "$codename" != buster ]; then
      mirror=$(grep -h -s -E '^[[:space:]]*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)
      mirror=${mirror:-http://deb.debian.org/debian}
      log "adding Debian bullseye (pinned to python2.7 only) from $mirror"
      printf 'Types: deb\nURIs: %s\nSuites: bullseye\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "$mirror" | $sudo tee /etc/apt/sources.list.d/socketwire-bullseye.sources >/dev/null
      printf 'Package: python2.7 python2.7-minimal python2.7-dev libpython2.7 libpython2.7-minimal libpython2.7-stdlib libpython2.7-dev libssl1.1 libffi7\nPin: release n=bullseye\nPin-Priority: 500\n\nPackage: *\nPin: release n=bullseye\nPin-Priority: -1\n' \
        | $sudo tee /etc/apt/preferences.d/socketwire-bullseye >/dev/null
    fi
    $sudo apt-get update -qq
    $sudo apt-get install -y -q --no-install-recommends python2.7 python2.7-dev gcc libc6-dev \
      ca-certificates python3 python3-venv >/dev/null
  fi
  log "creating the wstest virtualenv at $VENV"
  local tmp; tmp=$(mktemp -d)
  python3 -m venv "$tmp/tool"
  "$tmp/tool/bin/pip" install -q --disable-pip-version-check virtualenv==20.21.1
  $sudo rm -rf "$VENV"
  $sudo "$tmp/tool/bin/virtualenv" -q --no-download --no-periodic-update --app-data "$tmp/app" \
    -p /usr/bin/python2.7 "$VENV"
  cat > "$tmp/pins.txt" <<'PINS'
autobahntestsuite==0.8.2
autobahn==0.10.9
txaio==2.1.0
Twisted==20.3.0
zope.interface==5.5.2
Automat==22.10.0
attrs==21.4.0
constantly==15.1.0
incremental==22.10.0
hyperlink==21.0.0
idna==2.10
PyHamcrest==1.10.1
pyopenssl==21.0.0
cryptography==3.3.2
cffi==1.15.1
pycparser==2.21
enum34==1.1.10
ipaddress==1.0.23
six==1.17.0
service-identity==21.1.0
pyasn1==0.5.1
pyasn1-modules==0.3.0
klein==20.6.0
Tubes==0.2.1
Werkzeug==1.0.1
jinja2==2.11.3
markupsafe==1.1.1
unittest2==1.1.0
traceback2==1.4.0
linecache2==1.0.0
typing==3.10.0.0
ujson==2.0.3
wsaccel==0.6.6
setuptools==44.1.1
PINS
  $sudo "$VENV/bin/pip" install -q --disable-pip-version-check --no-python-version-warning \
    -c "$tmp/pins.txt" autobahntestsuite==0.8.2
  rm -rf "$tmp"
}

wstest_ok() {
  [ -x "$VENV/bin/wstest" ] && PYTHONWARNINGS=ignore "$VENV/bin/python" -c \
    'import autobahntestsuite, twisted, wsaccel' >/dev/null 2>&1
}
wstest_ok || install_wstest
wstest_ok || { log "wstest install failed"; exit 2; }

EXAMPLE=${AUTOBAHN_EXAMPLE:-server}
PACKAGE=${AUTOBAHN_PACKAGE:-socketwire}
log "building example $EXAMPLE of $PACKAGE"
cargo build --release --quiet -p "$PACKAGE" --example "$EXAMPLE"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# shellcheck disable=SC2086
target/release/examples/"$EXAMPLE" --addr "127.0.0.1:$PORT" ${SERVER_ARGS:-} >"$REPORT.server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.1
done

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

python3 - "$REPORT/reports/index.json" "$REPORT/wstest.log" <<'PY'
import json, re, sys
data = json.load(open(sys.argv[1]))["socketwire"]
log = open(sys.argv[2]).read()
m = re.search(r"will run (\d+) test cases", log)
expected = int(m.group(1)) if m else len(data)
counts, bad = {}, []
for cid, r in sorted(data.items(), key=lambda kv: [int(p) for p in kv[0].split(".")]):
    b, c = r["behavior"], r["behaviorClose"]
    counts[b] = counts.get(b, 0) + 1
    if b not in ("OK", "INFORMATIONAL", "UNIMPLEMENTED") or c not in ("OK", "INFORMATIONAL"):
        bad.append("%s (%s, close %s)" % (cid, b, c))
missing = expected - len(data)
print("autobahn: %d cases: %s" % (len(data), ", ".join("%d %s" % (v, k) for k, v in sorted(counts.items()))))
if missing > 0:
    print("autobahn: %d cases did not run" % missing)
if bad:
    print("autobahn: not OK: " + "; ".join(bad[:60]))
ok = not bad and missing <= 0
print("autobahn: %s" % ("PASS" if ok else "FAIL"))
sys.exit(0 if ok else 1)
PY
