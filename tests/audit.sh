#!/usr/bin/env bash
# vtd audit on images written here table by table (independent of the
# model): a legacy 4-level unit with a 2 MiB superpage, a pass-through
# device, a device that can write its own page table and one mapping into
# 0xFEE00000; JSON that python reads; and the input errors (exit 2, with a
# location, no crash): truncated image, root table outside the image, bad
# register-file line.
set -euo pipefail
VTD=$1
TEST=audit
. "$(dirname "$0")/image_lib.sh"

# img.bin: sparse 1 MiB image, base 0.
#  root 0x10000: bus 0 -> context 0x11000
#  00:01.0 DID 1 TT=00 SLPTPTR 0x20000: IOVA 0x200000 -> PA 0x600000 2 MiB RW
#          (superpage), IOVA 0x400000 -> PA 0x50000 4 KiB R
#  00:02.0 DID 2 TT=10 pass-through
#  00:03.0 DID 3 TT=00 SLPTPTR 0x30000: IOVA 0 -> PA 0x33000 RW (its own
#          page table), IOVA 0x1000 -> PA 0xFEE00000 W (interrupt range)
write_image img.bin 0x100000 <<'PY'
q(0x10000, 0x11000 | 1, 0)                     # root entry bus 0
def ctx(devfn, tt, slpt, did):
    q(0x11000 + 16 * devfn, slpt | (tt << 2) | 1, 2 | (did << 8))   # AW=2: 4-level
ctx(0x08, 0, 0x20000, 1)
ctx(0x10, 2, 0, 2)
ctx(0x18, 0, 0x30000, 3)
R, W, PS = 1, 2, 0x80
q(0x20000, 0x21000 | R | W)                    # PML4[0]
q(0x21000, 0x22000 | R | W)                    # PDPT[0]
q(0x22000 + 8 * 1, 0x600000 | PS | R | W)      # PD[1]: 2 MiB superpage
q(0x22000 + 8 * 2, 0x23000 | R | W)            # PD[2] -> PT
q(0x23000, 0x50000 | R)                        # PT[0]: IOVA 0x400000
q(0x30000, 0x31000 | R | W)
q(0x31000, 0x32000 | R | W)
q(0x32000, 0x33000 | R | W)
q(0x33000, 0x33000 | R | W)                    # IOVA 0 -> its own PT
q(0x33000 + 8, 0xFEE00000 | W)                 # IOVA 0x1000 -> 0xFEE00000
PY
# CAP: SAGAW 4-level, MGAW 47, SLLPS 2 MiB, ND 16 bit; ECAP: PT; TES|RTPS
cat > regs.txt <<'R'
# test unit
VER 10
CAP 0x4002f0406
ECAP 0x40
GSTS 0xc0000000
RTADDR 0x10000
R

"$VTD" audit --regs regs.txt img.bin > out.txt || fail "audit exit $?"
has() { grep -qF -- "$1" out.txt || { cat out.txt; fail "text output lacks: $1"; }; }
has '00:01.0  domain 1  second-level 4-level at 0x20000'
has '0x0000000000200000-0x00000000003fffff -> 0x0000000000600000-0x00000000007fffff  RW-  2 MiB'
has '0x0000000000400000-0x0000000000400fff -> 0x0000000000050000-0x0000000000050fff  R--  4 KiB'
has '00:02.0  domain 2  pass-through: all physical memory, RW'
has 'pass-through devices: 00:02.0'
has '00:03.0 can write its own second-level page table at 0x33000 (IOVA 0x0)'
has '00:03.0 maps IOVA 0x1000 to physical 0xfee00000-0xfee00fff in the interrupt range'
# 00:01.0 is clean: no anomaly names it
! sed -n '/^anomalies/,$p' out.txt | grep -q '00:01\.0' || fail "anomaly for the clean device 00:01.0"

set +e
"$VTD" audit --regs regs.txt --fail-on-anomaly img.bin > /dev/null; rc=$?
set -e
[ "$rc" -eq 1 ] || fail "--fail-on-anomaly: exit $rc, want 1"

"$VTD" audit --regs regs.txt --format=json img.bin > out.json
python3 -m json.tool out.json > /dev/null || fail "JSON does not parse"
python3 - out.json <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
assert t["mode"] == "legacy" and t["translation"] and t["complete"], t
dev = {d["sid"]: d for d in t["devices"]}
assert set(dev) == {"00:01.0", "00:02.0", "00:03.0"}, dev
assert dev["00:02.0"]["type"] == "pass-through" and dev["00:02.0"]["space"] is None
assert [dev[s]["domain"] for s in sorted(dev)] == [1, 2, 3]
sp = t["spaces"][dev["00:01.0"]["space"]]
assert sp["levels"] == 4 and sp["root"] == "0x20000"
assert sp["ranges"] == [
    {"iova": "0x200000", "pa": "0x600000", "size": "0x200000", "perm": "RW-"},
    {"iova": "0x400000", "pa": "0x50000", "size": "0x1000", "perm": "R--"}], sp["ranges"]
kinds = sorted((a["kind"], a["sid"]) for a in t["anomalies"])
assert kinds == [("interrupt-range", "00:03.0"), ("pass-through", "00:02.0"),
                 ("table-write", "00:02.0"), ("table-write", "00:03.0")], kinds
w = [a for a in t["anomalies"] if a["kind"] == "table-write" and a["sid"] == "00:03.0"][0]
assert w["pa"] == "0x33000" and w["addr"] == "0x0", w
PY

# Page tables cut off: reported as unreadable, not an error.
cp img.bin cut.bin; truncate -s 139264 cut.bin        # 0x22000: PD of 00:01.0 missing
"$VTD" audit --regs regs.txt cut.bin > cut.txt || fail "cut page tables: exit $?"
grep -qF 'unreadable         SL PD table at 0x22000 is outside the image' cut.txt ||
    { cat cut.txt; fail "no unreadable anomaly"; }

# Input errors: exit 2 with a location, never a crash.
err2() {   # err2 WANT-IN-STDERR ARGS...
    local want=$1; shift
    set +e; "$VTD" audit "$@" > /dev/null 2> err.txt; local rc=$?; set -e
    [ "$rc" -eq 2 ] || { cat err.txt; fail "$*: exit $rc, want 2"; }
    grep -qF -- "$want" err.txt || { cat err.txt; fail "$*: stderr lacks: $want"; }
}
cp img.bin short.bin; truncate -s 67584 short.bin     # 0x10800: root table cut in half
err2 'short.bin: root table at 0x10000 (RTADDR) is outside the image [0x0, 0x10800)' \
    --regs regs.txt short.bin
sed 's/^RTADDR 0x10000/RTADDR 0x200000/' regs.txt > far.txt
err2 'img.bin: root table at 0x200000 (RTADDR) is outside the image [0x0, 0x100000)' \
    --regs far.txt img.bin
err2 'root table at 0x10000 (RTADDR) is outside the image [0x200000, 0x300000)' \
    --regs regs.txt --base 0x200000 img.bin
sed 's/^ECAP 0x40/ECAP zz/' regs.txt > bad1.txt
err2 "bad1.txt:4:6: bad value 'zz' for ECAP (want hex)" --regs bad1.txt img.bin
printf 'CAP 0x4002f0406\nECAP 0x40\nGSTS 0xc0000000\nBOGUS 1\n' > bad2.txt
err2 "bad2.txt:4:1: unknown register 'BOGUS'" --regs bad2.txt img.bin
grep -v RTADDR regs.txt > bad3.txt
err2 "RTADDR missing (needed: CAP ECAP GSTS RTADDR)" --regs bad3.txt img.bin
: > empty.bin
err2 'empty.bin: empty or not a regular file' --regs regs.txt empty.bin
err2 'IMAGE is required' --regs regs.txt
err2 '--regs FILE is required' img.bin
err2 'unknown option' --regs regs.txt --bogus img.bin
echo "audit: ok"
