/* SPDX-License-Identifier: MIT */
/*
 * Scenario runner: carries out a parsed script against units of the model
 * (through include/vtd/vtd.h only) and the sparse memory (include/vtd/mem.h),
 * prints the events it sees and checks the expectations.
 *
 * Expectations read registers and memory without reporting those reads as
 * events; every other register access the script makes (mmio, gcmd, qi) is
 * an event.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <vtd/defs.h>
#include <vtd/mem.h>

#include "scenario_world.h"
#include "walkfmt.h"


/* ---- output ---- */

FILE *sw_out(struct sc_world *w)
{
    return w->o ? w->o->out : NULL;
}

bool sw_json(struct sc_world *w)
{
    return w->o && w->o->json;
}

static const char *uname(struct sc_world *w, int unit)
{
    return unit >= 0 && (unsigned)unit < w->nunits ? w->units[unit].name : "";
}

/* text mode: "file:line: " and, with more than one unit, "[unit] " */
void sw_text_prefix(struct sc_world *w, int unit)
{
    FILE *f = sw_out(w);
    fprintf(f, "%s:%d: ", w->s->file, w->c ? w->c->line : 0);
    if (w->nunits > 1 && unit >= 0)
        fprintf(f, "[%s] ", uname(w, unit));
}

void sw_json_begin(struct sc_world *w, const char *ev, int unit)
{
    FILE *f = sw_out(w);
    fprintf(f, "{\"event\":\"%s\",\"line\":%d", ev, w->c ? w->c->line : 0);
    if (unit >= 0 && (unsigned)unit < w->nunits) {
        fprintf(f, ",\"unit\":");
        wf_json_str(f, uname(w, unit));
    }
}

void sw_jhex(FILE *f, const char *key, uint64_t v)
{
    fprintf(f, ",\"%s\":\"0x%" PRIx64 "\"", key, v);
}

void sw_jstrkey(FILE *f, const char *key, const char *v)
{
    fprintf(f, ",\"%s\":", key);
    wf_json_str(f, v);
}

void sw_run_error(struct sc_world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sw_run_error(struct sc_world *w, const char *fmt, ...)
{
    w->status = 2;
    FILE *f = w->o ? w->o->err : NULL;
    if (!f)
        return;
    fprintf(f, "%s:%d:%d: error: ", w->s->file, w->c ? w->c->line : 0, w->c ? w->c->col : 0);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
}

const char *sw_perm_name(uint8_t p, char *buf)
{
    int k = 0;
    if (p & VTD_R)
        buf[k++] = 'r';
    if (p & VTD_W)
        buf[k++] = 'w';
    if (p & VTD_X)
        buf[k++] = 'x';
    if (!k) {
        strcpy(buf, "none");
        return buf;
    }
    buf[k] = 0;
    return buf;
}

/* ---- host callbacks ---- */

static int h_read(void *o, uint64_t pa, void *buf, size_t len)
{
    return vtd_mem_read(((struct unitrec *)o)->w->mem, pa, buf, len);
}

static int h_write(void *o, uint64_t pa, const void *buf, size_t len)
{
    return vtd_mem_write(((struct unitrec *)o)->w->mem, pa, buf, len);
}

static int h_cmpxchg(void *o, uint64_t pa, uint64_t *expected, uint64_t desired)
{
    return vtd_mem_cmpxchg64(((struct unitrec *)o)->w->mem, pa, expected, desired);
}

static const uint64_t *h_ptr(void *o, uint64_t pa)
{
    return vtd_mem_ptr(((struct unitrec *)o)->w->mem, pa);
}

static void print_msi(struct sc_world *w, const struct msirec *m)
{
    FILE *f = sw_out(w);
    if (!f)
        return;
    if (sw_json(w)) {
        sw_json_begin(w, "msi", m->unit);
        sw_jhex(f, "addr", m->addr);
        sw_jhex(f, "data", m->data);
        fprintf(f, "}\n");
    } else {
        sw_text_prefix(w, m->unit);
        fprintf(f, "  the unit sends an MSI: addr=0x%" PRIx64 " data=0x%" PRIx32 "\n", m->addr, m->data);
    }
}

static void print_diag(struct sc_world *w, const struct diagrec *d)
{
    FILE *f = sw_out(w);
    if (!f)
        return;
    const char *name = sc_diag_name(d->code);
    if (sw_json(w)) {
        sw_json_begin(w, "diag", d->unit);
        fprintf(f, ",\"code\":%d", d->code);
        sw_jstrkey(f, "name", name ? name : "?");
        sw_jstrkey(f, "msg", d->msg);
        sw_jhex(f, "sid", d->sid);
        sw_jhex(f, "addr", d->addr);
        fprintf(f, "}\n");
    } else {
        sw_text_prefix(w, d->unit);
        fprintf(f, "  diag %s (%d): %s\n", name ? name : "?", d->code, d->msg);
    }
}

/* During a request the unit's MSIs and diagnostics are printed after the
 * request's own line (flush_deferred), so the output reads in order. */
static void flush_deferred(struct sc_world *w, size_t diag_from, size_t msi_from)
{
    w->defer = false;
    for (size_t i = diag_from; i < w->ndiag; i++)
        print_diag(w, &w->diags[i]);
    for (size_t i = msi_from; i < w->nmsi; i++)
        print_msi(w, &w->msis[i]);
}

static void h_msi(void *o, uint64_t addr, uint32_t data)
{
    struct unitrec *ur = o;
    struct sc_world *w = ur->w;
    struct msirec m = {addr, data, (int)(ur - w->units)};
    if (w->nmsi < LOG_MAX)
        w->msis[w->nmsi++] = m;
    else
        w->log_full = true;
    if (!w->defer)
        print_msi(w, &m);
}

static void h_diag(void *o, const struct vtd_diag *d)
{
    struct unitrec *ur = o;
    struct sc_world *w = ur->w;
    struct diagrec r = {.code = d->code, .unit = (int)(ur - w->units), .sid = d->sid, .addr = d->addr};
    snprintf(r.msg, sizeof r.msg, "%s", d->msg ? d->msg : "");
    if (w->ndiag < LOG_MAX)
        w->diags[w->ndiag++] = r;
    else
        w->log_full = true;
    if (!w->defer)
        print_diag(w, &r);
}

/* ---- registers ---- */

struct vtd *sw_cur_unit(struct sc_world *w)
{
    return w->cur >= 0 ? w->units[w->cur].u : NULL;
}

uint64_t sw_reg_offset(struct sc_world *w, const struct sc_reg *r)
{
    struct vtd *u = sw_cur_unit(w);
    switch (r->kind) {
    case REG_IVA:
    case REG_IOTLB: {
        uint64_t ecap = vtd_mmio_read(u, VTD_REG_ECAP, 8);
        return VTD_FIELD_GET(ecap, 17, 8) * 16 + r->off;
    }
    case REG_FRCD_LO:
    case REG_FRCD_HI: {
        uint64_t cap = vtd_mmio_read(u, VTD_REG_CAP, 8);
        return VTD_FIELD_GET(cap, 33, 24) * 16 + r->off * VTD_FRCD_SIZE + (r->kind == REG_FRCD_HI ? 8 : 0);
    }
    default:
        return r->off;
    }
}

static void reg_event(struct sc_world *w, const char *ev, const char *name, uint64_t off, unsigned size, uint64_t v)
{
    FILE *f = sw_out(w);
    char nb[SC_NAME_MAX];
    if (!name[0] && f) { /* a driver access: name the register */
        struct vtd *u = sw_cur_unit(w);
        uint64_t cap = vtd_mmio_read(u, VTD_REG_CAP, 8), ecap = vtd_mmio_read(u, VTD_REG_ECAP, 8);
        name = sc_reg_name_at(off, VTD_FIELD_GET(ecap, 17, 8) * 16, VTD_FIELD_GET(cap, 33, 24) * 16,
                              (unsigned)VTD_FIELD_GET(cap, 47, 40) + 1, nb, sizeof nb);
    }
    /* text mode shows the value an `mmio read` asked for, the rest with verbose */
    if (!f || (!sw_json(w) && !w->o->verbose && w->c->op != OP_MMIO_READ))
        return;
    if (sw_json(w)) {
        sw_json_begin(w, ev, w->cur);
        sw_jstrkey(f, "reg", name);
        sw_jhex(f, "offset", off);
        fprintf(f, ",\"size\":%u", size);
        sw_jhex(f, "value", v);
        fprintf(f, "}\n");
    } else {
        sw_text_prefix(w, w->cur);
        fprintf(f, "%s %s (0x%" PRIx64 ", %u bytes) %s 0x%" PRIx64 "\n", ev[5] == 'r' ? "read" : "write", name, off,
                size, ev[5] == 'r' ? "=" : "<-", v);
    }
}

uint64_t sw_mmio_rd(struct sc_world *w, const char *name, uint64_t off, unsigned size)
{
    uint64_t v = vtd_mmio_read(sw_cur_unit(w), off, size);
    reg_event(w, "mmio_read", name, off, size, v);
    return v;
}

void sw_mmio_wr(struct sc_world *w, const char *name, uint64_t off, unsigned size, uint64_t v)
{
    reg_event(w, "mmio_write", name, off, size, v);
    vtd_mmio_write(sw_cur_unit(w), off, v, size);
}

/* ---- memory ---- */

static int mem_w(struct sc_world *w, uint64_t pa, const void *buf, size_t len)
{
    int r = vtd_mem_write(w->mem, pa, buf, len);
    if (r == VTD_ENOMEM)
        sw_run_error(w, "out of memory writing 0x%" PRIx64, pa);
    else if (r)
        sw_run_error(w, "0x%" PRIx64 "..0x%" PRIx64 " is not backed memory (a hole, or beyond 2^52)", pa,
                  pa + len - 1);
    return r;
}

static int w64(struct sc_world *w, uint64_t pa, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return mem_w(w, pa, b, 8);
}

static int r64(struct sc_world *w, uint64_t pa, uint64_t *v)
{
    uint8_t b[8];
    if (vtd_mem_read(w->mem, pa, b, 8)) {
        sw_run_error(w, "0x%" PRIx64 " is not backed memory", pa);
        return -1;
    }
    *v = 0;
    for (int i = 0; i < 8; i++)
        *v |= (uint64_t)b[i] << (8 * i);
    return 0;
}

int sw_zero_page(struct sc_world *w, uint64_t pa)
{
    static const uint8_t zeros[VTD_PAGE_SIZE];
    return mem_w(w, pa, zeros, sizeof zeros);
}

/* ---- commands ---- */

static int do_unit(struct sc_world *w, const struct sc_cmd *c)
{
    struct vtd_config cfg;
    if (c->v[U_PRESET] == 1)
        vtd_config_scalable(&cfg);
    else
        vtd_config_default(&cfg);
    if (SC_HAS(c, U_VER))
        cfg.ver = (uint32_t)c->v[U_VER];
    if (SC_HAS(c, U_CAP))
        cfg.cap = c->v[U_CAP];
    if (SC_HAS(c, U_ECAP))
        cfg.ecap = c->v[U_ECAP];
    cfg.cap = (cfg.cap | c->v[U_CAP_SET]) & ~c->v[U_CAP_CLR];
    cfg.ecap = (cfg.ecap | c->v[U_ECAP_SET]) & ~c->v[U_ECAP_CLR];
    if (SC_HAS(c, U_HAW))
        cfg.haw = (uint8_t)c->v[U_HAW];
    if (SC_HAS(c, U_IOTLB))
        cfg.iotlb_entries = (uint32_t)c->v[U_IOTLB];
    if (SC_HAS(c, U_IOTLB_WAYS))
        cfg.iotlb_ways = (uint32_t)c->v[U_IOTLB_WAYS];
    if (SC_HAS(c, U_CTXC))
        cfg.context_cache_entries = (uint32_t)c->v[U_CTXC];
    if (SC_HAS(c, U_PASIDC))
        cfg.pasid_cache_entries = (uint32_t)c->v[U_PASIDC];
    if (SC_HAS(c, U_PWC))
        cfg.pwc_entries = (uint32_t)c->v[U_PWC];
    if (SC_HAS(c, U_IEC))
        cfg.iec_entries = (uint32_t)c->v[U_IEC];
    if (SC_HAS(c, U_STALE))
        cfg.check_stale = c->v[U_STALE] != 0;
    if (SC_HAS(c, U_QI_ASYNC))
        cfg.qi_async = true;
    if (w->nunits == MAX_UNITS) {
        sw_run_error(w, "unit: too many units");
        return -1;
    }
    struct unitrec *ur = &w->units[w->nunits];
    memcpy(ur->name, c->name, sizeof ur->name);
    ur->w = w;
    struct vtd_host host = {.opaque = ur, .mem_read = h_read, .mem_write = h_write, .mem_cmpxchg64 = h_cmpxchg,
                            .msi = h_msi, .diag = h_diag, .mem_ptr = h_ptr};
    int r = vtd_create(&cfg, &host, &ur->u);
    if (r) {
        sw_run_error(w, "unit: the model refused this configuration (ver=0x%" PRIx32 " cap=0x%" PRIx64
                     " ecap=0x%" PRIx64 " haw=%u): %s (docs/model.md lists what it supports)",
                  cfg.ver, cfg.cap, cfg.ecap, cfg.haw, vtd_strerror(r));
        return -1;
    }
    w->cur = (int)w->nunits++;
    FILE *f = sw_out(w);
    if (f && sw_json(w)) {
        sw_json_begin(w, "unit", w->cur);
        sw_jhex(f, "ver", cfg.ver);
        sw_jhex(f, "cap", cfg.cap);
        sw_jhex(f, "ecap", cfg.ecap);
        fprintf(f, ",\"haw\":%u}\n", cfg.haw);
    } else if (f) {
        sw_text_prefix(w, -1);
        fprintf(f, "unit %s: ver 0x%" PRIx32 " cap 0x%016" PRIx64 " ecap 0x%016" PRIx64 " haw %u\n", ur->name,
                cfg.ver, cfg.cap, cfg.ecap, cfg.haw);
    }
    return 0;
}

static int do_write(struct sc_world *w, const struct sc_cmd *c)
{
    for (unsigned i = 0; i < c->nvals; i++) {
        uint8_t b[8];
        for (int k = 0; k < c->sub; k++)
            b[k] = (uint8_t)(c->vals[i] >> (8 * k));
        if (mem_w(w, c->addr + (uint64_t)i * (uint64_t)c->sub, b, (size_t)c->sub))
            return -1;
    }
    return 0;
}

static int do_fill(struct sc_world *w, const struct sc_cmd *c)
{
    uint8_t buf[4096];
    memset(buf, (int)c->v[F_BYTE], sizeof buf);
    for (uint64_t done = 0; done < c->v[F_LEN];) {
        uint64_t n = c->v[F_LEN] - done < sizeof buf ? c->v[F_LEN] - done : sizeof buf;
        if (mem_w(w, c->v[F_ADDR] + done, buf, (size_t)n))
            return -1;
        done += n;
    }
    return 0;
}

static int do_slmap(struct sc_world *w, const struct sc_cmd *c, bool map)
{
    int leaf = c->v[M_SIZE] == VTD_PAGE_SIZE ? 1 : c->v[M_SIZE] == (2ULL << 20) ? 2 : 3;
    int levels = (int)c->v[M_LEVELS];
    uint64_t iova = c->v[M_IOVA], table = c->v[M_ROOT];
    if (leaf > levels) {
        sw_run_error(w, "slmap: a %d-level table has no %s leaves", levels, leaf == 3 ? "1 GiB" : "2 MiB");
        return -1;
    }
    for (int level = levels; level > leaf; level--) {
        uint64_t ea = table + ((iova >> (12 + 9 * (level - 1))) & 511) * 8, e;
        if (r64(w, ea, &e))
            return -1;
        if (!(e & (VTD_SL_R | VTD_SL_W))) {
            if (!map) {
                sw_run_error(w, "slunmap: iova 0x%" PRIx64 " is not mapped (level-%d entry at 0x%" PRIx64
                             " is not present)", iova, level, ea);
                return -1;
            }
            if (w->pool_next + VTD_PAGE_SIZE > VTD_MEM_MAX_SIZE) {
                sw_run_error(w, "slmap: the table pool is exhausted");
                return -1;
            }
            e = w->pool_next | VTD_SL_R | VTD_SL_W;
            if (sw_zero_page(w, w->pool_next) || w64(w, ea, e))
                return -1;
            w->pool_next += VTD_PAGE_SIZE;
        } else if (e & VTD_SL_PS) {
            sw_run_error(w, "%s: iova 0x%" PRIx64 " lies in a superpage mapped at level %d (entry 0x%" PRIx64 ")",
                      map ? "slmap" : "slunmap", iova, level, ea);
            return -1;
        }
        table = e & VTD_SL_ADDR_MASK;
    }
    uint64_t ea = table + ((iova >> (12 + 9 * (leaf - 1))) & 511) * 8;
    uint64_t e = 0;
    if (map)
        e = c->v[M_PA] | (c->v[M_PERM] & 7) | (leaf > 1 ? VTD_SL_PS : 0) | (c->v[M_SNP] ? VTD_SL_SNP : 0) |
            (c->v[M_TM] ? VTD_SL_TM : 0);
    return w64(w, ea, e);
}

static int do_irte(struct sc_world *w, const struct sc_cmd *c)
{
    const uint64_t *v = c->v;
    uint64_t lo = (SC_HAS(c, I_NP) ? 0 : VTD_IRTE_P) | (v[I_FPD] ? VTD_IRTE_FPD : 0) |
                  (v[I_VECTOR] << VTD_IRTE_V_SHIFT);
    uint64_t hi = v[I_SID] | v[I_SQ] << VTD_IRTE_HI_SQ_SHIFT | v[I_SVT] << VTD_IRTE_HI_SVT_SHIFT;
    if (v[I_POSTED]) {
        lo |= VTD_IRTE_IM | (v[I_URG] ? VTD_IRTE_URG : 0) |
              (((v[I_PDA] >> 6) & 0x3FFFFFF) << VTD_IRTE_PDAL_SHIFT);
        hi |= (v[I_PDA] >> 32) << 32;
    } else {
        uint64_t dest = v[I_X2APIC] ? v[I_DEST] : v[I_DEST] << 8; /* xAPIC: DST[15:8] */
        lo |= (v[I_DM] ? VTD_IRTE_DM : 0) | (v[I_RH] ? VTD_IRTE_RH : 0) | (v[I_TM] ? VTD_IRTE_TM : 0) |
              v[I_DLM] << VTD_IRTE_DLM_SHIFT | dest << VTD_IRTE_DST_SHIFT;
    }
    uint64_t at = v[I_TABLE] + v[I_INDEX] * 16;
    return w64(w, at, lo) || w64(w, at + 8, hi) ? -1 : 0;
}

static int do_pid(struct sc_world *w, const struct sc_cmd *c)
{
    uint64_t a = c->v[P_ADDR];
    uint64_t ndst = c->v[P_X2APIC] ? c->v[P_NDST] : c->v[P_NDST] << 8;
    uint64_t ctl = (c->v[P_ON] ? VTD_PID_ON : 0) | (c->v[P_SN] ? VTD_PID_SN : 0) | c->v[P_NV] << VTD_PID_NV_SHIFT |
                   ndst << VTD_PID_NDST_SHIFT;
    for (int i = 0; i < 8; i++)
        if (w64(w, a + 8 * (uint64_t)i, i == 4 ? ctl : 0))
            return -1;
    return 0;
}

static int do_qi(struct sc_world *w, const struct sc_cmd *c)
{
    const uint64_t *v = c->v;
    uint64_t lo = 0, hi = 0;
    switch (c->sub) {
    case QI_WAIT:
        lo = VTD_DESC_WAIT | (v[Q_IF] ? VTD_DESC_WAIT_IF : 0) | (v[Q_SW] ? VTD_DESC_WAIT_SW : 0) |
             (v[Q_FN] ? VTD_DESC_WAIT_FN : 0) | v[Q_DATA] << VTD_DESC_WAIT_STDATA_SHIFT;
        hi = v[Q_ADDR];
        break;
    case QI_IOTLB:
        lo = VTD_DESC_IOTLB | v[Q_G] << VTD_DESC_G_SHIFT | (v[Q_DW] ? VTD_DESC_IOTLB_DW : 0) |
             (v[Q_DR] ? VTD_DESC_IOTLB_DR : 0) | v[Q_DID] << VTD_DESC_DID_SHIFT;
        hi = (v[Q_ADDR] & VTD_DESC_ADDR_MASK) | (v[Q_IH] ? VTD_DESC_IOTLB_IH : 0) | v[Q_AM];
        break;
    case QI_CC:
        lo = VTD_DESC_CC | v[Q_G] << VTD_DESC_G_SHIFT | v[Q_DID] << VTD_DESC_DID_SHIFT |
             v[Q_SID] << VTD_DESC_CC_SID_SHIFT | v[Q_FM] << VTD_DESC_CC_FM_SHIFT;
        break;
    case QI_IEC:
        lo = VTD_DESC_IEC | (v[Q_G] ? VTD_DESC_IEC_G : 0) | v[Q_IM] << VTD_DESC_IEC_IM_SHIFT |
             v[Q_INDEX] << VTD_DESC_IEC_IIDX_SHIFT;
        break;
    case QI_DEVTLB:
        lo = VTD_DESC_DEVTLB | (v[Q_PFSID] & 0xF) << VTD_DESC_DEVTLB_PFSID_LO_SHIFT |
             v[Q_MIP] << VTD_DESC_DEVTLB_MIP_SHIFT | v[Q_SID] << VTD_DESC_DEVTLB_SID_SHIFT |
             (v[Q_PFSID] >> 4) << VTD_DESC_DEVTLB_PFSID_HI_SHIFT;
        hi = (v[Q_ADDR] & VTD_DESC_ADDR_MASK) | (v[Q_S] ? VTD_DESC_DEVTLB_S : 0);
        break;
    default:
        lo = v[Q_LO];
        hi = v[Q_HI];
    }
    /* Append at the tail, as software does: descriptor at IQA + IQT, then
     * move IQT on by one descriptor (wrapping at the queue's end). */
    uint64_t iqa = sw_mmio_rd(w, "IQA", VTD_REG_IQA, 8);
    uint64_t iqt = sw_mmio_rd(w, "IQT", VTD_REG_IQT, 8) & VTD_IQT_QT_MASK;
    uint64_t stride = iqa & VTD_IQA_DW ? 32 : 16;
    uint64_t qsize = VTD_PAGE_SIZE << (iqa & VTD_IQA_QS_MASK);
    uint64_t at = (iqa & VTD_IQA_IQA_MASK) + iqt;
    if (w64(w, at, lo) || w64(w, at + 8, hi))
        return -1;
    if (stride == 32 && (w64(w, at + 16, 0) || w64(w, at + 24, 0)))
        return -1;
    sw_mmio_wr(w, "IQT", VTD_REG_IQT, 8, (iqt + stride) % qsize);
    return 0;
}

static void fault_event(struct sc_world *w, uint16_t sid, uint64_t addr, uint8_t reason, bool recorded)
{
    FILE *f = sw_out(w);
    const char *words = wf_fault_words(reason);
    char b[16];
    if (sw_json(w)) {
        sw_json_begin(w, "fault", w->cur);
        sw_jstrkey(f, "sid", wf_bdf(sid, b, sizeof b));
        sw_jhex(f, "addr", addr);
        sw_jhex(f, "reason", reason);
        sw_jstrkey(f, "words", words ? words : "?");
        fprintf(f, ",\"recorded\":%s}\n", recorded ? "true" : "false");
    } else {
        fprintf(f, "fault 0x%x %s: %s\n", reason, recorded ? "recorded" : "not recorded", words ? words : "?");
    }
}

static const char *dma_name(int sub)
{
    static const char *const n[] = {"?", "read", "write", "atomic", "exec", "zlr"};
    return n[sub];
}

static void finish_dma(struct sc_world *w, const struct sc_cmd *c, const struct vtd_request *rq,
                      const struct vtd_result *rs, int r);
static void do_dma(struct sc_world *w, const struct sc_cmd *c)
{
    static const uint8_t acc[] = {0, VTD_R, VTD_W, VTD_R | VTD_W, VTD_R | VTD_X, VTD_R};
    struct vtd_request req = {.sid = (uint16_t)c->v[D_SID], .at = (uint8_t)c->v[D_AT], .access = acc[c->sub],
                              .pasid_valid = SC_HAS(c, D_PASID), .priv = c->v[D_PRIV] != 0,
                              .zlr = c->sub == DMA_ZLR, .pasid = (uint32_t)c->v[D_PASID], .addr = c->v[D_ADDR]};
    struct vtd_result res;
    memset(&res, 0, sizeof res);
    size_t d0 = w->ndiag, m0 = w->nmsi;
    w->defer = true;
    int r = vtd_translate(sw_cur_unit(w), &req, &res);
    finish_dma(w, c, &req, &res, r);
    flush_deferred(w, d0, m0);
}

static void finish_dma(struct sc_world *w, const struct sc_cmd *c, const struct vtd_request *rq,
                      const struct vtd_result *rs, int r)
{
    struct vtd_request req = *rq;
    struct vtd_result res = *rs;
    if (r) {
        sw_run_error(w, "dma: the model refused the request: %s", vtd_strerror(r));
        return;
    }
    w->req = req;
    w->res = res;
    w->have_dma = true;
    w->last_is_irq = false;
    w->dma_unit = w->cur;
    FILE *f = sw_out(w);
    if (!f)
        return;
    char b[16], p[8], sz[24];
    static const char *const at[] = {"untranslated", "translation", "translated"};
    const char *st = res.status == VTD_OK ? "ok" : res.status == VTD_FAULT ? "fault" : "blocked";
    if (sw_json(w)) {
        sw_json_begin(w, "translate", w->cur);
        sw_jstrkey(f, "sid", wf_bdf(req.sid, b, sizeof b));
        sw_jhex(f, "addr", req.addr);
        sw_jstrkey(f, "access", dma_name(c->sub));
        sw_jstrkey(f, "at", at[req.at]);
        if (req.pasid_valid)
            fprintf(f, ",\"pasid\":%" PRIu32 ",\"priv\":%s", req.pasid, req.priv ? "true" : "false");
        sw_jstrkey(f, "status", st);
        if (res.status == VTD_OK) {
            sw_jhex(f, "pa", res.pa);
            sw_jhex(f, "page_size", res.page_size);
            sw_jstrkey(f, "perm", sw_perm_name(res.perm, p));
            if (req.at == VTD_AT_TRANSLATION_REQ)
                sw_jhex(f, "ats", res.ats);
        } else if (res.status == VTD_FAULT) {
            sw_jhex(f, "reason", res.fault_reason);
            fprintf(f, ",\"recorded\":%s", res.fault_recorded ? "true" : "false");
        }
        fprintf(f, "}\n");
        if (res.status == VTD_FAULT)
            fault_event(w, req.sid, req.addr, res.fault_reason, res.fault_recorded);
        return;
    }
    sw_text_prefix(w, w->cur);
    fprintf(f, "dma %s %s addr=0x%" PRIx64, dma_name(c->sub), wf_bdf(req.sid, b, sizeof b), req.addr);
    if (req.pasid_valid)
        fprintf(f, " pasid=0x%" PRIx32 "%s", req.pasid, req.priv ? " priv" : "");
    if (req.at)
        fprintf(f, " at=%s", at[req.at]);
    fprintf(f, " -> ");
    if (res.status == VTD_OK)
        fprintf(f, "translated pa=0x%" PRIx64 " (%s page, %s)\n", res.pa, wf_size_name(res.page_size, sz, sizeof sz),
                sw_perm_name(res.perm, p));
    else if (res.status == VTD_BLOCKED)
        fprintf(f, "blocked (no fault)\n");
    else
        fault_event(w, req.sid, req.addr, res.fault_reason, res.fault_recorded);
}

static void finish_msi(struct sc_world *w, const struct vtd_msi *mp, const struct vtd_irq *ip, int r);
static void do_msi(struct sc_world *w, const struct sc_cmd *c)
{
    struct vtd_msi m = {.sid = (uint16_t)c->v[MS_SID], .addr = c->v[MS_ADDR], .data = (uint32_t)c->v[MS_DATA]};
    if (SC_HAS(c, MS_HANDLE)) {
        uint64_t h = c->v[MS_HANDLE];
        m.addr = VTD_MSI_ADDR_BASE | (h & 0x7FFF) << 5 | VTD_MSI_ADDR_FORMAT | (h >> 15) << 2 |
                 (SC_HAS(c, MS_SUBHANDLE) ? VTD_MSI_ADDR_SHV : 0);
        m.data = (uint32_t)c->v[MS_SUBHANDLE];
    }
    sw_send_msi(w, &m);
}

void sw_send_msi(struct sc_world *w, const struct vtd_msi *mp)
{
    struct vtd_msi m = *mp;
    struct vtd_irq irq;
    memset(&irq, 0, sizeof irq);
    size_t d0 = w->ndiag, m0 = w->nmsi;
    w->defer = true;
    int r = vtd_remap_msi(sw_cur_unit(w), &m, &irq);
    finish_msi(w, &m, &irq, r);
    flush_deferred(w, d0, m0);
}

static void finish_msi(struct sc_world *w, const struct vtd_msi *mp, const struct vtd_irq *ip, int r)
{
    struct vtd_msi m = *mp;
    struct vtd_irq irq = *ip;
    if (r) {
        sw_run_error(w, "msi: the model refused the request: %s", vtd_strerror(r));
        return;
    }
    w->msi = m;
    w->irq = irq;
    w->have_irq = true;
    w->last_is_irq = true;
    w->irq_unit = w->cur;
    FILE *f = sw_out(w);
    if (!f)
        return;
    static const char *const kinds[] = {"passthrough", "remapped", "posted"};
    char b[16];
    if (sw_json(w)) {
        sw_json_begin(w, "irq", w->cur);
        sw_jstrkey(f, "sid", wf_bdf(m.sid, b, sizeof b));
        sw_jhex(f, "addr", m.addr);
        sw_jhex(f, "data", m.data);
        sw_jstrkey(f, "status", irq.status == VTD_OK ? "ok" : "fault");
        if (irq.status == VTD_OK) {
            sw_jstrkey(f, "kind", kinds[irq.kind % 3]);
            fprintf(f, ",\"vector\":%u", irq.vector);
            if (irq.kind == VTD_IRQ_POSTED) {
                sw_jhex(f, "pid", irq.pid_addr);
                fprintf(f, ",\"notified\":%s", irq.notified ? "true" : "false");
            } else {
                fprintf(f, ",\"dest\":%" PRIu32 ",\"delivery_mode\":%u,\"logical\":%s,\"rh\":%s,\"level\":%s",
                        irq.dest, irq.delivery_mode, irq.dest_logical ? "true" : "false",
                        irq.redir_hint ? "true" : "false", irq.level_triggered ? "true" : "false");
            }
        } else {
            sw_jhex(f, "reason", irq.fault_reason);
            fprintf(f, ",\"recorded\":%s", irq.fault_recorded ? "true" : "false");
        }
        fprintf(f, "}\n");
        if (irq.status != VTD_OK)
            fault_event(w, m.sid, m.addr, irq.fault_reason, irq.fault_recorded);
        return;
    }
    sw_text_prefix(w, w->cur);
    fprintf(f, "msi %s addr=0x%" PRIx64 " data=0x%" PRIx32 " -> ", wf_bdf(m.sid, b, sizeof b), m.addr, m.data);
    if (irq.status != VTD_OK)
        fault_event(w, m.sid, m.addr, irq.fault_reason, irq.fault_recorded);
    else if (irq.kind == VTD_IRQ_POSTED)
        fprintf(f, "posted vector 0x%x in the descriptor at 0x%" PRIx64 "%s\n", irq.vector, irq.pid_addr,
                irq.notified ? ", notification sent" : ", no notification");
    else
        fprintf(f, "%s vector 0x%x dest %" PRIu32 "%s delivery mode %u%s\n", kinds[irq.kind % 3], irq.vector,
                irq.dest, irq.dest_logical ? " (logical)" : "", irq.delivery_mode,
                irq.level_triggered ? ", level" : "");
}

/* ---- the loop ---- */

static void exec_one(struct sc_world *w, const struct sc_cmd *c)
{
    const uint64_t *v = c->v;
    FILE *f = sw_out(w);
    switch (c->op) {
    case OP_UNIT: do_unit(w, c); break;
    case OP_USE:
        for (unsigned i = 0; i < w->nunits; i++)
            if (strcmp(w->units[i].name, c->name) == 0)
                w->cur = (int)i;
        break;
    case OP_RESET: vtd_reset(sw_cur_unit(w)); break;
    case OP_HOLE:
        if (vtd_mem_add_hole(w->mem, v[H_BASE], v[H_LEN]))
            sw_run_error(w, "hole: cannot make 0x%" PRIx64 "+0x%" PRIx64 " a hole (beyond 2^52?)", v[H_BASE], v[H_LEN]);
        break;
    case OP_WRITE: do_write(w, c); break;
    case OP_FILL: do_fill(w, c); break;
    case OP_ROOT: {
        uint64_t at = v[R_TABLE] + v[R_BUS] * VTD_ROOT_SIZE;
        if (!w64(w, at, v[R_CTP] | (SC_HAS(c, R_NP) ? 0 : VTD_ROOT_LO_P)))
            w64(w, at + 8, v[R_HI]);
        break;
    }
    case OP_CONTEXT: {
        uint64_t at = v[C_TABLE] + v[C_DEVFN] * VTD_CTX_SIZE;
        uint64_t lo = v[C_SLPTPTR] | v[C_TT] << VTD_CTX_LO_TT_SHIFT | (v[C_FPD] ? VTD_CTX_LO_FPD : 0) |
                      (SC_HAS(c, C_NP) ? 0 : VTD_CTX_LO_P);
        uint64_t hi = v[C_AW] | v[C_DID] << VTD_CTX_HI_DID_SHIFT;
        if (!w64(w, at, lo))
            w64(w, at + 8, hi);
        break;
    }
    case OP_SLPTE:
        w64(w, v[S_TABLE] + v[S_INDEX] * 8, v[S_ADDR] | (v[S_PERM] & 7) | (v[S_PS] ? VTD_SL_PS : 0) |
                                                (v[S_SNP] ? VTD_SL_SNP : 0) | (v[S_TM] ? VTD_SL_TM : 0));
        break;
    case OP_SLMAP: do_slmap(w, c, true); break;
    case OP_SLUNMAP: do_slmap(w, c, false); break;
    case OP_IRTE: do_irte(w, c); break;
    case OP_PID: do_pid(w, c); break;
    case OP_MMIO_WRITE: sw_mmio_wr(w, c->reg.name, sw_reg_offset(w, &c->reg), c->reg.width, c->value); break;
    case OP_MMIO_READ: sw_mmio_rd(w, c->reg.name, sw_reg_offset(w, &c->reg), c->reg.width); break;
    case OP_GCMD: {
        /* GSTS bits sit where their GCMD commands are: shadow the persistent ones */
        uint64_t sts = sw_mmio_rd(w, "GSTS", VTD_REG_GSTS, 4) & VTD_GCMD_PERSISTENT;
        sw_mmio_wr(w, "GCMD", VTD_REG_GCMD, 4, c->sub == GCMD_CLEAR ? sts & ~c->mask : sts | c->mask);
        break;
    }
    case OP_QI: do_qi(w, c); break;
    case OP_QI_RUN:
        if (vtd_qi_run(sw_cur_unit(w)) < 0)
            sw_run_error(w, "qi run: this unit has no queued invalidation (ECAP.QI)");
        break;
    case OP_DMA: do_dma(w, c); break;
    case OP_MSI: do_msi(w, c); break;
    case OP_PRINT:
        if (f && sw_json(w)) {
            sw_json_begin(w, "print", -1);
            sw_jstrkey(f, "text", c->text);
            fprintf(f, "}\n");
        } else if (f) {
            sw_text_prefix(w, -1);
            fprintf(f, "%s\n", c->text);
        }
        break;
    case OP_EX_TRANSLATED:
    case OP_EX_FAULT:
    case OP_EX_BLOCKED:
    case OP_EX_IRQ:
    case OP_EX_FRCD:
    case OP_EX_REG:
    case OP_EX_MEM:
    case OP_EX_MSI:
    case OP_EX_NO_MSI:
    case OP_EX_DIAG:
    case OP_EX_NO_DIAG:
    case OP_EX_DRV_FAULT: sw_expect(w, c); break;
    case OP_DRV_INIT:
    case OP_DRV_DISABLE:
    case OP_DRV_DOMAIN:
    case OP_DRV_ATTACH:
    case OP_DRV_DETACH:
    case OP_DRV_MAP:
    case OP_DRV_UNMAP:
    case OP_DRV_FLUSH:
    case OP_DRV_FAULTS:
    case OP_DRV_NESTED:
    case OP_DRV_IRTE_ALLOC:
    case OP_DRV_IRTE_FREE:
    case OP_DRV_IRTE_REMAP:
    case OP_DRV_IRTE_POST:
    case OP_DRV_IRTE_CLEAR:
    case OP_DRV_PID:
    case OP_DRV_MSI: sw_drv(w, c); break;
    }
}

int sc_run(const struct sc_script *s, const struct sc_run_opts *opts, struct sc_world **keep)
{
    static const struct sc_run_opts silent;
    struct sc_world *w = calloc(1, sizeof *w);
    if (keep)
        *keep = NULL;
    if (!w)
        return 2;
    w->s = s;
    w->o = opts ? opts : &silent;
    w->cur = -1;
    w->pool_next = s->pool_next;
    w->msis = calloc(LOG_MAX, sizeof *w->msis);
    w->diags = calloc(LOG_MAX, sizeof *w->diags);
    w->dfaults = calloc(LOG_MAX, sizeof *w->dfaults);
    if (!w->msis || !w->diags || !w->dfaults || vtd_mem_create(0, &w->mem)) {
        if (w->o->err)
            fprintf(w->o->err, "%s: out of memory\n", s->file);
        sc_world_destroy(w);
        return 2;
    }
    unsigned executed = 0;
    for (unsigned i = 0; i < s->n && w->status == 0; i++) {
        const struct sc_cmd *c = &s->cmds[i];
        if (w->o->stop_line > 0 && c->line > w->o->stop_line)
            break;
        w->c = c;
        if (++executed > s->lim.max_commands) {
            sw_run_error(w, "more than %u commands", s->lim.max_commands);
            break;
        }
        exec_one(w, c);
    }
    if (w->log_full && w->o->err)
        fprintf(w->o->err, "%s: note: more than %d MSIs or diagnostics; later ones were not kept for expectations\n",
                s->file, LOG_MAX);
    FILE *f = sw_out(w);
    if (f && w->status == 0) {
        if (sw_json(w))
            fprintf(f, "{\"event\":\"summary\",\"passed\":%u,\"failed\":%u}\n", w->passed, w->failed);
        else if (w->failed)
            fprintf(f, "%s: %u of %u expectations failed\n", s->file, w->failed, w->passed + w->failed);
        else
            fprintf(f, "%s: all %u expectations passed\n", s->file, w->passed);
    }
    int status = w->status ? w->status : w->failed ? 1 : 0;
    if (keep)
        *keep = w;
    else
        sc_world_destroy(w);
    return status;
}

struct vtd *sc_world_unit(struct sc_world *w)
{
    return w ? sw_cur_unit(w) : NULL;
}

void sc_world_destroy(struct sc_world *w)
{
    if (!w)
        return;
    static const struct sc_run_opts silent;
    w->o = &silent; /* the drivers' shutdown is no event */
    w->c = NULL;
    sw_drv_destroy_all(w);
    for (unsigned i = 0; i < w->nunits; i++)
        vtd_destroy(w->units[i].u);
    vtd_mem_destroy(w->mem);
    free(w->msis);
    free(w->diags);
    free(w->dfaults);
    free(w);
}
