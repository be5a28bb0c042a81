#!/usr/bin/env python3
"""Checks an Autobahn|Testsuite report: prints the counts per behaviour and exits 1 on any case
that is not OK / INFORMATIONAL / UNIMPLEMENTED, whose closing behaviour is not OK, or that did
not run. Used by scripts/autobahn.sh (server role) and scripts/autobahn-client.sh (client role).

    autobahn-report.py INDEX_JSON EXPECTED_CASES LABEL   (EXPECTED_CASES may be empty)
"""
import json
import sys

index, expected, label = sys.argv[1], sys.argv[2], sys.argv[3]
data = json.load(open(index)).get("socketwire", {})
expected = int(expected) if expected else len(data)
kinds = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED")
counts = dict((k, 0) for k in kinds)
bad = []
for cid, r in sorted(data.items(), key=lambda kv: [int(p) for p in kv[0].split(".")]):
    b, c = r["behavior"], r["behaviorClose"]
    counts[b if b in counts else "FAILED"] += 1
    if b not in ("OK", "INFORMATIONAL", "UNIMPLEMENTED") or c not in ("OK", "INFORMATIONAL"):
        bad.append("%s (%s, close %s)" % (cid, b, c))
missing = expected - len(data)
print("%s: %d cases: %s" % (label, len(data), ", ".join("%d %s" % (counts[k], k) for k in kinds)))
if missing > 0:
    print("%s: %d cases did not run" % (label, missing))
if bad:
    print("%s: not OK: %s" % (label, "; ".join(bad[:60])))
ok = not bad and missing <= 0
print("%s: %s" % (label, "PASS" if ok else "FAIL"))
sys.exit(0 if ok else 1)
