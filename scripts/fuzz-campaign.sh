#!/usr/bin/env bash
# A repeatable fuzz campaign: every target of `cargo +nightly fuzz list`, built
# with AddressSanitizer (cargo fuzz's default), run two at a time, each until
# SECONDS have passed or RUNS inputs were executed, whichever comes first.
#
#   scripts/fuzz-campaign.sh [SECONDS]        (default 600 per target)
#
# Each target runs on a work copy of fuzz/corpus/<target>, so the committed
# corpus is not touched; with CMIN=1 the grown corpus is minimised
# (`cargo fuzz cmin`) and written back to fuzz/corpus/<target>: the named seeds
# (spec vectors) stay, the hash-named units are replaced by the minimised set.
# Logs, work corpora and artifacts go under target/fuzz-campaign/<UTC time>/;
# target/fuzz-campaign/latest points at the last campaign.
#
# Environment:
#   JOBS=2           targets run at once (one core each)
#   RUNS=5000000     stop a target after this many executions
#   RSS_MB=2048      libFuzzer -rss_limit_mb (and -malloc_limit_mb): an OOM is a finding
#   TIMEOUT=10       libFuzzer -timeout, seconds per input: a hang is a finding
#   TARGETS="a b"    run only these targets
#   CMIN=1           minimise the grown corpora back into fuzz/corpus/
#
# Prints one row per target: executions, cov, ft, corpus size (files/bytes of
# the work copy, after minimising with CMIN=1) and what it found (crash/leak/timeout/oom/slow-unit artifacts with paths).
# Exits 1 if any target found something or failed to run.
set -euo pipefail

seconds=${1:-600}
jobs_max=${JOBS:-2}
runs=${RUNS:-5000000}
rss_mb=${RSS_MB:-2048}
timeout=${TIMEOUT:-10}
case "$seconds$jobs_max$runs$rss_mb$timeout" in
  *[!0-9]*) echo "usage: $0 [SECONDS] (JOBS, RUNS, RSS_MB, TIMEOUT are numbers)" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz missing: cargo install cargo-fuzz --locked" >&2; exit 2; }

campaign="$root/target/fuzz-campaign/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$campaign"
ln -sfn "$campaign" "$root/target/fuzz-campaign/latest"

echo "building every fuzz target with AddressSanitizer (log: $campaign/build.log)"
if ! cargo +nightly fuzz build --sanitizer address >"$campaign/build.log" 2>&1; then
  tail -n 40 "$campaign/build.log" >&2
  echo "fuzz build failed" >&2
  exit 1
fi
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
bin_dir="$root/fuzz/target/$triple/release"

if [ -n "${TARGETS:-}" ]; then
  read -r -a targets <<<"$TARGETS"
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
[ "${#targets[@]}" -gt 0 ] || { echo "no fuzz targets" >&2; exit 1; }

# Runs one target on a work copy of its corpus; records the exit status.
run_target() {
  local target=$1 dir="$campaign/$1"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  if [ -d "fuzz/corpus/$target" ]; then
    cp -R "fuzz/corpus/$target/." "$dir/corpus/"
  fi
  local rc=0
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_odr_violation=0}" \
    "$bin_dir/$target" "$dir/corpus" \
    -max_total_time="$seconds" -runs="$runs" \
    -rss_limit_mb="$rss_mb" -malloc_limit_mb="$rss_mb" -timeout="$timeout" \
    -detect_leaks=1 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" >"$dir/log" 2>&1 || rc=$?
  echo "$rc" >"$dir/rc"
}

echo "running ${#targets[@]} targets, $jobs_max at a time, each ${seconds}s or $runs runs"
for target in "${targets[@]}"; do
  [ -x "$bin_dir/$target" ] || { echo "no binary for $target in $bin_dir" >&2; exit 1; }
done
pids=()
running=0
# On an interrupt, stop the targets still running (each job and its fuzzer).
stop_jobs() {
  for pid in "${pids[@]}"; do
    pkill -TERM -P "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
  done
  exit 130
}
trap stop_jobs INT TERM
for target in "${targets[@]}"; do
  if [ "$running" -ge "$jobs_max" ]; then
    wait -n || true # run_target records its own status
    running=$((running - 1))
  fi
  echo "  start $target ($(date -u +%H:%M:%S))"
  run_target "$target" &
  pids+=("$!")
  running=$((running + 1))
done
for pid in "${pids[@]}"; do
  wait "$pid" || true
done

if [ "${CMIN:-0}" = 1 ]; then
  for target in "${targets[@]}"; do
    dir="$campaign/$target"
    [ "$(cat "$dir/rc" 2>/dev/null)" = 0 ] || { echo "  $target: not minimised (the run failed)"; continue; }
    echo "  minimising $target into fuzz/corpus/$target"
    if ! cargo +nightly fuzz cmin --sanitizer address "$target" "$dir/corpus" \
      -- -rss_limit_mb="$rss_mb" -timeout="$timeout" >"$dir/cmin.log" 2>&1; then
      echo "  $target: cmin failed, see $dir/cmin.log"
      continue
    fi
    committed="fuzz/corpus/$target"
    mkdir -p "$committed"
    # Named seeds stay; hash-named units (libFuzzer's) are replaced.
    find "$committed" -maxdepth 1 -type f -regextype posix-extended \
      -regex '.*/[0-9a-f]{40}' -delete
    declare -A seeds=()
    while IFS= read -r -d '' seed; do
      seeds[$(sha1sum "$seed" | cut -d' ' -f1)]=1
    done < <(find "$committed" -maxdepth 1 -type f -print0)
    while IFS= read -r -d '' unit; do
      sum=$(sha1sum "$unit" | cut -d' ' -f1)
      [ -n "${seeds[$sum]:-}" ] || cp "$unit" "$committed/$sum"
    done < <(find "$dir/corpus" -maxdepth 1 -type f -print0)
    unset seeds
  done
fi

# The last value of `key: N` on a libFuzzer status line.
status_value() {
  grep -aE '^#[0-9]+' "$1" | grep -aoE " $2: [0-9]+" | tail -n 1 | grep -oE '[0-9]+' || true
}

summary="$campaign/summary.txt"
found_any=0
{
  printf '%-26s %12s %7s %8s %16s  %s\n' target executions cov ft "corpus" found
  for target in "${targets[@]}"; do
    dir="$campaign/$target"
    log="$dir/log"
    execs=$(grep -aoE 'stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1 || true)
    [ -n "$execs" ] || execs=$(grep -aoE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#' || true)
    cov=$(status_value "$log" cov)
    ft=$(status_value "$log" ft)
    files=$(find "$dir/corpus" -maxdepth 1 -type f | wc -l)
    bytes=$(find "$dir/corpus" -maxdepth 1 -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
    found=()
    while IFS= read -r artifact; do
      found+=("$(basename "$artifact" | sed -E 's/-.*//'): $artifact")
    done < <(find "$dir/artifacts" -maxdepth 1 -type f | sort)
    rc=$(cat "$dir/rc" 2>/dev/null || echo "unknown")
    if [ "${#found[@]}" -gt 0 ] || [ "$rc" != 0 ]; then
      found_any=1
    fi
    [ "${#found[@]}" -gt 0 ] || found=("$([ "$rc" = 0 ] && echo nothing || echo "exit $rc, no artifact: see $log")")
    printf '%-26s %12s %7s %8s %16s  %s\n' "$target" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
      "$files/${bytes}B" "${found[0]}"
    for extra in "${found[@]:1}"; do
      printf '%-26s %12s %7s %8s %16s  %s\n' "" "" "" "" "" "$extra"
    done
  done
} | tee "$summary"
echo "logs, work corpora and artifacts: $campaign (table: $summary)"
exit "$found_any"
