# Installs Autobahn|Testsuite's wstest when it is missing; sourced by scripts/autobahn.sh
# (server role) and scripts/autobahn-client.sh (client role). Needs VENV and log() set.
# Python 2.7 from Debian bullseye (pinned), autobahntestsuite 0.8.2 from PyPI.

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
