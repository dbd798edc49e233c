#!/usr/bin/env bash
# vtd dmar build / decode --json from the command line: exit codes, the
# FILE:LINE:COLUMN error form, JSON that python's json module reads with the
# values the platform file gave, and the same table through stdin/stdout.
set -euo pipefail
VTD=$1
SRC=$(cd "$(dirname "$0")/.." && pwd)
d=$(mktemp -d); trap 'rm -rf "$d"' EXIT
cd "$d"
fail() { echo "dmar_cli: $*"; exit 1; }

"$VTD" dmar build "$SRC/examples/platform.dmar" -o t.aml
"$VTD" dmar build - -o - < "$SRC/examples/platform.dmar" > t2.aml
cmp t.aml t2.aml || fail "stdin/stdout build differs"
"$VTD" dmar decode t.aml > /dev/null

printf 'dmar haw=39\ndrhd base=0x1000\n  scope endpoint path=1f.9\n' > bad.txt
set +e
"$VTD" dmar build bad.txt -o x.aml 2> err.txt; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "bad platform: exit $rc, want 2"
grep -q '^bad.txt:3:26: error: ' err.txt || { cat err.txt; fail "no FILE:LINE:COL error"; }
[ ! -e x.aml ] || fail "output written despite the error"
set +e
"$VTD" dmar build bad.txt 2>/dev/null; rc1=$?
"$VTD" dmar build 2>/dev/null; rc2=$?
"$VTD" dmar decode --bogus t.aml 2>/dev/null; rc3=$?
head -c 40 t.aml > short.aml
"$VTD" dmar decode short.aml 2> err2.txt; rc4=$?
set -e
[ "$rc1$rc2$rc3$rc4" = 2222 ] || fail "usage errors exit $rc1 $rc2 $rc3 $rc4, want 2 each"
grep -q 'byte 40 (0x28)' err2.txt || fail "decode error without byte offset"

"$VTD" dmar decode --json t.aml > t.json
python3 - t.json <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
assert t["signature"] == "DMAR" and t["address_width"] == 46 and t["haw"] == 45, t
assert t["intr_remap"] and t["dma_ctrl_platform_opt_in"] and not t["x2apic_opt_out"]
assert t["oem_table_id"].rstrip() == "EXAMPLE"
s = t["structures"]
kinds = [x["kind"] for x in s]
assert kinds == ["DRHD", "DRHD", "RMRR", "ATSR", "RHSA", "RHSA", "ANDD"], kinds
assert s[0]["register_base"] == "0xfed90000" and not s[0]["include_pci_all"]
assert s[1]["include_pci_all"]
io = s[1]["scopes"][0]
assert io["kind"] == "ioapic" and io["enumeration_id"] == 2 and io["bus"] == 0xf0
assert io["path"] == [{"device": 0x1f, "function": 0}]
assert s[2]["limit"] == "0x7c7fffff" and len(s[2]["scopes"][1]["path"]) == 2
assert s[3]["scopes"][0]["kind"] == "bridge" and not s[3]["all_ports"]
assert s[5]["proximity"] == 1
assert s[6]["name"] == "\\_SB.PCI0.I2C0" and s[6]["acpi_device"] == 1
assert t["length"] == sum(x["length"] for x in s) + 48
print("dmar_cli: JSON ok,", len(s), "structures")
PY
echo "dmar_cli: ok"
