#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the recipe seeds of the audit fuzz target (format: fuzz/audit.c)
into fuzz/corpus/audit/r-*: legacy and scalable-mode units with every
translation type, superpages, the anomalies the walker reports, interrupt
remapping tables with remapped and posted entries, and the register cases
(translation off, abort-DMA and reserved TTM, image base, small budget).

    python3 fuzz/audit_seeds.py [DIR]     (default: fuzz/corpus/audit)
"""
import os
import struct
import sys


class Recipe:
    def __init__(self, pages=64, cap=0, ecap=0, gsts=0xC0000000, rt_page=1, rt_bits=0,
                 haw=0, ver=None, irt=None, iq=None, flags=0):
        self.flags, self.pages, self.haw, self.ver = flags, pages, haw, ver
        self.cap, self.ecap, self.gsts = cap, ecap, gsts
        self.rt, self.irt, self.iq = (rt_page, rt_bits), irt, iq
        self.ops = b""

    def header(self):
        f = self.flags | (16 if self.ver is not None else 0)
        f |= (32 if self.irt else 0) | (64 if self.iq else 0)
        irt, iq = self.irt or (0, 0), self.iq or (0, 0)
        h = b"VTDA" + struct.pack("<BBBBQQII", f, self.pages - 1, self.haw, self.ver or 0,
                                  self.cap, self.ecap, self.gsts, 0)
        h += struct.pack("<BBBBHHH", self.rt[0], irt[0], iq[0], 0, self.rt[1], irt[1], iq[1])
        return h + b"\0" * (48 - len(h))

    @staticmethod
    def _idx(addr):
        assert addr % 8 == 0
        return (addr // 8).to_bytes(3, "little")

    def q(self, addr, value):                # one qword
        self.ops += bytes([0]) + self._idx(addr) + struct.pack("<Q", value)

    def ptr(self, addr, page, bits=0, high=0):   # base + page * 4096 | bits, high -> 63:58
        self.ops += bytes([1 | high << 2]) + self._idx(addr) + struct.pack("<BH", page, bits)

    def pair(self, addr, page, bits, hi):    # pointer qword, then the next qword
        self.ops += bytes([2]) + self._idx(addr) + struct.pack("<BHQ", page, bits, hi)

    def fill(self, addr, count, stride, value, page_step=0):
        self.ops += bytes([3 | page_step << 2]) + self._idx(addr) + struct.pack("<HBQ", count, stride, value)

    def bytes(self):
        return self.header() + self.ops


P = 4096
R, W, X, PS = 1, 2, 4, 0x80
# CAP: ND 6, SAGAW 3/4/5-level, MGAW 57, FRO 0x400, SLLPS 2M+1G, PSI, NFR 8, PI, FL1GP, FL5LP
CAP = 6 | 0xE << 8 | 56 << 16 | 0x40 << 24 | 3 << 34 | 1 << 39 | 7 << 40 | 1 << 59
CAP_FL = CAP | 1 << 56 | 1 << 60
# ECAP legacy: QI DT IR EIM PT SC IRO 0x500
ECAP = 2 | 4 | 8 | 16 | 1 << 6 | 1 << 7 | 0x50 << 8
# scalable: + NEST PRS SRS EAFS PSS 19 PASID PDS SMTS SLADS SLTS FLTS SMPWCS RPS ADMS RPRIVS
ECAP_SM = (ECAP | 1 << 26 | 1 << 29 | 1 << 31 | 1 << 34 | 19 << 35 | 1 << 40 | 1 << 42 | 1 << 43 |
           1 << 45 | 1 << 46 | 1 << 47 | 1 << 48 | 1 << 49 | 1 << 52 | 1 << 53)
GSTS_ALL = 0x80000000 | 0x40000000 | 0x04000000 | 0x02000000 | 0x01000000  # TES RTPS QIES IRES IRTPS


def irt(r, page, n):
    """n entries at page: remapped ones with each SVT, a posted one, reserved bits."""
    t = page * P
    for i in range(n):
        lo = 1 | (0x20 + i) << 16 | (i % 4) << 32 << 8
        hi = (0x10 + i) | (i % 4) << 18            # SID, SVT 0..3 (3 reserved)
        if i % 5 == 3:
            lo = 1 | 1 << 15 | (0x30 + i) << 16 | ((0x3C000 + 64 * i) >> 6) << 38   # posted
            hi = (0x10 + i) | 1 << 18 | 0 << 32
        if i % 7 == 6:
            lo |= 1 << 12                           # reserved
        r.q(t + 16 * i, lo)
        r.q(t + 16 * i + 8, hi)


def sl_map(r, root, iova, pa, levels, leaf_level, perm, alloc, table_bits=R | W):
    """a mapping (second level; first level with table_bits 7); alloc() gives
    new page numbers; returns the leaf entry address"""
    table = root
    for lvl in range(levels, leaf_level, -1):
        ea = table * P + 8 * ((iova >> (12 + 9 * (lvl - 1))) & 511)
        nxt = r.tables.get(ea)
        if nxt is None:
            nxt = alloc()
            r.tables[ea] = nxt
            r.ptr(ea, nxt, table_bits)
        table = nxt
    ea = table * P + 8 * ((iova >> (12 + 9 * (leaf_level - 1))) & 511)
    r.q(ea, pa | perm | (PS if leaf_level > 1 else 0))
    return ea


def legacy(flags=0, pages=96):
    r = Recipe(pages=pages, cap=CAP, ecap=ECAP, gsts=GSTS_ALL, rt_page=1, haw=46 - 20, ver=0x10,
               irt=(40, 4), iq=(41, 0), flags=flags)
    r.tables = {}
    nxt = iter(range(50, pages))
    alloc = lambda: next(nxt)
    r.ptr(1 * P + 0, 2, 1)                           # root bus 0 -> context page 2
    r.ptr(1 * P + 16, 3, 1)                          # bus 1 -> context page 3
    r.q(1 * P + 32, 4 * P | 1 | 1 << 5)              # bus 2: reserved bit
    r.ptr(1 * P + 48, 255, 1)                        # bus 3: context outside a small image

    def ctx(page, devfn, lo_bits, slpt, aw, did):
        ea = page * P + 16 * devfn
        r.pair(ea, slpt, lo_bits, aw | did << 8)
    ctx(2, 0x08, 1, 10, 2, 1)                       # 00:01.0 4-level SL at page 10
    r.pair(2 * P + 16 * 0x10, 0, 1 | 2 << 2, 2 | 2 << 8)   # 00:02.0 pass-through
    ctx(2, 0x18, 1, 20, 2, 3)                       # 00:03.0 writes its own table
    ctx(2, 0x20, 1 | 1 << 2, 10, 2, 4)              # 00:04.0 TT 01 (device-TLB), same tables
    ctx(2, 0x28, 1, 10, 2, 5)                       # 00:05.0 other DID, same tables
    ctx(2, 0x30, 1, 30, 2, 1)                       # 00:06.0 DID 1, other tables: conflict
    ctx(2, 0x38, 1, 31, 1, 7)                       # 00:07.0 3-level
    ctx(2, 0x40, 1, 32, 3, 8)                       # 00:08.0 5-level
    ctx(2, 0x48, 1 | 1 << 1, 33, 2, 9)              # 00:09.0 FPD, a loop
    ctx(2, 0x50, 1 | 3 << 2, 0, 2, 10)              # 00:0a.0 TT 11 reserved
    ctx(2, 0x58, 1, 34, 4, 11)                      # 00:0b.0 AW 4 reserved
    r.pair(2 * P + 16 * 0x60, 35, 1 | 1 << 7, 2 | 12 << 8 | 1 << 7)   # reserved bits
    ctx(3, 0x00, 1, 36, 2, 13)                      # 01:00.0 identity map
    # 00:01.0: 2 MiB and 1 GiB superpages, 4 KiB pages, an X-only/W-only mix
    sl_map(r, 10, 0x200000, 0x600000, 4, 2, R | W, alloc)
    sl_map(r, 10, 0x40000000, 0x80000000, 4, 3, R, alloc)
    sl_map(r, 10, 0x400000, 0x50000, 4, 1, R, alloc)
    sl_map(r, 10, 0x401000, 0x51000, 4, 1, W, alloc)
    sl_map(r, 10, 0x402000, 0x52000, 4, 1, R | W | X, alloc)
    sl_map(r, 10, 0x800000, 0x1200000 | 1 << 11, 4, 2, R | W, alloc)   # SNP
    ea = sl_map(r, 10, 0x600000, 0x0, 4, 1, R | W, alloc)
    r.q(ea + 8, 0x3000 | R | W | 1 << 52)            # reserved address bit above HAW
    # 00:03.0: maps its own page table and the interrupt range
    sl_map(r, 20, 0, 0, 4, 1, R | W, alloc)
    pt = r.tables[r.tables[r.tables[20 * P] * P] * P]
    r.ptr(pt * P, pt, R | W)                         # IOVA 0 -> its own PT
    r.q(pt * P + 8, 0xFEE00000 | W)
    r.q(pt * P + 16, 1 * P | R | W)                  # the root table
    r.q(pt * P + 24, 40 * P | R | W)                 # the IRT
    r.q(pt * P + 32, 41 * P | R | W)                 # the invalidation queue
    # 00:06.0, 00:07.0, 00:08.0
    sl_map(r, 30, 0x1000, 0x9000, 4, 1, R, alloc)
    sl_map(r, 31, 0x1000, 0xA000, 3, 1, R | W, alloc)
    sl_map(r, 31, 0x200000, 0x400000, 3, 2, R | W, alloc)
    sl_map(r, 32, 0x100000000000, 0xB000, 5, 1, R | W, alloc)
    # 00:09.0: PML4[0] -> itself (a loop), PML4[1] -> a PDP shared twice
    r.ptr(33 * P, 33, R | W)
    r.ptr(33 * P + 8, 37, R | W)
    r.ptr(33 * P + 16, 37, R | W)
    r.q(37 * P, 0x40000000 | PS | R)
    # 01:00.0: an identity run of 4 KiB pages 0x100000.. and a PT full of them
    sl_map(r, 36, 0x100000, 0x100000, 4, 1, R | W, alloc)
    leaf_pt = r.tables[r.tables[r.tables[36 * P] * P] * P]
    r.fill(leaf_pt * P + 8 * 256, 200, 1, 0x100000 | R | W, 1)
    irt(r, 40, 16)
    return r


def scalable(flags=0, pages=128):
    r = Recipe(pages=pages, cap=CAP_FL, ecap=ECAP_SM, gsts=GSTS_ALL, rt_page=1, rt_bits=1 << 10,
               haw=48 - 20, ver=0x60, irt=(40, 3 | 1 << 11), iq=(41, 1), flags=flags)
    r.tables = {}
    nxt = iter(range(60, pages))
    alloc = lambda: next(nxt)
    r.pair(1 * P, 2, 1, 3 * P | 1)                   # bus 0: lower ctx page 2, upper page 3
    r.q(1 * P + 16, 4 * P | 1 | 1 << 3)              # bus 1: reserved bit
    r.ptr(1 * P + 32 + 8, 5, 1)                      # bus 2: upper half only

    def smctx(page, devfn7, q0_bits, dirp, q1=0):
        ea = page * P + 32 * devfn7
        r.pair(ea, dirp, q0_bits, q1)
    smctx(2, 0x10, 1 | 1 << 3 | 1 << 2, 6)          # 00:02.0 PASIDE DTE, dir page 6
    smctx(2, 0x18, 1, 7, 1)                          # 00:03.0 RID_PASID 1, no PASIDE
    smctx(2, 0x20, 1 | 1 << 3 | 1 << 7, 6)          # reserved bit
    smctx(2, 0x28, 1 | 1 << 3 | 1 << 9, 8)          # PDTS 1: 256 directory entries
    smctx(3, 0x00, 1 | 1 << 3 | 1 << 4 | 1 << 2, 6)  # 00:10.0 (devfn 0x80) PRE
    smctx(5, 0x01, 1, 7, 1 << 20)                    # 02:10.1 RID_PRIV
    r.ptr(6 * P, 9, 1)                               # dir[0] -> PASID table page 9
    r.ptr(6 * P + 8, 10, 1 | 1 << 1)                 # dir[1] (PASIDs 64..127), FPD
    r.q(6 * P + 16, 11 * P | 1 | 1 << 5)             # dir[2]: reserved bit
    r.ptr(7 * P, 12, 1)
    r.ptr(8 * P + 8 * 255, 9, 1)                     # PASIDs 0x3FC0.. via PDTS 1

    def pe(table, pasid, q0, q1, q2=0):
        ea = table * P + 64 * pasid
        r.q(ea + 8, q1)
        r.q(ea + 16, q2)
        r.q(ea, q0)
    SLR, FLR, NFL = 20, 21, 0      # NFL: HPA of the nested FL root (GPA 0x10000000)
    pe(9, 0, SLR * P | 2 << 6 | 2 << 2 | 1, 5 | 1 << 23)                     # SL 4-level
    pe(9, 1, 4 << 6 | 1, 6)                                                  # pass-through
    pe(9, 2, 1 << 6 | 1, 7 | 1 << 23, FLR * P | 1)                           # FL 4-level, SRE
    pe(9, 3, SLR * P | 3 << 6 | 2 << 2 | 1, 5, 0x10000000 | 1)              # nested
    pe(9, 4, 1 << 6 | 1, 8, 23 * P | 1 << 2 | 1 << 7)                        # FL 5-level, EAFE
    pe(9, 5, SLR * P | 2 << 6 | 2 << 2 | 1 << 9 | 1, 5 | 1 << 23)            # SSADE
    pe(9, 6, 5 << 6 | 1, 9)                                                  # PGTT 101 reserved
    pe(9, 7, SLR * P | 2 << 6 | 2 << 2 | 1 | 1 << 10, 9)                     # reserved bit
    pe(9, 8, 1 << 6 | 1, 10 | 1 << 20, FLR * P | 1)                          # reserved q1
    pe(9, 9, SLR * P | 2 << 6 | 5 << 2 | 1, 11)                              # AW reserved
    pe(9, 10, 99 << 12 | 2 << 6 | 1 << 2 | 1, 12)                            # 3-level SL
    pe(10, 0, FLR * P | 1 << 6 | 1, 13, FLR * P | 1)                         # PASID 64
    pe(12, 1, 1 << 6 | 1, 14, 250 * P | 1)                                   # FL outside
    # SL: IOVA 0 -> 0x800000 8 KiB RW; GPA 0x10000000 2 MiB -> HPA 0x100000 (image)
    sl_map(r, SLR, 0, 0x800000, 4, 1, R | W, alloc)
    sl_map(r, SLR, 0x1000, 0x801000, 4, 1, R | W, alloc)
    sl_map(r, SLR, 0x10000000, 0x0, 4, 2, R | W, alloc)     # GPA 0x10000000.. = HPA 0..
    sl_map(r, SLR, 0x40000000, 0x40000000, 4, 3, R | W, alloc)   # 1 GiB identity
    sl_map(r, 99, 0x1000, 0x5000, 3, 1, R, alloc)

    def fl_map(root, va, pa, levels, leaf, bits):
        return sl_map(r, root, va, pa, levels, leaf, bits, alloc, table_bits=7)
    fl_map(FLR, 0x400000, 0xA00000, 4, 1, 7)                 # user RW
    ea = fl_map(FLR, 0xFFFF800000000000, 0xB00000, 4, 1, 1)  # supervisor R
    r.q(ea, 0xB00000 | 1 | 1 << 63)                          # XD
    fl_map(FLR, 0x80000000, 0x40000000, 4, 3, 3)             # 1 GiB supervisor RW
    fl_map(FLR, 0x200000, 0x200000, 4, 2, 7)                 # 2 MiB identity
    ea = fl_map(FLR, 0x600000, 0x7000, 4, 1, 7)
    r.q(ea + 8, 0x8000 | 7 | 1 << 9 << 40)                   # reserved above HAW
    fl_map(23, 0x100000000000000, 0xC000, 5, 1, 3)           # 5-level
    # nested: FL tables at GPA 0x10000000.. = HPA 0.. (pages 16.., free here)
    g = 0x10000000
    r.q(NFL * P, (g + 24 * P) | 7)                           # GPA root: PML4 at GPA g + 24 pages
    r.q(24 * P, (g + 25 * P) | 7)
    r.q(25 * P, (g + 26 * P) | 7)
    r.q(26 * P + 8 * 5, (g + 0x100000) | 7)                  # VA 0x5000 -> GPA g + 1 MiB
    irt(r, 40, 16)
    return r


def simple(gsts, rt_bits=0, ecap=ECAP_SM, flags=0, pages=8):
    r = Recipe(pages=pages, cap=CAP_FL, ecap=ecap, gsts=gsts, rt_page=1, rt_bits=rt_bits,
               irt=(2, 0), flags=flags)
    r.tables = {}
    r.ptr(P, 3, 1)
    r.pair(3 * P + 16, 4, 1, 2 | 1 << 8)
    r.q(4 * P, 5 * P | 3)
    irt(r, 2, 2)
    return r


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "audit")
    seeds = {
        "r-legacy": legacy(),
        "r-legacy-json-debugfs": legacy(flags=1 | 2),
        "r-legacy-base-budget": legacy(flags=8 | 4),
        "r-scalable": scalable(),
        "r-scalable-json-debugfs": scalable(flags=1 | 2),
        "r-scalable-base": scalable(flags=8 | 2),
        "r-te-off": simple(0x40000000 | 0x02000000 | 0x01000000),
        "r-abort-dma": simple(GSTS_ALL, rt_bits=3 << 10),
        "r-ttm-reserved": simple(GSTS_ALL, rt_bits=2 << 10),
        "r-sm-no-smts": simple(GSTS_ALL, rt_bits=1 << 10, ecap=ECAP),
        "r-root-outside": Recipe(pages=1, cap=CAP, ecap=ECAP, rt_page=9),
    }
    for name, r in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(r.bytes())
    print("%d seeds written to %s" % (len(seeds), out))


if __name__ == "__main__":
    main()
