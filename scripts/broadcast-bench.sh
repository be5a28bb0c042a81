#!/usr/bin/env bash
# Socket.IO room broadcast, server against server, on loopback: one load generator (benches/e2e
# `loadgen broadcast`: tokio-tungstenite clients speaking Engine.IO v4 / Socket.IO v5 over
# WebSocket) puts N clients in room `r` (`join`), and one emitter outside the room keeps W
# `to-room` broadcasts in flight; each server emits `new messages` to the members. Reported per
# cell: deliveries/s, emit-to-receipt p50/p99, the server's CPU time per delivery (from
# /proc/PID/stat) and RSS; a server that loses, repeats or reorders a broadcast is marked.
#
#   scripts/broadcast-bench.sh          rooms of 100 and 1000 x 16 B and 1 KiB payloads,
#                                       1 s warm-up and 5 s measured per cell
#   scripts/broadcast-bench.sh --quick  rooms of 100 only, 2 s per cell
#
# Servers, default settings (WebSocket, no compression, ping 25 s / 20 s): the example server
# (/socket.io/), socketioxide 0.18 on axum (benches/e2e peer-socketioxide), npm socket.io 4.8.1
# (scripts/interop/broadcast-server.mjs). A fresh server per cell, one after another, so the
# machine's noise falls on all alike. Results: target/e2e/broadcast.jsonl; the table:
# target/e2e/broadcast.md (scripts/broadcast-table.py). Env: ROOMS, SIZES, WINDOW, WARMUP,
# DURATION, SERVERS; BASE_BIN, another build of the example server (say the last commit's), runs
# as the server `base` for a before/after comparison in one run (SERVERS="example base").
set -euo pipefail
cd "$(dirname "$0")/.."

ROOMS=${ROOMS:-"100 1000"}
SIZES=${SIZES:-"16 1024"}
WINDOW=${WINDOW:-8}
WARMUP=${WARMUP:-1}
DURATION=${DURATION:-5}
if [ "${1:-}" = --quick ]; then
  ROOMS=${QUICK_ROOMS:-100} DURATION=2
fi
SERVERS=${SERVERS:-"example socketioxide socket.io"}
OUT=target/e2e
mkdir -p "$OUT"
: >"$OUT/broadcast.jsonl"
log() { printf '[broadcast] %s\n' "$*" >&2; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

log "building"
cargo build --release --quiet --example server
cargo build --release --quiet -p socketwire-e2e
if [[ " $SERVERS " == *" socket.io "* ]]; then
  (cd scripts/interop && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

# shellcheck source=scripts/ports.sh
. scripts/ports.sh

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

failed=0
for rooms in $ROOMS; do
  for size in $SIZES; do
    for name in $SERVERS; do
      port=$(free_port)
      case $name in
        example) cmd=(target/release/examples/server --addr "127.0.0.1:$port" --max-connections 5000) ;;
        base) cmd=("${BASE_BIN:?BASE_BIN names the other build}" --addr "127.0.0.1:$port" --max-connections 5000) ;;
        socketioxide) cmd=(target/release/peer-socketioxide --addr "127.0.0.1:$port") ;;
        socket.io) cmd=(node scripts/interop/broadcast-server.mjs --addr "127.0.0.1:$port") ;;
        *) log "unknown server $name"; exit 2 ;;
      esac
      "${cmd[@]}" >"$OUT/broadcast-$name.log" 2>&1 &
      pid=$!
      PIDS+=("$pid")
      wait_port "$port" || { log "$name did not start listening"; exit 2; }
      line=$(timeout 120 target/release/loadgen broadcast \
        --url "ws://127.0.0.1:$port/socket.io/?EIO=4&transport=websocket" --clients "$rooms" \
        --size "$size" --window "$WINDOW" --warmup "$WARMUP" --duration "$DURATION" \
        --server-pid "$pid" --label "$name") || { log "$name $rooms x $size B FAILED"; failed=1; }
      echo "$line" | tee -a "$OUT/broadcast.jsonl"
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    done
  done
done
python3 scripts/broadcast-table.py "$OUT/broadcast.jsonl" | tee "$OUT/broadcast.md"
exit $failed
