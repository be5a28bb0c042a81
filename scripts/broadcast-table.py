#!/usr/bin/env python3
"""Markdown table of scripts/broadcast-bench.sh results: per cell (room size x payload), each
server's deliveries/s, emit-to-receipt p50/p99 and server CPU per delivery, with ratios to the
baseline server.

    scripts/broadcast-table.py target/e2e/broadcast.jsonl [BASELINE]   (default: example)
"""
import importlib.util
import sys
from pathlib import Path

# The row loading and size labels of scripts/e2e-table.py (a file name Python cannot import).
_spec = importlib.util.spec_from_file_location("e2e_table", Path(__file__).with_name("e2e-table.py"))
e2e_table = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e_table)
size_label = e2e_table.size_label


def main() -> None:
    path = sys.argv[1]
    baseline = sys.argv[2] if len(sys.argv) > 2 else "example"
    rows, servers = e2e_table.load(path)
    cells = {}
    for r in rows:
        cells.setdefault((r["clients"], r["size"]), {})[r["label"]] = r
    others = [s for s in servers if s != baseline]
    head = ["room", "payload", f"{baseline} deliveries/s", "p50 / p99 µs", "CPU ns/delivery"]
    for s in others:
        head += [f"{s} deliveries/s", f"{s} CPU ns", f"{baseline} ÷ {s}", f"CPU {s} ÷ {baseline}"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for key in sorted(cells):
        cell = cells[key]
        base = cell.get(baseline)
        if base is None:
            continue
        line = [str(key[0]), size_label(key[1]), rate(base),
                f"{base['p50_us']} / {base['p99_us']}", cpu(base)]
        for s in others:
            r = cell.get(s)
            if r is None:
                line += ["–"] * 4
                continue
            line += [rate(r), cpu(r)]
            line.append(f"{base['deliveries_per_s'] / r['deliveries_per_s']:.2f}"
                        if r["deliveries_per_s"] else "–")
            bc, rc = base.get("server_cpu_ns_per_delivery"), r.get("server_cpu_ns_per_delivery")
            line.append(f"{rc / bc:.2f}" if bc and rc else "–")
        print("| " + " | ".join(line) + " |")
    print()
    print(f"{baseline} ÷ X above 1: {baseline} delivers more per second; CPU X ÷ {baseline} "
          f"above 1: X spends more server CPU per delivery. ✗ marks a server that lost or "
          "repeated a broadcast; a server that reordered some is listed below the table.")
    for key in sorted(cells):
        for s, r in cells[key].items():
            if r.get("reordered"):
                print(f"- {s}, room {key[0]}, {size_label(key[1])}: {r['reordered']:,} of "
                      f"{r['broadcasts'] * key[0]:,} deliveries overtook an earlier broadcast.")


def rate(r: dict) -> str:
    mark = "" if r.get("ok") else " ✗"
    return f"{r['deliveries_per_s']:,.0f}{mark}"


def cpu(r: dict) -> str:
    c = r.get("server_cpu_ns_per_delivery")
    return f"{c:.0f}" if c is not None else "–"


if __name__ == "__main__":
    main()
