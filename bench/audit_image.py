#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A 4 GiB sparse memory image and register file for timing `vtd audit`
(docs/audit.md "Cost"):

    python3 bench/audit_image.py IMG REGS [DEVICES]     (default 256 devices)
    /usr/bin/time -f "%e s %M KiB" build/vtd audit --regs REGS IMG

Legacy unit, root table 0x1000, bus 0 context table 0x2000; DEVICES devices
(devfn 0..DEVICES-1, at most 256), each with its own 4-level second-level
tables at 0x4000000 + i * 0xF00000 (spread over the 4 GiB) mapping 64 MiB
in 4 KiB pages (IOVA 0 -> PA 0x100000000 + i * 64 MiB, above the image, so
no device reaches a table): 16384 PTEs in 32 page tables per device, 140 KiB
of tables per device on disk.
"""
import struct
import sys


def main():
    img, regs = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 256
    if not 1 <= n <= 256:
        sys.exit("audit_image.py: DEVICES must be 1..256")
    R, W = 1, 2
    with open(img, "wb") as f:
        f.truncate(1 << 32)

        def put(addr, data):
            f.seek(addr)
            f.write(data)
        put(0x1000, struct.pack("<QQ", 0x2000 | 1, 0))
        for i in range(n):
            t = 0x4000000 + 0xF00000 * i
            put(0x2000 + 16 * i, struct.pack("<QQ", t | 1, 2 | (i + 1) << 8))   # AW 4-level, DID i+1
            put(t, struct.pack("<Q", (t + 0x1000) | R | W))
            put(t + 0x1000, struct.pack("<Q", (t + 0x2000) | R | W))
            for j in range(32):
                pt = t + 0x3000 + j * 0x1000
                put(t + 0x2000 + 8 * j, struct.pack("<Q", pt | R | W))
                pa = 0x100000000 + i * (64 << 20) + j * (2 << 20)
                put(pt, b"".join(struct.pack("<Q", (pa + k * 4096) | R | W) for k in range(512)))
    with open(regs, "w") as f:
        # ND 6, SAGAW 4-level, MGAW 48, FRO 0x400, SLLPS 2 MiB; ECAP PT, IRO 0x500; TES RTPS
        f.write("VER 10\nCAP 0x4402f0406\nECAP 0x5040\nGSTS 0xc0000000\nRTADDR 0x1000\n")


if __name__ == "__main__":
    main()
