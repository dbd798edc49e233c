#!/usr/bin/env bash
# vtd walk --image IMG --regs REGS: the model unit built from a register file
# and walking a memory image written here table by table (python3, sparse
# file), in legacy mode (text register file) and scalable mode (JSON register
# file).  Checks: hits (cross-checked against vtd audit's independent walker
# on the same image), faults with their reason, reads outside the image as the
# unit's read-error faults, --json parsed by python3, --svg well-formed XML,
# the image file never written, masked CAP/ECAP bits warned about by name,
# and the input errors (exit 2, naming the file or option).
set -euo pipefail
VTD=$1
TEST=walk_image
. "$(dirname "$0")/image_lib.sh"

# img.bin: sparse 8 MiB, base 0.
# Legacy (RTADDR 0x10000): root bus 0 -> context 0x11000
#   00:01.0 DID 1 SL 4-level 0x20000: IOVA 0x200000 -> 0x600000 (2 MiB RW),
#           IOVA 0x400000 -> 0x50000 (4 KiB R)
#   00:04.0 DID 4 SL 4-level 0x30000 whose PML4[0] names 0x5000000: outside
#   00:05.0 context not present
# Scalable (RTADDR 0x40000 | TTM 01): root bus 0 LCTP 0x41000
#   00:02.0 PASIDE, RID_PASID 0, directory 0x42000 -> PASID table 0x43000
#     PASID 0: second level (PGTT 010), the tables of 00:01.0, DID 5
#     PASID 2: first level (PGTT 001) 4-level 0x60000: VA 0x400000 -> 0x700000 (4 KiB RW user)
write_image img.bin 0x800000 <<'PY'
R, W, PS = 1, 2, 0x80
q(0x10000, 0x11000 | 1, 0)
def ctx(devfn, tt, slpt, did):
    q(0x11000 + 16 * devfn, slpt | (tt << 2) | 1, 2 | (did << 8))   # AW=2: 4-level
ctx(0x08, 0, 0x20000, 1)
ctx(0x20, 0, 0x30000, 4)
q(0x20000, 0x21000 | R | W)
q(0x21000, 0x22000 | R | W)
q(0x22000 + 8 * 1, 0x600000 | PS | R | W)
q(0x22000 + 8 * 2, 0x23000 | R | W)
q(0x23000, 0x50000 | R)
q(0x30000, 0x5000000 | R | W)                  # beyond the 8 MiB image
# scalable mode
q(0x40000, 0x41000 | 1, 0)                     # LP: devfn 0-127
q(0x41000 + 32 * 0x10, 0x42000 | (1 << 3) | 1, 0, 0, 0)   # PASIDE, PDTS 0, RID_PASID 0
q(0x42000, 0x43000 | 1)
def pe(pasid, q0, q1, q2):
    q(0x43000 + 64 * pasid, q0, q1, q2)
pe(0, 0x20000 | (2 << 6) | (2 << 2) | 1, 5, 0)             # SL, AW 4-level, DID 5
pe(2, (1 << 6) | 1, 6 | 1 << 23, 0x60000)                  # FL 4-level (FSPM 0), PWSNP
q(0x60000, 0x61000 | 7)
q(0x61000, 0x62000 | 7)
q(0x62000 + 8 * 2, 0x63000 | 7)
q(0x63000, 0x700000 | 7)                       # VA 0x400000
PY
sum0=$(md5sum < img.bin)

# legacy: CAP ND 6, SAGAW 4-level, MGAW 48, FRO 0x400, SLLPS 2 MiB; ECAP PT, IRO 0x500
cat > legacy.txt <<'R'
VER 10
CAP 0x4402f0406
ECAP 0x5040
GSTS 0xc0000000
RTADDR 0x10000
R
# scalable: ECAP QI PT SC IRO PSS=19 PASID SMTS SLTS FLTS SMPWCS RPS, CAP FL1GP
python3 - sm.json <<'PY'
import json, sys
ecap = 2 | 1 << 6 | 1 << 7 | 0x50 << 8 | 19 << 35 | 1 << 40 | 1 << 43 | 1 << 46 | 1 << 47 | 1 << 48 | 1 << 49
cap = 0x4402f0406 | 1 << 56
json.dump({"VER": "60", "CAP": hex(cap), "ECAP": hex(ecap), "GSTS": 0xc0000000,
           "RTADDR": "0x40400", "HAW": "46"}, open(sys.argv[1], "w"))
PY

walk() {   # walk WANT-STATUS ARGS... : output in out.txt, stderr in err.txt
    local want=$1; shift
    set +e; "$VTD" walk "$@" > out.txt 2> err.txt; local rc=$?; set -e
    [ "$rc" -eq "$want" ] || { cat out.txt err.txt; fail "walk $*: exit $rc, want $want"; }
}
has() { grep -qF -- "$1" "${2:-out.txt}" || { cat out.txt err.txt; fail "${2:-out.txt} lacks: $1"; }; }

# ---- legacy hits and faults ----
walk 0 --image img.bin --regs legacy.txt --sid 00:01.0 --addr 0x200123
has 'request: sid 00:01.0 (bus 0x00, devfn 0x08)  addr 0x0000000000200123  read  untranslated'
has 'step 2: context entry'
has 'table 0x0000000000022000 (SL PD)  index 1 (0x1) = IOVA[29:21]  entry 0x0000000000022008'
has 'result: OK  HPA 0x0000000000600123  page 2 MiB  perm RW'
[ ! -s err.txt ] || { cat err.txt; fail "a clean register file gives warnings"; }
# the same translation from vtd audit's own walker (independent of the model)
"$VTD" audit --regs legacy.txt img.bin > audit.txt || fail "audit exit $?"
has '0x0000000000200000-0x00000000003fffff -> 0x0000000000600000-0x00000000007fffff  RW-  2 MiB' audit.txt
has '0x0000000000400000-0x0000000000400fff -> 0x0000000000050000-0x0000000000050fff  R--  4 KiB' audit.txt
walk 0 --image img.bin --regs legacy.txt --sid 00:01.0 --addr 0x400abc
has 'result: OK  HPA 0x0000000000050abc  page 4 KiB  perm R'
walk 1 --image img.bin --regs legacy.txt --sid 00:01.0 --addr 0x400000 --write
has 'result: FAULT 05h  write request to a page without write permission'
walk 1 --image img.bin --regs legacy.txt --sid 00:05.0 --addr 0x1000
has 'result: FAULT 02h'
# beyond the 48-bit address width of the context entry
walk 1 --image img.bin --regs legacy.txt --sid 00:01.0 --addr 0x1000000000000
has 'result: FAULT 04h'
# reads outside the image: the unit's read-error faults, not a crash
walk 1 --image img.bin --regs legacy.txt --sid 00:04.0 --addr 0x1000
has 'READ ERROR'
has 'result: FAULT 07h'
sed 's/^RTADDR 0x10000/RTADDR 0x900000/' legacy.txt > far.txt
walk 1 --image img.bin --regs far.txt --sid 00:01.0 --addr 0x1000
has 'READ ERROR'
has 'result: FAULT 08h'
# --base moves the image: the root table is then below it
walk 1 --image img.bin --regs legacy.txt --base 0x100000000 --sid 00:01.0 --addr 0x1000
has 'result: FAULT 08h'
# translation disabled in GSTS: the unit passes the address through
sed 's/^GSTS 0xc0000000/GSTS 0x40000000/' legacy.txt > teoff.txt
walk 0 --image img.bin --regs teoff.txt --sid 00:01.0 --addr 0x1234
has 'result: OK  HPA 0x0000000000001234'

# ---- JSON and SVG ----
walk 0 --image img.bin --regs legacy.txt --sid 00:01.0 --addr=0x200123 --json
python3 - out.txt <<'PY' || fail "--json"
import json, sys
t = json.load(open(sys.argv[1]))
assert t["request"]["sid"] == "00:01.0", t["request"]
kinds = [s["kind"] for s in t["steps"]]
assert kinds[:2] == ["root entry", "context entry"] and len(kinds) == 5, kinds
assert t["steps"][1]["fields"]["DID"] == 1 and t["steps"][1]["fields"]["SLPTPTR"] == "0x20000"
assert t["result"]["status"] == "ok" and t["result"]["hpa"] == "0x600123", t["result"]
assert t["result"]["page_size"] == 2 << 20
PY
walk 1 --image img.bin --regs legacy.txt --sid 00:04.0 --addr 0x1000 --json
python3 - out.txt <<'PY' || fail "--json fault"
import json, sys
t = json.load(open(sys.argv[1]))
assert t["steps"][-1]["read_error"] is True, t["steps"][-1]
assert t["result"]["status"] == "fault" and t["result"]["reason"] == 7, t["result"]
PY
walk 0 --image img.bin --regs legacy.txt --sid 00:01.0 --addr 0x200123 --svg w.svg
python3 - w.svg <<'PY' || fail "--svg is not well-formed"
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
assert r.tag == "{http://www.w3.org/2000/svg}svg", r.tag
text = " ".join(t.text or "" for t in r.iter("{http://www.w3.org/2000/svg}text"))
assert "0x600123" in text.replace("0000000000", ""), text[:400]
PY
if command -v xmllint >/dev/null 2>&1; then xmllint --noout w.svg || fail "xmllint w.svg"; fi

# ---- the same tables as a scenario: --image and --scenario print the same ----
python3 - img.bin > same.vtd <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
print("unit default")
for a in range(0x10000, 0x40000, 8):           # the legacy tables
    v, = struct.unpack_from("<Q", d, a)
    if v:
        print("write64 0x%x 0x%x" % (a, v))
print("mmio write RTADDR 0x10000\ngcmd SRTP\ngcmd TE")
PY
for req in "--sid 00:01.0 --addr 0x200123" "--sid 00:01.0 --addr 0x400000 --write" \
           "--sid 00:05.0 --addr 0x1000"; do
    for fmt in "" --json; do
        set +e
        "$VTD" walk --image img.bin --regs legacy.txt $req $fmt --svg a.svg > a.txt
        "$VTD" walk --scenario same.vtd $req $fmt --svg b.svg > b.txt
        set -e
        [ -s a.txt ] && grep -q result a.txt || fail "--image: no walk for $req $fmt"
        cmp -s a.txt b.txt || { diff a.txt b.txt; fail "--image and --scenario differ: $req $fmt"; }
        cmp -s a.svg b.svg || fail "--image and --scenario SVGs differ: $req"
    done
done

# ---- scalable mode (JSON register file) ----
walk 0 --image img.bin --regs sm.json --sid 00:02.0 --addr 0x200123
has 'scalable-mode root entry'
has 'PASID-table entry'
has 'result: OK  HPA 0x0000000000600123  page 2 MiB  perm RW'
walk 0 --image img.bin --regs sm.json --sid 00:02.0 --pasid 2 --addr 0x400123 --write
has 'first-level entry'
has 'result: OK  HPA 0x0000000000700123  page 4 KiB'
walk 1 --image img.bin --regs sm.json --sid 00:02.0 --pasid 3 --addr 0x1000
has 'result: FAULT'
walk 1 --image img.bin --regs sm.json --sid 00:02.0 --pasid 2 --priv --addr 0x400123
has 'result: FAULT'
"$VTD" audit --regs sm.json img.bin > audit.txt || fail "audit sm exit $?"
has '00:02.0 pasid 2  domain 6  first-level 4-level at 0x60000' audit.txt
has '0x0000000000400000-0x0000000000400fff -> 0x0000000000700000-0x0000000000700fff' audit.txt

# the walk never wrote the image
[ "$(md5sum < img.bin)" = "$sum0" ] || fail "img.bin changed"

# ---- capabilities the model lacks: masked, named in a warning ----
sed 's/^CAP 0x4402f0406/CAP 0x20000004402f0406/; s/^ECAP 0x5040/ECAP 0x202205040/' legacy.txt > extra.txt
walk 0 --image img.bin --regs extra.txt --sid 00:01.0 --addr 0x200123
has 'extra.txt: warning: CAP 0x20000004402f0406: ECMDS (bit 61) not implemented by the model: masked off' err.txt
has 'extra.txt: warning: ECAP 0x202205040: MHMV[23:20], MTS (bit 25), NWFS (bit 33) not implemented' err.txt
has 'result: OK  HPA 0x0000000000600123'
# register offsets left 0 (as in hand-written files): replaced, with a warning
sed 's/^CAP 0x4402f0406/CAP 0x4002f0406/' legacy.txt > nofro.txt
walk 0 --image img.bin --regs nofro.txt --sid 00:01.0 --addr 0x200123
has 'CAP.FRO 0x0 and ECAP.IRO 0x500 place registers where the model cannot' err.txt

# ---- input errors: exit 2, naming the file or option ----
err2() {   # err2 WANT-IN-STDERR ARGS...
    local want=$1; shift
    walk 2 "$@"
    grep -qF -- "$want" err.txt || { cat err.txt; fail "walk $*: stderr lacks: $want"; }
}
err2 '--image nonexist.bin: No such file or directory' --image nonexist.bin --regs legacy.txt --sid 00:01.0 --addr 0
: > empty.bin
err2 '--image empty.bin: empty or not a regular file' --image empty.bin --regs legacy.txt --sid 00:01.0 --addr 0
err2 "--sid: '00:20.0' is not BB:DD.F" --image img.bin --regs legacy.txt --sid 00:20.0 --addr 0
err2 "--sid: '1:2:3' is not BB:DD.F" --image img.bin --regs legacy.txt --sid 1:2:3 --addr 0
err2 "--addr: '0x1g' is not an address" --image img.bin --regs legacy.txt --sid 00:01.0 --addr 0x1g
err2 "--base: '0x123' is not a 4 KiB aligned physical address" --image img.bin --regs legacy.txt --base 0x123 \
    --sid 00:01.0 --addr 0
err2 "--image: 'img.bin' needs --regs REGS" --image img.bin --sid 00:01.0 --addr 0
err2 '--regs missing.txt: No such file or directory' --image img.bin --regs missing.txt --sid 00:01.0 --addr 0
err2 "give one input" --image img.bin --regs legacy.txt --demo-tables --sid 00:01.0 --addr 0
sed 's/^CAP 0x4402f0406/CAP zz/' legacy.txt > bad1.txt
err2 "bad1.txt:2:5: bad value 'zz' for CAP (want hex)" --image img.bin --regs bad1.txt --sid 00:01.0 --addr 0
sed 's/^ECAP 0x5040/ECAP 0x5044/' legacy.txt > bad2.txt
err2 'bad2.txt: no model unit has CAP 0x4402f0406 ECAP 0x5044 HAW 52: ECAP.DT without ECAP.QI' \
    --image img.bin --regs bad2.txt --sid 00:01.0 --addr 0
printf 'HAW 60\n' | cat legacy.txt - > bad3.txt
err2 'bad3.txt: HAW 60: the model takes a host address width of 32..52 bits' \
    --image img.bin --regs bad3.txt --sid 00:01.0 --addr 0
echo "walk_image: ok"
