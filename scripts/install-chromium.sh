#!/usr/bin/env bash
# Installs Debian's `chromium` package (used by scripts/interop/browser.test.mjs) unless
# /usr/bin/chromium is already there. Idempotent; uses sudo when not run as root.
set -euo pipefail
log() { printf '[install-chromium] %s\n' "$*" >&2; }

if [ -x /usr/bin/chromium ]; then
  log "already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { log "not root and sudo is missing: cannot install chromium"; exit 2; }
  SUDO=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
log "installing chromium with apt-get"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
[ -x /usr/bin/chromium ] || { log "apt-get finished but /usr/bin/chromium is missing"; exit 1; }
log "installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
