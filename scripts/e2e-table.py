#!/usr/bin/env python3
"""Markdown table of scripts/e2e-bench.sh results: per cell, each server's messages/s and
server CPU per message, and the ratio to the first server listed (the baseline).

    scripts/e2e-table.py target/e2e/results.jsonl [BASELINE]   (BASELINE default: example)
"""
import json
import sys


def main() -> None:
    path = sys.argv[1]
    baseline = sys.argv[2] if len(sys.argv) > 2 else "example"
    rows, servers = load(path)
    cells = {}
    for r in rows:
        key = (r["connections"], r["size"], r["inflight"])
        cells.setdefault(key, {})[r["label"]] = r
    others = [s for s in servers if s != baseline]
    head = ["conns", "size", "in flight", f"{baseline} msgs/s", f"{baseline} CPU µs/msg"]
    for s in others:
        head += [f"{s} ×", f"{s} CPU ×"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for key in sorted(cells):
        cell = cells[key]
        base = cell.get(baseline)
        if base is None:
            continue
        line = [str(key[0]), size_label(key[1]), str(key[2]), f"{base['msgs_per_s']:,}",
                cpu(base)]
        for s in others:
            r = cell.get(s)
            if r is None or not base["msgs_per_s"]:
                line += ["–", "–"]
                continue
            line.append(f"{r['msgs_per_s'] / base['msgs_per_s']:.2f}")
            bc, rc = base.get("server_cpu_us_per_msg"), r.get("server_cpu_us_per_msg")
            line.append(f"{rc / bc:.2f}" if bc and rc else "–")
        print("| " + " | ".join(line) + " |")
    print()
    print(f"× columns: the server's messages/s (or CPU µs per message) over {baseline}'s in the "
          "same cell; msgs/s below 1 and CPU above 1 mean the peer is behind.")


def load(path: str) -> tuple[list, list]:
    """The JSON lines of `path` and the server labels in the order they first appear."""
    rows = [json.loads(line) for line in open(path) if line.strip().startswith("{")]
    servers = []
    for r in rows:
        if r["label"] not in servers:
            servers.append(r["label"])
    return rows, servers


def size_label(n: int) -> str:
    return f"{n // 1024} KiB" if n >= 1024 else f"{n} B"


def cpu(r: dict) -> str:
    c = r.get("server_cpu_us_per_msg")
    return f"{c:.2f}" if c is not None else "–"


if __name__ == "__main__":
    main()
