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
cargo build --release --quiet -p socketwire-tokio --features socketio-server,redis --example socketio_server --example chat_demo

# shellcheck source=scripts/ports.sh
. scripts/ports.sh
SERVERS=()
cleanup() { for pid in "${SERVERS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

start_example() { # start_example VAR EXAMPLE ARGS... : starts an example server, sets VAR to its port
  local var=$1 example=$2; shift 2
  local port; port=$(free_port)
  "target/release/examples/$example" --addr "127.0.0.1:$port" "$@" >"target/interop-$example-$port.log" 2>&1 &
  SERVERS+=($!)
  wait_port "$port" || { log "$example did not start listening"; exit 2; }
  printf -v "$var" '%s' "$port"
}
start_server() { start_example "$1" server "${@:2}"; } # the core's example server

start_server PORT ${SERVER_ARGS:-}
export SERVER_URL="ws://127.0.0.1:$PORT" HTTP_URL="http://127.0.0.1:$PORT"
export CLIENT_BIN=$PWD/target/release/examples/client
if [ -f scripts/interop/engineio.test.mjs ] || [ -f scripts/interop/socketio.test.mjs ]; then
  start_server PORT_EIO3 --allow-eio3 --ping-interval 300 --ping-timeout 200
  export HTTP_URL_EIO3="http://127.0.0.1:$PORT_EIO3"
  start_server PORT_FAST --ping-interval 300 --ping-timeout 200
  export HTTP_URL_FAST="http://127.0.0.1:$PORT_FAST"
fi
# socketwire-tokio's Socket.IO server (the tower service mounted in axum).
start_example PORT_SIO socketio_server --allow-eio3
export SOCKETIO_SERVER_URL="http://127.0.0.1:$PORT_SIO" SOCKETIO_SERVER_URL_EIO3="http://127.0.0.1:$PORT_SIO"
cd scripts/interop
node --test --test-force-exit --test-concurrency=1 --test-reporter=spec ./*.test.mjs
