/* SPDX-License-Identifier: MIT */
/* `vtd walk --image`: a model unit over a memory image (walkimage.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <vtd/defs.h>
#include <vtd/regs.h>

#include "walkimage.h"

struct walkimg {
    const struct tool_image *img;
    struct vtd *u;
    FILE *diag;        /* the model's diagnostics while programming it; NULL after */
    const char *regs_path;
};

/* The unit's memory is the image: anything outside it is not backed, so the
 * unit reports its architectural "error accessing ..." fault. */
static int img_read(void *opaque, uint64_t pa, void *buf, size_t len)
{
    struct walkimg *w = opaque;
    const uint8_t *p = tool_image_at(w->img, pa, len);
    if (!p)
        return -1;
    memcpy(buf, p, len);
    return 0;
}

static int img_write(void *opaque, uint64_t pa, const void *buf, size_t len)
{
    struct walkimg *w = opaque;
    uint8_t *p = tool_image_at(w->img, pa, len);
    if (!p)
        return -1;
    memcpy(p, buf, len); /* the private mapping: the file is never written */
    return 0;
}

static void img_diag(void *opaque, const struct vtd_diag *d)
{
    struct walkimg *w = opaque;
    if (w->diag)
        fprintf(w->diag, "vtd walk: %s: programming the unit: %s\n", w->regs_path, d->msg);
}

/* Spec names of the CAP and ECAP fields (Rev 5.10 §11.4.2, §11.4.3). */
struct field {
    uint8_t lo, hi;
    const char *name;
};
static const struct field cap_fields[] = {
    {0, 2, "ND"},     {3, 3, "AFL"},     {4, 4, "RWBF"},    {5, 5, "PLMR"},    {6, 6, "PHMR"},
    {7, 7, "CM"},     {8, 12, "SAGAW"},  {16, 21, "MGAW"},  {22, 22, "ZLR"},   {24, 33, "FRO"},
    {34, 37, "SLLPS"}, {39, 39, "PSI"},  {40, 47, "NFR"},   {48, 53, "MAMV"},  {54, 54, "DWD"},
    {55, 55, "DRD"},  {56, 56, "FL1GP"}, {59, 59, "PI"},    {60, 60, "FL5LP"}, {61, 61, "ECMDS"},
    {62, 62, "ESIRTPS"}, {63, 63, "ESRTPS"},
};
static const struct field ecap_fields[] = {
    {0, 0, "C"},      {1, 1, "QI"},      {2, 2, "DT"},      {3, 3, "IR"},      {4, 4, "EIM"},
    {6, 6, "PT"},     {7, 7, "SC"},      {8, 17, "IRO"},    {20, 23, "MHMV"},  {25, 25, "MTS"},
    {26, 26, "NEST"}, {29, 29, "PRS"},   {30, 30, "ERS"},   {31, 31, "SRS"},   {33, 33, "NWFS"},
    {34, 34, "EAFS"}, {35, 39, "PSS"},   {40, 40, "PASID"}, {41, 41, "DIT"},   {42, 42, "PDS"},
    {43, 43, "SMTS"}, {44, 44, "VCS"},   {45, 45, "SLADS"}, {46, 46, "SLTS"},  {47, 47, "FLTS"},
    {48, 48, "SMPWCS"}, {49, 49, "RPS"}, {51, 51, "PMS"},   {52, 52, "ADMS"},  {53, 53, "RPRIVS"},
};

const char *walkimg_bit_names(bool ecap, uint64_t bits, char *buf, size_t len)
{
    const struct field *t = ecap ? ecap_fields : cap_fields;
    size_t n = ecap ? sizeof ecap_fields / sizeof ecap_fields[0] : sizeof cap_fields / sizeof cap_fields[0];
    size_t o = 0;
    buf[0] = 0;
#define PUT(...)                                                                                 \
    do {                                                                                         \
        if (o < len)                                                                             \
            o += (size_t)snprintf(buf + o, len - o, __VA_ARGS__);                                \
    } while (0)
    for (size_t i = 0; i < n; i++) {
        uint64_t m = VTD_GENMASK(t[i].hi, t[i].lo);
        if (!(bits & m))
            continue;
        if (t[i].hi == t[i].lo)
            PUT("%s%s (bit %u)", o ? ", " : "", t[i].name, t[i].lo);
        else
            PUT("%s%s[%u:%u]", o ? ", " : "", t[i].name, t[i].hi, t[i].lo);
        bits &= ~m;
    }
    for (unsigned b = 0; b < 64; b++)
        if (bits >> b & 1)
            PUT("%sbit %u", o ? ", " : "", b);
#undef PUT
    return buf;
}

uint32_t walkimg_gcmd(struct vtd *u, uint32_t cmd)
{
    uint32_t sts = (uint32_t)vtd_mmio_read(u, VTD_REG_GSTS, 4);
    vtd_mmio_write(u, VTD_REG_GCMD, (sts & VTD_GCMD_PERSISTENT) | cmd, 4);
    return (uint32_t)vtd_mmio_read(u, VTD_REG_GSTS, 4);
}

/* Program the unit as the register file says software left it. */
static int program(struct walkimg *w, const struct audit_regs *r)
{
    struct vtd *u = w->u;
    const char *why = NULL;
    vtd_mmio_write(u, VTD_REG_RTADDR, r->rtaddr, 8);
    uint32_t sts = walkimg_gcmd(u, VTD_GCMD_SRTP);
    if (!(sts & VTD_GSTS_RTPS))
        why = "SRTP: GSTS.RTPS stayed clear";
    if (!why && (r->ecap & VTD_ECAP_IR) && (r->seen & AUDIT_REG_IRTA)) {
        vtd_mmio_write(u, VTD_REG_IRTA, r->irta, 8);
        if (!(walkimg_gcmd(u, VTD_GCMD_SIRTP) & VTD_GSTS_IRTPS))
            why = "SIRTP: GSTS.IRTPS stayed clear";
        else if ((r->gsts & VTD_GSTS_IRES) && !(walkimg_gcmd(u, VTD_GCMD_IRE) & VTD_GSTS_IRES))
            why = "IRE: GSTS.IRES stayed clear";
    }
    if (!why && (r->gsts & VTD_GSTS_TES) && !(walkimg_gcmd(u, VTD_GCMD_TE) & VTD_GSTS_TES))
        why = "TE: GSTS.TES stayed clear";
    if (why) {
        fprintf(stderr, "vtd walk: %s: the unit did not take its state: %s\n", w->regs_path, why);
        return 2;
    }
    return 0;
}

int walkimg_create(const struct audit_regs *r, const char *regs_path, const struct tool_image *img,
                   FILE *warn, struct walkimg **out)
{
    *out = NULL;
    uint64_t cap_ok, ecap_ok;
    vtd_config_implemented(&cap_ok, &ecap_ok);
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    cfg.ver = r->ver;
    cfg.cap = r->cap & cap_ok;
    cfg.ecap = r->ecap & ecap_ok;
    cfg.haw = r->haw ? r->haw : 52;
    cfg.pasid_cache_entries = (cfg.ecap & VTD_ECAP_SMTS) ? 256 : 0;
    cfg.check_stale = false;
    char names[512];
    if (warn && (r->cap & ~cap_ok))
        fprintf(warn, "vtd walk: %s: warning: CAP 0x%" PRIx64 ": %s not implemented by the model: "
                      "masked off (fields these features define are reserved in the walk)\n",
                regs_path, r->cap, walkimg_bit_names(false, r->cap & ~cap_ok, names, sizeof names));
    if (warn && (r->ecap & ~ecap_ok))
        fprintf(warn, "vtd walk: %s: warning: ECAP 0x%" PRIx64 ": %s not implemented by the model: "
                      "masked off (fields these features define are reserved in the walk)\n",
                regs_path, r->ecap, walkimg_bit_names(true, r->ecap & ~ecap_ok, names, sizeof names));
    if (cfg.haw < 32 || cfg.haw > 52) {
        fprintf(stderr, "vtd walk: %s: HAW %u: the model takes a host address width of 32..52 bits\n",
                regs_path, cfg.haw);
        return 2;
    }
    struct walkimg *w = calloc(1, sizeof *w);
    if (!w) {
        fprintf(stderr, "vtd walk: out of memory\n");
        return 2;
    }
    w->img = img;
    w->regs_path = regs_path;
    w->diag = warn;
    struct vtd_host host = {.opaque = w, .mem_read = img_read, .mem_write = img_write, .diag = img_diag};
    int rc = vtd_create(&cfg, &host, &w->u);
    struct vtd_config def;
    vtd_config_default(&def);
    uint64_t place = VTD_CAP_FRO_MASK, iplace = VTD_ECAP_IRO_MASK;
    if (rc == VTD_EINVAL && ((cfg.cap & place) != (def.cap & place) || (cfg.ecap & iplace) != (def.ecap & iplace))) {
        /* FRO / IRO only place registers, which a walk does not use: a
         * hand-written file often leaves them 0, where the model cannot put
         * the fault-recording and IOTLB registers */
        uint64_t cap0 = cfg.cap, ecap0 = cfg.ecap;
        cfg.cap = (cfg.cap & ~place) | (def.cap & place);
        cfg.ecap = (cfg.ecap & ~iplace) | (def.ecap & iplace);
        rc = vtd_create(&cfg, &host, &w->u);
        if (rc == 0 && warn)
            fprintf(warn, "vtd walk: %s: warning: CAP.FRO 0x%x and ECAP.IRO 0x%x place registers where the "
                          "model cannot: using 0x%x and 0x%x (register offsets do not change a walk)\n",
                    regs_path, (unsigned)VTD_FIELD_GET(cap0, 33, 24) * 16,
                    (unsigned)VTD_FIELD_GET(ecap0, 17, 8) * 16, (unsigned)VTD_FIELD_GET(cfg.cap, 33, 24) * 16,
                    (unsigned)VTD_FIELD_GET(cfg.ecap, 17, 8) * 16);
        if (rc) {
            cfg.cap = cap0;
            cfg.ecap = ecap0;
        }
    }
    if (rc) {
        const char *why = vtd_config_problem(&cfg);
        fprintf(stderr, "vtd walk: %s: no model unit has CAP 0x%" PRIx64 " ECAP 0x%" PRIx64 " HAW %u: %s\n",
                regs_path, cfg.cap, cfg.ecap, cfg.haw, why ? why : vtd_strerror(rc));
        free(w);
        return 2;
    }
    rc = program(w, r);
    w->diag = NULL; /* what the walk itself finds is in its output */
    if (rc) {
        walkimg_destroy(w);
        return rc;
    }
    *out = w;
    return 0;
}

struct vtd *walkimg_unit(struct walkimg *w)
{
    return w->u;
}

void walkimg_destroy(struct walkimg *w)
{
    if (!w)
        return;
    vtd_destroy(w->u);
    free(w);
}
