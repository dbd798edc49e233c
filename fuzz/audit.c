/* SPDX-License-Identifier: MIT */
/* Fuzz the `vtd audit` walker: the input bytes are the physical memory image
 * (base 0), under fixed registers (legacy mode, translation and interrupt
 * remapping enabled, root table at 0, IRT at 0x1000, invalidation queue at
 * 0x2000).  The last input byte selects legacy or scalable mode and the
 * entry budget, so both walkers are reached.  Any image must walk to a report
 * (or a clean error), never crash or read outside the image. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const uint8_t sel = data[size - 1];
    struct audit_regs r = {0};
    r.ver = 0x10;
    /* CAP: SAGAW 3/4/5-level, MGAW 57, SLLPS 2M+1G, ND 16 bits, FL1GP, 5LP */
    r.cap = (0x7ull << 8) | (56ull << 16) | (0x3ull << 34) | 0x6ull | (1ull << 56) | (1ull << 60);
    /* ECAP: QI, IR, EIM, PT, NEST, SMTS, FLTS, SLTS, PASID, PSS 19 */
    r.ecap = 0x2ull | 0x8ull | 0x10ull | (1ull << 6) | (1ull << 26) | (1ull << 43) | (1ull << 47) |
             (1ull << 46) | (1ull << 40) | (19ull << 35);
    r.gsts = (1u << 31) | (1u << 30) | (1u << 25) | (1u << 24) | (1u << 26);
    r.rtaddr = (sel & 1) ? (1ull << 10) : 0; /* RTADDR.TTM: 01 = scalable */
    r.irta = 0x1000 | 0xF | ((uint64_t)(sel & 2) << 10); /* size 2^16, EIME */
    r.iqa = 0x2000;
    r.haw = 48;
    r.seen = AUDIT_REG_VER | AUDIT_REG_CAP | AUDIT_REG_ECAP | AUDIT_REG_GSTS | AUDIT_REG_RTADDR |
             AUDIT_REG_IRTA | AUDIT_REG_IQA | AUDIT_REG_HAW;
    struct audit_image img = {.data = data, .size = size, .base = 0};
    struct audit_opts opts = {.max_entries = (sel & 4) ? 64 : 1u << 16, .max_anomalies = 256};
    struct audit_report rep;
    char err[256];
    if (audit_run(&img, &r, &opts, &rep, err, sizeof err) == 0) {
        FILE *f = fopen("/dev/null", "w");
        if (f) {
            audit_print(f, (sel >> 3) % 2 ? AUDIT_FMT_JSON : AUDIT_FMT_TEXT, &img, &r, &rep);
            if (sel & 0x10) /* debugfs domain_translation_struct listings */
                for (size_t i = 0; i < rep.nspace; i++)
                    audit_print_domain_leaves(f, &img, &r, &rep.space[i]);
            fclose(f);
        }
    }
    audit_report_free(&rep);
    return 0;
}
