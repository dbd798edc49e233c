/* SPDX-License-Identifier: MIT */
/*
 * Scenario driver commands: the libvtd driver (include/vtd/drv.h) on a
 * scenario's unit, as an OS would run it.  The driver reaches the unit only
 * through its ops: register accesses (reported as mmio events, like the
 * script's own), the scenario's memory, and pages from the scenario's pool.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <vtd/defs.h>
#include <vtd/mem.h>

#include "scenario_world.h"
#include "walkfmt.h"

/* ops->opaque is the unit's record; the world's current unit is switched to
 * it around each call so that events name it. */
static struct sc_world *W(void *o)
{
    return ((struct unitrec *)o)->w;
}

static uint32_t op_read32(void *o, uint32_t off)
{
    return (uint32_t)sw_mmio_rd(W(o), "", off, 4);
}

static uint64_t op_read64(void *o, uint32_t off)
{
    return sw_mmio_rd(W(o), "", off, 8);
}

static void op_write32(void *o, uint32_t off, uint32_t v)
{
    sw_mmio_wr(W(o), "", off, 4, v);
}

static void op_write64(void *o, uint32_t off, uint64_t v)
{
    sw_mmio_wr(W(o), "", off, 8, v);
}

static int op_mem_read(void *o, uint64_t pa, void *buf, size_t len)
{
    return vtd_mem_read(W(o)->mem, pa, buf, len);
}

static int op_mem_write(void *o, uint64_t pa, const void *buf, size_t len)
{
    return vtd_mem_write(W(o)->mem, pa, buf, len);
}

/* Pages come from the scenario's pool (after every `alloc`); they are
 * never reused, so addresses stay predictable. */
static int op_page_alloc(void *o, unsigned order, uint64_t *pa, void **va)
{
    struct sc_world *w = W(o);
    if (order > 20)
        return -1;
    uint64_t size = VTD_PAGE_SIZE << order;
    uint64_t base = (w->pool_next + size - 1) & ~(size - 1);
    if (base + size > VTD_MEM_MAX_SIZE || base < w->pool_next)
        return -1;
    for (uint64_t p = 0; p < size; p += VTD_PAGE_SIZE)
        if (sw_zero_page(w, base + p))
            return -1;
    w->pool_next = base + size;
    *pa = base;
    *va = NULL;
    return 0;
}

static void op_page_free(void *o, unsigned order, uint64_t pa, void *va)
{
    (void)o, (void)order, (void)pa, (void)va;
}

static void *op_zalloc(void *o, size_t size)
{
    (void)o;
    return calloc(1, size);
}

static void op_free(void *o, void *p, size_t size)
{
    (void)o, (void)size;
    free(p);
}

static void op_flush(void *o, uint64_t pa, size_t len)
{
    (void)o, (void)pa, (void)len; /* the scenario's memory is what the unit reads */
}

static void op_relax(void *o)
{
    struct unitrec *ur = o;
    vtd_qi_run(ur->u); /* let a qi_async unit make progress while the driver polls */
}

static void op_fault(void *o, const struct vtd_drv_fault *f)
{
    struct unitrec *ur = o;
    struct sc_world *w = ur->w;
    if (w->ndfault < LOG_MAX)
        w->dfaults[w->ndfault++] = (struct drvfault){*f, (int)(ur - w->units)};
    else
        w->log_full = true;
    FILE *out = sw_out(w);
    char b[16];
    const char *words = wf_fault_words(f->reason);
    static const char *const kinds[] = {"?", "dma", "irq", "iqe", "ite", "ice", "overflow"};
    const char *kind = f->kind >= 1 && f->kind <= 6 ? kinds[f->kind] : "?";
    if (out && sw_json(w)) {
        sw_json_begin(w, "drv_fault", w->cur);
        sw_jstrkey(out, "kind", kind);
        sw_jhex(out, "reason", f->reason);
        sw_jstrkey(out, "sid", wf_bdf(f->sid, b, sizeof b));
        sw_jhex(out, "addr", f->addr);
        fprintf(out, ",\"record\":%u}\n", f->record);
    } else if (out) {
        sw_text_prefix(w, w->cur);
        fprintf(out, "  driver found a fault: %s reason 0x%x (%s) sid %s addr 0x%" PRIx64 " in record %u\n", kind,
                f->reason, words ? words : "-", wf_bdf(f->sid, b, sizeof b), f->addr, f->record);
    }
}

static void op_log(void *o, int level, const char *msg, uint64_t value)
{
    struct sc_world *w = W(o);
    FILE *out = sw_out(w);
    static const char *const lv[] = {"error", "warning", "info"};
    const char *l = level >= 0 && level <= 2 ? lv[level] : "?";
    if (out && sw_json(w)) {
        sw_json_begin(w, "drv_log", w->cur);
        sw_jstrkey(out, "level", l);
        sw_jstrkey(out, "msg", msg ? msg : "");
        sw_jhex(out, "value", value);
        fprintf(out, "}\n");
    } else if (out) {
        sw_text_prefix(w, w->cur);
        fprintf(out, "  driver %s: %s (0x%" PRIx64 ")\n", l, msg ? msg : "", value);
    }
}

static struct domrec *find_dom(struct sc_world *w, const char *name)
{
    for (unsigned i = 0; i < w->ndoms; i++)
        if (strcmp(w->doms[i].name, name) == 0)
            return &w->doms[i];
    return NULL;
}

static const char *op_name(int op)
{
    switch (op) {
    case OP_DRV_INIT: return "drv init";
    case OP_DRV_DISABLE: return "drv disable";
    case OP_DRV_DOMAIN: return "drv domain";
    case OP_DRV_ATTACH: return "drv attach";
    case OP_DRV_DETACH: return "drv detach";
    case OP_DRV_MAP: return "drv map";
    case OP_DRV_UNMAP: return "drv unmap";
    case OP_DRV_FLUSH: return "drv flush";
    case OP_DRV_NESTED: return "drv nested";
    case OP_DRV_IRTE_ALLOC: return "drv irte-alloc";
    case OP_DRV_IRTE_FREE: return "drv irte-free";
    case OP_DRV_IRTE_REMAP: return "drv irte-remap";
    case OP_DRV_IRTE_POST: return "drv irte-post";
    case OP_DRV_IRTE_CLEAR: return "drv irte-clear";
    case OP_DRV_PID: return "drv pid";
    case OP_DRV_MSI: return "drv msi";
    default: return "drv faults";
    }
}

static int drv_init(struct sc_world *w, const struct sc_cmd *c)
{
    struct unitrec *ur = &w->units[w->cur];
    if (ur->drv) {
        sw_run_error(w, "drv init: unit %s has a driver already", ur->name);
        return 1;
    }
    struct vtd_drv_ops ops = {.opaque = ur, .read32 = op_read32, .read64 = op_read64, .write32 = op_write32,
                              .write64 = op_write64, .mem_read = op_mem_read, .mem_write = op_mem_write,
                              .page_alloc = op_page_alloc, .page_free = op_page_free, .zalloc = op_zalloc,
                              .free = op_free, .flush = op_flush, .relax = op_relax, .fault = op_fault,
                              .log = op_log};
    struct vtd_drv_config cfg;
    vtd_drv_config_default(&cfg);
    const uint64_t *v = c->v;
    cfg.flags |= (v[DI_SCALABLE] ? VTD_DRV_CFG_SCALABLE : 0) | (v[DI_NOQI] ? VTD_DRV_CFG_NO_QI : 0) |
                 (v[DI_NOIR] ? VTD_DRV_CFG_NO_IR : 0) | (v[DI_X2APIC] ? VTD_DRV_CFG_X2APIC : 0) |
                 (v[DI_COMPAT] ? VTD_DRV_CFG_COMPAT_IRQ : 0);
    if (SC_HAS(c, DI_QIORDER))
        cfg.qi_order = (unsigned)v[DI_QIORDER];
    if (SC_HAS(c, DI_IRORDER))
        cfg.ir_order = (unsigned)v[DI_IRORDER];
    cfg.poll_limit = 100000;
    if (SC_HAS(c, DI_FMSI)) {
        cfg.fault_msi_addr = v[DI_FMSI];
        cfg.fault_msi_data = (uint32_t)v[DI_FDATA];
    }
    struct vtd_drv *d = NULL;
    int r = vtd_drv_create(&ops, &cfg, &d);
    if (r)
        return r;
    r = vtd_drv_enable(d);
    if (r) {
        vtd_drv_destroy(d);
        return r;
    }
    ur->drv = d;
    return 0;
}

static int drv_domain(struct sc_world *w, const struct sc_cmd *c, struct vtd_drv *d)
{
    struct vtd_drv_domain_config cfg;
    vtd_drv_domain_config_default(&cfg);
    cfg.type = (int)c->v[DD_TYPE];
    if (SC_HAS(c, DD_LEVELS))
        cfg.levels = (unsigned)c->v[DD_LEVELS];
    if (c->v[DD_DEFERRED])
        cfg.flags |= VTD_DRV_DOM_DEFERRED;
    struct vtd_drv_domain *dom = NULL;
    int r = vtd_drv_domain_create(d, &cfg, &dom);
    if (r)
        return r;
    struct domrec *dr = &w->doms[w->ndoms++];
    memcpy(dr->name, c->name, sizeof dr->name);
    dr->dom = dom;
    dr->unit = w->cur;
    FILE *out = sw_out(w);
    if (out && sw_json(w)) {
        sw_json_begin(w, "drv_domain", w->cur);
        sw_jstrkey(out, "name", c->name);
        fprintf(out, ",\"did\":%u,\"levels\":%u", vtd_drv_domain_id(dom), vtd_drv_domain_levels(dom));
        sw_jhex(out, "root", vtd_drv_domain_root(dom));
        fprintf(out, "}\n");
    } else if (out) {
        sw_text_prefix(w, w->cur);
        fprintf(out, "driver domain %s: DID %u, %u levels, top-level table at 0x%" PRIx64 "\n", c->name,
                vtd_drv_domain_id(dom), vtd_drv_domain_levels(dom), vtd_drv_domain_root(dom));
    }
    return 0;
}

static int drv_irte_alloc(struct sc_world *w, const struct sc_cmd *c, struct vtd_drv *d)
{
    const unsigned count = SC_HAS(c, DQ_COUNT) ? (unsigned)c->v[DQ_COUNT] : 1;
    uint32_t index = 0;
    int r = vtd_drv_irte_alloc(d, count, &index);
    if (r)
        return r;
    FILE *out = sw_out(w);
    if (out && sw_json(w)) {
        sw_json_begin(w, "drv_irte", w->cur);
        fprintf(out, ",\"index\":%" PRIu32 ",\"count\":%u}\n", index, count);
    } else if (out) {
        sw_text_prefix(w, w->cur);
        fprintf(out, "driver IRTE%s %" PRIu32 "%s", count > 1 ? "s" : "", index, count > 1 ? ".." : "\n");
        if (count > 1)
            fprintf(out, "%" PRIu32 "\n", index + count - 1);
    }
    return 0;
}

/* The remappable-format message the driver composes for the IRTE, sent by
 * the device `sid` (message n of a multi-message block). */
static int drv_msi(struct sc_world *w, const struct sc_cmd *c, struct vtd_drv *d)
{
    struct vtd_msi m = {.sid = (uint16_t)c->v[DQ_SID]};
    int r = vtd_drv_msi_compose(d, (uint32_t)c->v[DQ_INDEX], c->v[DQ_MULTI] != 0, &m.addr, &m.data);
    if (r)
        return r;
    m.data += (uint32_t)c->v[DQ_N];
    sw_send_msi(w, &m);
    return 0;
}

static int drv_irte_call(struct sc_world *w, const struct sc_cmd *c, struct vtd_drv *d)
{
    const uint64_t *v = c->v;
    const uint32_t index = (uint32_t)v[DQ_INDEX];
    const int svt = SC_HAS(c, DQ_SVT) ? (int)v[DQ_SVT] : VTD_DRV_SVT_SID;
    switch (c->op) {
    case OP_DRV_IRTE_ALLOC: return drv_irte_alloc(w, c, d);
    case OP_DRV_IRTE_FREE: return vtd_drv_irte_free(d, index, SC_HAS(c, DQ_COUNT) ? (unsigned)v[DQ_COUNT] : 1);
    case OP_DRV_IRTE_REMAP: {
        struct vtd_drv_irq_target t = {.vector = (uint8_t)v[DQ_VECTOR], .delivery_mode = (uint8_t)v[DQ_DLM],
                                       .dest = (uint32_t)v[DQ_DEST], .dest_logical = v[DQ_LOGICAL] != 0,
                                       .redir_hint = v[DQ_RH] != 0, .level = v[DQ_LEVEL] != 0};
        return vtd_drv_irte_set_remapped(d, index, (uint16_t)v[DQ_SID], svt, &t);
    }
    case OP_DRV_IRTE_POST:
        return vtd_drv_irte_set_posted(d, index, (uint16_t)v[DQ_SID], svt, v[DQ_PID], (uint8_t)v[DQ_VECTOR],
                                       v[DQ_URG] != 0);
    case OP_DRV_IRTE_CLEAR: return vtd_drv_irte_clear(d, index);
    case OP_DRV_PID: return vtd_drv_pid_init(d, v[DQ_ADDR], (uint8_t)v[DQ_NV], (uint32_t)v[DQ_NDST]);
    default: return drv_msi(w, c, d);
    }
}

static int drv_call(struct sc_world *w, const struct sc_cmd *c)
{
    if (c->op == OP_DRV_INIT)
        return drv_init(w, c);
    struct vtd_drv *d = w->units[w->cur].drv;
    if (!d) {
        sw_run_error(w, "%s: unit %s has no driver ('drv init' first)", op_name(c->op), w->units[w->cur].name);
        return 1;
    }
    const uint64_t *v = c->v;
    struct domrec *dr = NULL;
    if (c->op >= OP_DRV_IRTE_ALLOC && c->op <= OP_DRV_MSI)
        return drv_irte_call(w, c, d);
    if (c->op == OP_DRV_ATTACH || c->op == OP_DRV_NESTED || c->op == OP_DRV_MAP || c->op == OP_DRV_UNMAP ||
        c->op == OP_DRV_FLUSH) {
        dr = find_dom(w, c->name);
        if (!dr || dr->unit != w->cur) {
            sw_run_error(w, "%s: domain '%s' %s", op_name(c->op), c->name,
                         dr ? "belongs to another unit's driver" : "was not created (its drv domain failed)");
            return 1;
        }
    }
    switch (c->op) {
    case OP_DRV_DISABLE: return vtd_drv_disable(d);
    case OP_DRV_DOMAIN:
        if (w->ndoms == MAX_DOMAINS) {
            sw_run_error(w, "drv domain: too many domains");
            return 1;
        }
        return drv_domain(w, c, d);
    case OP_DRV_ATTACH: {
        const unsigned fl = (v[DA_ATS] ? VTD_DRV_ATTACH_ATS : 0) | (v[DA_FPD] ? VTD_DRV_ATTACH_FPD : 0);
        if (SC_HAS(c, DA_PASID))
            return vtd_drv_attach_pasid(dr->dom, (uint16_t)v[DA_SID], (uint32_t)v[DA_PASID], fl);
        return vtd_drv_attach(dr->dom, (uint16_t)v[DA_SID], fl);
    }
    case OP_DRV_NESTED:
        return vtd_drv_attach_nested(dr->dom, (uint16_t)v[DA_SID], (uint32_t)v[DA_PASID], v[DA_FLPTR],
                                     SC_HAS(c, DA_LEVELS) ? (unsigned)v[DA_LEVELS] : 4,
                                     v[DA_FPD] ? VTD_DRV_ATTACH_FPD : 0);
    case OP_DRV_DETACH:
        if (SC_HAS(c, DA_PASID))
            return vtd_drv_detach_pasid(d, (uint16_t)v[DA_SID], (uint32_t)v[DA_PASID]);
        return vtd_drv_detach(d, (uint16_t)v[DA_SID]);
    case OP_DRV_MAP: {
        unsigned prot = (v[DM_PERM] & VTD_R ? VTD_DRV_PROT_READ : 0) | (v[DM_PERM] & VTD_W ? VTD_DRV_PROT_WRITE : 0) |
                        (v[DM_PERM] & VTD_X ? VTD_DRV_PROT_EXEC : 0) | (v[DM_SNOOP] ? VTD_DRV_PROT_SNOOP : 0);
        return vtd_drv_map(dr->dom, v[DM_IOVA], v[DM_PA], v[DM_SIZE], prot);
    }
    case OP_DRV_UNMAP: return vtd_drv_unmap(dr->dom, v[DM_IOVA], v[DM_SIZE], NULL);
    case OP_DRV_FLUSH: return vtd_drv_flush(dr->dom);
    default: {
        int r = vtd_drv_fault_poll(d);
        return r < 0 ? r : 0;
    }
    }
}

void sw_drv(struct sc_world *w, const struct sc_cmd *c)
{
    int r = drv_call(w, c);
    if (r == 1) /* an error of the scenario, reported already */
        return;
    static const char *const errs[] = {"ok", "EINVAL", "ENOMEM", "ENOTSUP", "EBUSY", "EEXIST", "ENOENT",
                                       "ENOSPC", "ETIMEDOUT", "EIO"};
    const char *got = r <= 0 && r >= -9 ? errs[-r] : "?";
    if (SC_HAS(c, DV_EXPECT)) {
        int want = -(int)c->v[DV_EXPECT];
        if (r == want)
            sw_expect_result(w, true, "drv");
        else
            sw_expect_result(w, false, "%s returned %s (%s), expected %s", op_name(c->op), got,
                             r ? vtd_drv_strerror(r) : "success", errs[-want]);
    } else if (r) {
        sw_run_error(w, "%s failed: %s (%s); write expect=%s if that is the point", op_name(c->op), got,
                     vtd_drv_strerror(r), got);
    }
}

void sw_drv_destroy_all(struct sc_world *w)
{
    /* the driver shuts the unit down through MMIO: before the units go */
    for (unsigned i = 0; i < w->nunits; i++) {
        if (w->units[i].drv) {
            w->cur = (int)i;
            vtd_drv_destroy(w->units[i].drv);
            w->units[i].drv = NULL;
        }
    }
}
