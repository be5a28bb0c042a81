#!/usr/bin/env python3
"""Turn one criterion run into Markdown tables of ratios, socketwire against its peers.

Reads target/criterion/**/new/benchmark.json and estimates.json (the latest run of
each benchmark), whose ids are `<group>/<impl>/<size>`, and prints for every group
one row per size:

- socketwire's time and throughput;
- for every other implementation, how many times faster socketwire is
  (peer time / socketwire time: above 1 means socketwire is faster);
- for socketwire variants (`socketwire-text`, ...), their time relative to plain
  socketwire at the same size (variant time / socketwire time: 1.00 means no cost).

Only compare numbers from one run on one machine.

    cargo bench --bench ws -- --warm-up-time 1 --measurement-time 3
    python3 scripts/bench-table.py                 # every group
    python3 scripts/bench-table.py --group decode  # one group
"""

import argparse
import json
import sys
from pathlib import Path

BASELINE = "socketwire"


def load(criterion_dir):
    """{group: {impl: {size: (seconds, throughput)}}} from the latest run."""
    results = {}
    for bench_file in sorted(criterion_dir.glob("**/new/benchmark.json")):
        estimates_file = bench_file.with_name("estimates.json")
        if not estimates_file.exists():
            continue
        bench = json.loads(bench_file.read_text())
        estimates = json.loads(estimates_file.read_text())
        # The time criterion reports: the slope of linear sampling when it has one.
        estimate = estimates.get("slope") or estimates["mean"]
        seconds = estimate["point_estimate"] * 1e-9
        group = bench.get("group_id")
        impl = bench.get("function_id")
        size = bench.get("value_str")
        if not (group and impl and size):
            continue
        results.setdefault(group, {}).setdefault(impl, {})[size] = (
            seconds,
            bench.get("throughput"),
        )
    return results


def size_key(size):
    try:
        return (0, int(size))
    except ValueError:
        return (1, size)


def human_size(size):
    try:
        n = int(size)
    except ValueError:
        return size
    for unit, factor in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= factor and n % factor == 0:
            return f"{n // factor} {unit}"
    return f"{n} B"


def human_time(seconds):
    for unit, factor in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= factor:
            return f"{seconds / factor:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def human_rate(seconds, throughput):
    if not throughput:
        return ""
    if "Bytes" in throughput:
        rate = throughput["Bytes"] / seconds
        return f"{rate / (1 << 30):.3g} GiB/s"
    if "Elements" in throughput:
        rate = throughput["Elements"] / seconds
        if rate >= 1e6:
            return f"{rate / 1e6:.3g} M/s"
        return f"{rate / 1e3:.3g} K/s"
    return ""


def table(group, impls):
    base = impls.get(BASELINE, {})
    variants = sorted(i for i in impls if i.startswith(BASELINE + "-"))
    peers = sorted(i for i in impls if i != BASELINE and i not in variants)
    sizes = sorted({s for runs in impls.values() for s in runs}, key=size_key)
    header = ["size", BASELINE] + [f"vs {p}" for p in peers] + [f"{v} / {BASELINE}" for v in variants]
    lines = [f"### {group}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for size in sizes:
        row = [human_size(size)]
        if size in base:
            seconds, throughput = base[size]
            rate = human_rate(seconds, throughput)
            row.append(f"{human_time(seconds)}" + (f" ({rate})" if rate else ""))
        else:
            row.append("—")
        for peer in peers:
            if size in impls[peer] and size in base:
                row.append(f"{impls[peer][size][0] / base[size][0]:.2f}×")
            else:
                row.append("—")
        for variant in variants:
            if size in impls[variant] and size in base:
                row.append(f"{impls[variant][size][0] / base[size][0]:.2f}×")
            else:
                row.append("—")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--criterion-dir",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "target" / "criterion",
        help="criterion's output directory (default: target/criterion)",
    )
    parser.add_argument("--group", action="append", help="only these groups (repeatable)")
    args = parser.parse_args()
    results = load(args.criterion_dir)
    if not results:
        sys.exit(f"no criterion results under {args.criterion_dir}")
    groups = args.group or sorted(results)
    print(
        "Ratios are peer time / socketwire time (above 1: socketwire is faster); "
        "variant columns are variant time / socketwire time.\n"
    )
    for group in groups:
        if group not in results:
            sys.exit(f"no results for group {group!r}")
        if BASELINE not in results[group]:
            continue
        print(table(group, results[group]))
        print()


if __name__ == "__main__":
    main()
