#!/usr/bin/env bash
# Interop tests against real npm peers (Node's `ws`; engine.io-client and socket.io-client
# where those tests exist). Installs the npm packages pinned in scripts/interop/package.json,
# builds the examples, starts the example server on a free loopback port, runs every
# scripts/interop/*.test.mjs with node's test runner, and stops the server.
#   WS_DEFLATE=1 scripts/interop.sh   runs the WebSocket tests with permessage-deflate on.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[interop] %s\n' "$*" >&2; }

command -v node >/dev/null || { log "node is required"; exit 2; }
(cd scripts/interop && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
cargo build --release --quiet --examples
# The HTTP/2 server (RFC 8441 extended CONNECT) needs two features off by default.
cargo build --release --quiet -p socketwire-tokio --features http2,rustls --example h2_server

# shellcheck source=scripts/ports.sh
. scripts/ports.sh
SERVERS=()
cleanup() { for pid in "${SERVERS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

start_server() { # start_server VAR ARGS... : starts the example server, sets VAR to its port
  local var=$1; shift
  local port; port=$(free_port)
  target/release/examples/server --addr "127.0.0.1:$port" "$@" >"target/interop-server-$port.log" 2>&1 &
  SERVERS+=($!)
  wait_port "$port" || { log "the example server did not start listening"; exit 2; }
  printf -v "$var" '%s' "$port"
}

start_server PORT ${SERVER_ARGS:-}
export SERVER_URL="ws://127.0.0.1:$PORT" HTTP_URL="http://127.0.0.1:$PORT"
export CLIENT_BIN=$PWD/target/release/examples/client
if [ -f scripts/interop/engineio.test.mjs ] || [ -f scripts/interop/socketio.test.mjs ]; then
  start_server PORT_EIO3 --allow-eio3 --ping-interval 300 --ping-timeout 200
  export HTTP_URL_EIO3="http://127.0.0.1:$PORT_EIO3"
  start_server PORT_FAST --ping-interval 300 --ping-timeout 200
  export HTTP_URL_FAST="http://127.0.0.1:$PORT_FAST"
fi
cd scripts/interop
node --test --test-force-exit --test-concurrency=1 --test-reporter=spec ./*.test.mjs
