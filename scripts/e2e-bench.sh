#!/usr/bin/env bash
# End-to-end WebSocket echo, server against server, in one run on loopback: one load
# generator (benches/e2e `loadgen`: tokio-tungstenite clients, no extensions offered) drives
# each echo server in turn at every cell of the grid, and reports messages/s, round-trip
# p50/p99, the server's CPU time per message (from /proc/PID/stat: less noisy than
# throughput on 2 shared cores) and the server's RSS.
#
#   scripts/e2e-bench.sh            the grid: 1/100/1000 connections x 16 B/1 KiB/64 KiB x
#                                   1 or 16 in flight (cells holding more than 256 MiB in
#                                   flight are skipped), 1 s warm-up and 5 s measured per cell
#   scripts/e2e-bench.sh --quick    100 connections only, 3 s per cell
#
# Servers (all on multi-threaded tokio but Node): the example server (/echo), socketwire-tokio's
# echo_server example, tokio-tungstenite 0.30, fastwebsockets 0.10 (benches/e2e peers), Node
# `ws` (scripts/interop). Cells run server after server, so the machine's noise falls on all
# of them alike. Results: target/e2e/results.jsonl; the table: target/e2e/table.md
# (scripts/e2e-table.py). Env: CONNS, SIZES, INFLIGHT, WARMUP, DURATION, SERVERS; BASE_BIN,
# another build of the example server (say the last commit's), runs as the server `base` for
# a before/after comparison in one run (SERVERS="example base").
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-"1 100 1000"}
SIZES=${SIZES:-"16 1024 65536"}
INFLIGHT=${INFLIGHT:-"1 16"}
WARMUP=${WARMUP:-1}
DURATION=${DURATION:-5}
if [ "${1:-}" = --quick ]; then
  CONNS=${QUICK_CONNS:-100} DURATION=3
fi
SERVERS=${SERVERS:-"example socketwire-tokio tokio-tungstenite fastwebsockets node-ws"}
OUT=target/e2e
mkdir -p "$OUT"
: >"$OUT/results.jsonl"
log() { printf '[e2e] %s\n' "$*" >&2; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

log "building"
cargo build --release --quiet --example server
cargo build --release --quiet -p socketwire-tokio --example echo_server
cargo build --release --quiet -p socketwire-e2e
if [[ " $SERVERS " == *" node-ws "* ]]; then
  (cd scripts/interop && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

# shellcheck source=scripts/ports.sh
. scripts/ports.sh

declare -A PID URL
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

for name in $SERVERS; do
  port=$(free_port)
  case $name in
    example) cmd=(target/release/examples/server --addr "127.0.0.1:$port" --max-connections 5000); path=/echo ;;
    base) cmd=("${BASE_BIN:?base needs BASE_BIN}" --addr "127.0.0.1:$port" --max-connections 5000); path=/echo ;;
    socketwire-tokio) cmd=(target/release/examples/echo_server --addr "127.0.0.1:$port"); path=/ ;;
    tokio-tungstenite) cmd=(target/release/peer-tungstenite --addr "127.0.0.1:$port"); path=/ ;;
    fastwebsockets) cmd=(target/release/peer-fastwebsockets --addr "127.0.0.1:$port"); path=/ ;;
    node-ws) cmd=(node scripts/interop/ws-echo-server.mjs --addr "127.0.0.1:$port"); path=/ ;;
    *) log "unknown server $name"; exit 2 ;;
  esac
  "${cmd[@]}" >"$OUT/$name.log" 2>&1 &
  PID[$name]=$!
  PIDS+=($!)
  URL[$name]="ws://127.0.0.1:$port$path"
  wait_port "$port" || { log "$name did not start listening"; exit 2; }
  log "$name: pid ${PID[$name]}, ${URL[$name]}"
done

failed=0
for conns in $CONNS; do
  for size in $SIZES; do
    for inflight in $INFLIGHT; do
      if [ $((conns * size * inflight)) -gt $((256 << 20)) ]; then
        log "skip $conns x $size B x $inflight (more than 256 MiB in flight)"
        continue
      fi
      for name in $SERVERS; do
        line=$(timeout 300 target/release/loadgen echo --url "${URL[$name]}" --connections "$conns" \
          --size "$size" --inflight "$inflight" --warmup "$WARMUP" --duration "$DURATION" \
          --server-pid "${PID[$name]}" --label "$name") || { log "$name $conns x $size x $inflight FAILED"; failed=1; }
        echo "$line" | tee -a "$OUT/results.jsonl"
      done
    done
  done
done
python3 scripts/e2e-table.py "$OUT/results.jsonl" | tee "$OUT/table.md"
exit $failed
