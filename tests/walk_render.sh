#!/usr/bin/env bash
# Render `vtd walk --svg` in headless Chromium and check the PNG is not
# trivial (size, more than one colour).  Without chromium: skip (exit 77),
# except under CI=true where it fails.
set -euo pipefail
VTD=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$VTD" walk --demo-tables --sid 00:02.0 --addr 0x12345678 --svg "$out/w.svg" >/dev/null
if command -v xmllint >/dev/null 2>&1; then xmllint --noout "$out/w.svg"; fi
CH=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CH" ]; then
    if [ "${CI:-}" = true ]; then echo "walk_render: chromium missing under CI" >&2; exit 1; fi
    echo "walk_render: chromium not installed: skipped"; exit 77
fi
(cd "$out" && timeout 90 "$CH" --headless --no-sandbox --disable-gpu --screenshot="$out/out.png" \
    --window-size=1200,900 "file://$out/w.svg" >/dev/null 2>&1) || true
python3 - "$out/out.png" <<'PY'
import sys, zlib, struct
d = open(sys.argv[1], 'rb').read()
assert d[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
assert len(d) > 5000, 'PNG too small: %d bytes' % len(d)
i, idat, w, h, ct = 8, b'', 0, 0, 0
while i < len(d):
    n, t = struct.unpack('>I4s', d[i:i+8]); c = d[i+8:i+8+n]
    if t == b'IHDR': w, h, bd, ct = struct.unpack('>IIBB', c[:10])
    if t == b'IDAT': idat += c
    i += 12 + n
raw = zlib.decompress(idat)
bpp = {2: 3, 6: 4}.get(ct, 1)
stride = w * bpp + 1
px = set()
for y in range(0, h, 7):
    row = raw[y*stride+1:(y+1)*stride]
    for x in range(0, len(row) - bpp, bpp * 5):
        px.add(row[x:x+bpp])
assert len(px) > 3, 'image is (nearly) one colour'
print('walk_render: %dx%d PNG, %d bytes, %d distinct sampled values' % (w, h, len(d), len(px)))
PY
