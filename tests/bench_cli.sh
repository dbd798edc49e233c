#!/usr/bin/env bash
# vtd bench as a command: --list names every case, --json is valid JSON with
# one row per case and thread count, the table has its header and rows, and
# bad usage exits 2 with a message.  Tiny iteration counts: this checks the
# command, not the speed (benchmarks are programs, not timed tests).
set -euo pipefail
VTD=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "bench_cli: $*" >&2; exit 1; }

"$VTD" bench --list >"$out/list"
for c in hit walk miss irq post iova-fast iova-batch iova-tree map4k-strict map4k-deferred map2m-strict map2m-deferred \
    map4k-strict-1unit map4k-deferred-1unit map2m-strict-1unit map2m-deferred-1unit; do
    grep -q "^$c " "$out/list" || fail "--list lacks $c"
done

"$VTD" bench --case hit,iova --threads 2 --iters 2000 --reps 1 --json >"$out/j" 2>"$out/progress"
python3 - "$out/j" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rows = d["results"]
cases = sorted({r["case"] for r in rows})
assert cases == ["hit", "iova-batch", "iova-fast", "iova-tree"], cases
for c in cases:
    assert sorted(r["threads"] for r in rows if r["case"] == c) == [1, 2], c
for r in rows:
    assert r["ns_per_op"] > 0 and r["mops_total"] > 0, r
    assert r["ns_per_op_median"] >= r["ns_per_op"], r
    assert (r["target_ns"] is None) == (r["target_met"] is None), r
    if r["threads"] == 1:
        assert abs(r["speedup"] - 1) < 1e-9, r
assert d["options"] == {"threads": 2, "iters": 2000, "reps": 1, "warmup": True}, d["options"]
assert any(n["case"] == "iova-fast" and "fast allocs" in n["text"] for n in d["notes"]), d["notes"]
PY
grep -q '^vtd bench: \[1/4\] hit' "$out/progress" || fail "no progress on stderr"

"$VTD" bench --case=walk --threads=1 --iters=1000 --reps=1 >"$out/t" 2>/dev/null
grep -q '^case .*ns/op/thread *median' "$out/t" || fail "table header missing"
[ "$(grep -c '^walk ' "$out/t")" = 1 ] || fail "expected one walk row"

# the driver cases run on 1 and 2 threads (a unit each, or one shared) and
# check their set-up (0 diagnostics)
"$VTD" bench --case drv --threads 2 --iters 300 --reps 3 --json >"$out/d" 2>/dev/null
python3 - "$out/d" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rows = d["results"]
names = [a + s for s in ("", "-1unit") for a in ("map4k-strict", "map4k-deferred", "map2m-strict", "map2m-deferred")]
assert sorted(r["case"] for r in rows) == sorted(names * 2), rows
for n in names:
    assert sorted(r["threads"] for r in rows if r["case"] == n) == [1, 2], n
assert all(r["operation"] == "map+unmap" for r in rows), rows
assert len(d["notes"]) == 8 and all(n["text"].endswith("unit: 0 diagnostics") for n in d["notes"]), d["notes"]
assert all(("one unit" in n["text"]) == n["case"].endswith("-1unit") for n in d["notes"]), d["notes"]
PY

expect2() {
    if "$VTD" bench "$@" >/dev/null 2>"$out/err"; then fail "bench $* succeeded"; else rc=$?; fi
    [ "$rc" = 2 ] || fail "bench $*: exit $rc, not 2"
    [ -s "$out/err" ] || fail "bench $*: no message"
}
expect2 --case nosuch
expect2 --threads 0
expect2 --threads 17
expect2 --reps 1001
expect2 --iters 12x
expect2 --iters
expect2 --json=1
expect2 --frobnicate
echo "bench_cli: ok"
