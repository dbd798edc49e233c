/* SPDX-License-Identifier: MIT */
/*
 * Scenario expectations: checks of the last request's outcome, registers,
 * memory, and the MSIs and diagnostics the units reported.  Registers and
 * memory are read without making events of it.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include <vtd/defs.h>
#include <vtd/mem.h>

#include "scenario_world.h"
#include "walkfmt.h"

void sw_expect_result(struct sc_world *w, bool ok, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ok)
        w->passed++;
    else
        w->failed++;
    FILE *f = sw_out(w);
    if (f && sw_json(w)) {
        sw_json_begin(w, "expect", w->cur);
        fprintf(f, ",\"ok\":%s", ok ? "true" : "false");
        if (!ok)
            sw_jstrkey(f, "msg", msg);
        fprintf(f, "}\n");
    }
    FILE *e = w->o ? w->o->err : NULL;
    if (!ok && e)
        fprintf(e, "%s:%d:%d: expectation failed: %s\n", w->s->file, w->c->line, w->c->col, msg);
}

static const char *result_words(struct sc_world *w, char *buf, size_t len)
{
    char p[8], sz[24];
    if (w->last_is_irq) {
        if (w->irq.status == VTD_OK)
            snprintf(buf, len, "the interrupt was not blocked (%s)",
                     w->irq.kind == VTD_IRQ_POSTED ? "posted" : w->irq.kind == VTD_IRQ_REMAPPED ? "remapped"
                                                                                                : "passed through");
        else
            snprintf(buf, len, "the interrupt faulted with reason 0x%x", w->irq.fault_reason);
    } else if (w->res.status == VTD_OK) {
        snprintf(buf, len, "the request was translated to pa=0x%" PRIx64 " (%s, %s)", w->res.pa,
                 wf_size_name(w->res.page_size, sz, sizeof sz), sw_perm_name(w->res.perm, p));
    } else if (w->res.status == VTD_BLOCKED) {
        snprintf(buf, len, "the request was blocked without a fault");
    } else {
        const char *words = wf_fault_words(w->res.fault_reason);
        snprintf(buf, len, "the request faulted with reason 0x%x (%s)%s", w->res.fault_reason, words ? words : "?",
                 w->res.fault_recorded ? "" : ", not recorded");
    }
    return buf;
}

/* A fault record F=1 with this reason and source-id (and page, for DMA)? */
static bool find_record(struct sc_world *w, uint8_t reason, uint16_t sid, bool dma, uint64_t addr)
{
    struct vtd *u = sw_cur_unit(w);
    uint64_t cap = vtd_mmio_read(u, VTD_REG_CAP, 8);
    uint64_t base = VTD_FIELD_GET(cap, 33, 24) * 16;
    unsigned n = (unsigned)VTD_FIELD_GET(cap, 47, 40) + 1;
    for (unsigned i = 0; i < n; i++) {
        uint64_t lo = vtd_mmio_read(u, base + 16 * i, 8), hi = vtd_mmio_read(u, base + 16 * i + 8, 8);
        if (!(hi & VTD_FRCD_HI_F) || VTD_FIELD_GET(hi, 39, 32) != reason || (hi & VTD_FRCD_HI_SID_MASK) != sid)
            continue;
        if (!dma || (lo & VTD_FRCD_LO_FI_MASK) == (addr & VTD_FRCD_LO_FI_MASK))
            return true;
    }
    return false;
}

static void ex_translated(struct sc_world *w, const struct sc_cmd *c)
{
    char b[200], p[8], q[8], sz[24], sz2[24];
    if (!w->have_dma || w->res.status != VTD_OK) {
        sw_expect_result(w, false, "expected a translation, but %s", result_words(w, b, sizeof b));
        return;
    }
    if (SC_HAS(c, ET_PA) && w->res.pa != c->v[ET_PA])
        sw_expect_result(w, false, "expected pa=0x%" PRIx64 ", got pa=0x%" PRIx64, c->v[ET_PA], w->res.pa);
    else if (SC_HAS(c, ET_SIZE) && w->res.page_size != c->v[ET_SIZE])
        sw_expect_result(w, false, "expected a %s page, got a %s page", wf_size_name(c->v[ET_SIZE], sz, sizeof sz),
                      wf_size_name(w->res.page_size, sz2, sizeof sz2));
    else if (SC_HAS(c, ET_PERM) && w->res.perm != c->v[ET_PERM])
        sw_expect_result(w, false, "expected perm=%s, got perm=%s", sw_perm_name((uint8_t)c->v[ET_PERM], p),
                      sw_perm_name(w->res.perm, q));
    else
        sw_expect_result(w, true, "translated");
}

static void ex_fault(struct sc_world *w, const struct sc_cmd *c)
{
    char b[200];
    bool irq = w->last_is_irq;
    int status = irq ? w->irq.status : w->res.status;
    uint8_t reason = irq ? w->irq.fault_reason : w->res.fault_reason;
    bool rec = irq ? w->irq.fault_recorded : w->res.fault_recorded;
    uint8_t want = (uint8_t)c->v[EF_REASON];
    const char *words = wf_fault_words(want);
    if (status != VTD_FAULT || reason != want) {
        sw_expect_result(w, false, "expected fault reason 0x%x (%s), but %s", want, words ? words : "?",
                      result_words(w, b, sizeof b));
        return;
    }
    if (SC_HAS(c, EF_SUPPRESSED) && rec) {
        sw_expect_result(w, false, "expected fault 0x%x not to be recorded, but it was", want);
        return;
    }
    if (SC_HAS(c, EF_RECORDED)) {
        if (!rec) {
            sw_expect_result(w, false, "expected fault 0x%x to be recorded, but it was not (FPD, PFO or a pending "
                                    "record of the same source-id suppressed it)", want);
            return;
        }
        int saved = w->cur;
        w->cur = irq ? w->irq_unit : w->dma_unit;
        bool found = find_record(w, want, irq ? w->msi.sid : w->req.sid, !irq, w->req.addr);
        w->cur = saved;
        if (!found) {
            sw_expect_result(w, false, "fault 0x%x was reported as recorded, but no fault recording register holds "
                                    "it (F=1, FR=0x%x, SID=%s)", want, want,
                          wf_bdf(irq ? w->msi.sid : w->req.sid, b, sizeof b));
            return;
        }
    }
    sw_expect_result(w, true, "fault");
}

static void ex_irq(struct sc_world *w, const struct sc_cmd *c)
{
    static const char *const kinds[] = {"passthrough", "remapped", "posted"};
    char b[200];
    const struct vtd_irq *q = &w->irq;
    if (!w->have_irq || q->status != VTD_OK) {
        sw_expect_result(w, false, "expected a %s interrupt, but %s", kinds[c->v[EI_KIND]],
                      w->have_irq ? result_words(w, b, sizeof b) : "no msi was sent");
        return;
    }
    if (q->kind != c->v[EI_KIND])
        sw_expect_result(w, false, "expected a %s interrupt, got a %s one", kinds[c->v[EI_KIND]], kinds[q->kind % 3]);
    else if (SC_HAS(c, EI_VECTOR) && q->vector != c->v[EI_VECTOR])
        sw_expect_result(w, false, "expected vector 0x%" PRIx64 ", got 0x%x", c->v[EI_VECTOR], q->vector);
    else if (SC_HAS(c, EI_DEST) && q->dest != c->v[EI_DEST])
        sw_expect_result(w, false, "expected dest %" PRIu64 ", got %" PRIu32, c->v[EI_DEST], q->dest);
    else if (SC_HAS(c, EI_DLM) && q->delivery_mode != c->v[EI_DLM])
        sw_expect_result(w, false, "expected delivery mode %" PRIu64 ", got %u", c->v[EI_DLM], q->delivery_mode);
    else if (SC_HAS(c, EI_LOGICAL) && !q->dest_logical)
        sw_expect_result(w, false, "expected a logical destination, got a physical one");
    else if (SC_HAS(c, EI_LEVEL) && !q->level_triggered)
        sw_expect_result(w, false, "expected a level-triggered interrupt, got an edge-triggered one");
    else if (SC_HAS(c, EI_RH) && !q->redir_hint)
        sw_expect_result(w, false, "expected the redirection hint set");
    else if (SC_HAS(c, EI_NOTIFIED) && !q->notified)
        sw_expect_result(w, false, "expected a notification event, but none was sent (ON was set, or SN without URG)");
    else if (SC_HAS(c, EI_NO_NOTIFY) && q->notified)
        sw_expect_result(w, false, "expected no notification event, but one was sent");
    else
        sw_expect_result(w, true, "irq");
}

static void ex_frcd(struct sc_world *w, const struct sc_cmd *c)
{
    static const char *const types[] = {"write", "read", "page-request", "atomic"};
    struct sc_reg r = {.kind = REG_FRCD_LO, .off = c->v[ER_INDEX]};
    uint64_t lo = vtd_mmio_read(sw_cur_unit(w), sw_reg_offset(w, &r), 8);
    r.kind = REG_FRCD_HI;
    uint64_t hi = vtd_mmio_read(sw_cur_unit(w), sw_reg_offset(w, &r), 8);
    unsigned idx = (unsigned)c->v[ER_INDEX];
    unsigned fr = (unsigned)VTD_FIELD_GET(hi, 39, 32);
    unsigned type = (hi & VTD_FRCD_HI_T1 ? 1u : 0u) | (hi & VTD_FRCD_HI_T2 ? 2u : 0u);
    char b[16], b2[16];
    if (!(hi & VTD_FRCD_HI_F))
        sw_expect_result(w, false, "fault record %u is not pending (F=0)", idx);
    else if (SC_HAS(c, ER_REASON) && fr != c->v[ER_REASON])
        sw_expect_result(w, false, "fault record %u: expected FR=0x%" PRIx64 ", got FR=0x%x", idx, c->v[ER_REASON], fr);
    else if (SC_HAS(c, ER_SID) && (hi & 0xFFFF) != c->v[ER_SID])
        sw_expect_result(w, false, "fault record %u: expected SID=%s, got SID=%s", idx,
                      wf_bdf((uint16_t)c->v[ER_SID], b, sizeof b), wf_bdf((uint16_t)hi, b2, sizeof b2));
    else if (SC_HAS(c, ER_ADDR) && (lo & VTD_FRCD_LO_FI_MASK) != (c->v[ER_ADDR] & VTD_FRCD_LO_FI_MASK))
        sw_expect_result(w, false, "fault record %u: expected FI=0x%" PRIx64 ", got FI=0x%" PRIx64, idx,
                      (uint64_t)(c->v[ER_ADDR] & VTD_FRCD_LO_FI_MASK), (uint64_t)(lo & VTD_FRCD_LO_FI_MASK));
    else if (SC_HAS(c, ER_TYPE) && type != c->v[ER_TYPE])
        sw_expect_result(w, false, "fault record %u: expected a %s request (T1,T2), got %s", idx, types[c->v[ER_TYPE]],
                      types[type]);
    else
        sw_expect_result(w, true, "frcd");
}

static void ex_reg(struct sc_world *w, const struct sc_cmd *c)
{
    uint64_t off = sw_reg_offset(w, &c->reg);
    uint64_t raw = vtd_mmio_read(sw_cur_unit(w), off, c->reg.width);
    uint64_t v = raw & c->mask;
    if (c->reg.field)
        v = (v & c->reg.field) >> __builtin_ctzll(c->reg.field);
    bool ok = (v == c->value) == (c->cmp == CMP_EQ);
    if (ok)
        sw_expect_result(w, true, "reg");
    else
        sw_expect_result(w, false, "%s%s%s is 0x%" PRIx64 " (register 0x%" PRIx64 " at 0x%" PRIx64 "), expected %s0x%" PRIx64,
                      c->reg.name, c->reg.field ? "." : "", c->reg.fname, v, raw, off,
                      c->cmp == CMP_EQ ? "" : "anything but ", c->value);
}

static void ex_mem(struct sc_world *w, const struct sc_cmd *c)
{
    uint8_t b[8] = {0};
    if (vtd_mem_read(w->mem, c->addr, b, (size_t)c->sub)) {
        sw_expect_result(w, false, "0x%" PRIx64 " is not backed memory", c->addr);
        return;
    }
    uint64_t v = 0;
    for (int i = 0; i < c->sub; i++)
        v |= (uint64_t)b[i] << (8 * i);
    v &= c->mask;
    bool ok = (v == c->value) == (c->cmp == CMP_EQ);
    if (ok)
        sw_expect_result(w, true, "mem");
    else
        sw_expect_result(w, false, "memory at 0x%" PRIx64 " holds 0x%" PRIx64 ", expected %s0x%" PRIx64, c->addr, v,
                      c->cmp == CMP_EQ ? "" : "anything but ", c->value);
}

static void ex_msi(struct sc_world *w, const struct sc_cmd *c)
{
    for (size_t i = w->msi_seen; i < w->nmsi; i++) {
        const struct msirec *m = &w->msis[i];
        if ((!SC_HAS(c, EM_ADDR) || m->addr == c->v[EM_ADDR]) && (!SC_HAS(c, EM_DATA) || m->data == c->v[EM_DATA])) {
            w->msi_seen = i + 1;
            sw_expect_result(w, true, "msi");
            return;
        }
    }
    char list[256];
    size_t k = 0;
    list[0] = 0;
    for (size_t i = w->msi_seen; i < w->nmsi && k + 48 < sizeof list; i++)
        k += (size_t)snprintf(list + k, sizeof list - k, "%s addr=0x%" PRIx64 " data=0x%" PRIx32, k ? "," : "",
                              w->msis[i].addr, w->msis[i].data);
    char want[96];
    if (SC_HAS(c, EM_ADDR) && SC_HAS(c, EM_DATA))
        snprintf(want, sizeof want, "addr=0x%" PRIx64 " data=0x%" PRIx64, c->v[EM_ADDR], c->v[EM_DATA]);
    else if (SC_HAS(c, EM_ADDR))
        snprintf(want, sizeof want, "addr=0x%" PRIx64, c->v[EM_ADDR]);
    else if (SC_HAS(c, EM_DATA))
        snprintf(want, sizeof want, "data=0x%" PRIx64, c->v[EM_DATA]);
    else
        snprintf(want, sizeof want, "any");
    sw_expect_result(w, false, "expected an MSI (%s) from the unit since the last MSI expectation; %s%s", want,
                  w->nmsi > w->msi_seen ? "sent:" : "none was sent", list);
    w->msi_seen = w->nmsi;
}

static void ex_diag(struct sc_world *w, const struct sc_cmd *c)
{
    for (size_t i = w->diag_seen; i < w->ndiag; i++)
        if ((uint64_t)w->diags[i].code == c->v[ED_CODE]) {
            w->diag_seen = i + 1;
            sw_expect_result(w, true, "diag");
            return;
        }
    char list[256];
    size_t k = 0;
    list[0] = 0;
    for (size_t i = w->diag_seen; i < w->ndiag && k + 40 < sizeof list; i++) {
        const char *n = sc_diag_name(w->diags[i].code);
        k += (size_t)snprintf(list + k, sizeof list - k, "%s %s", k ? "," : "", n ? n : "?");
    }
    const char *n = sc_diag_name((int)c->v[ED_CODE]);
    sw_expect_result(w, false, "expected diagnostic %s (%" PRIu64 ") since the last diag expectation; %s%s",
                  n ? n : "?", c->v[ED_CODE], w->ndiag > w->diag_seen ? "reported:" : "none was reported", list);
    w->diag_seen = w->ndiag;
}

static void ex_none(struct sc_world *w, bool msi)
{
    size_t seen = msi ? w->msi_seen : w->diag_seen, n = msi ? w->nmsi : w->ndiag;
    if (seen == n) {
        sw_expect_result(w, true, "none");
        return;
    }
    if (msi) {
        const struct msirec *m = &w->msis[seen];
        sw_expect_result(w, false, "expected no MSI from the unit, but %zu sent (first: addr=0x%" PRIx64
                                " data=0x%" PRIx32 ")", n - seen, m->addr, m->data);
        w->msi_seen = n;
    } else {
        const char *name = sc_diag_name(w->diags[seen].code);
        sw_expect_result(w, false, "expected no diagnostic, but %zu reported (first: %s)", n - seen,
                      name ? name : "?");
        w->diag_seen = n;
    }
}

/* A fault the driver reported (vtd_drv_fault_poll) since the last such expectation. */
static void ex_drv_fault(struct sc_world *w, const struct sc_cmd *c)
{
    for (size_t i = w->dfault_seen; i < w->ndfault; i++) {
        const struct vtd_drv_fault *f = &w->dfaults[i].f;
        if ((!SC_HAS(c, EDF_REASON) || f->reason == c->v[EDF_REASON]) && (!SC_HAS(c, EDF_SID) || f->sid == c->v[EDF_SID]) &&
            (!SC_HAS(c, EDF_ADDR) || f->addr == (c->v[EDF_ADDR] & ~0xFFFULL))) {
            w->dfault_seen = i + 1;
            sw_expect_result(w, true, "drv-fault");
            return;
        }
    }
    size_t n = w->ndfault - w->dfault_seen;
    char b[16];
    if (n)
        sw_expect_result(w, false, "no fault the driver reported matches; it reported %zu (first: kind %d reason 0x%x "
                                   "sid %s addr 0x%" PRIx64 ")", n, w->dfaults[w->dfault_seen].f.kind,
                         w->dfaults[w->dfault_seen].f.reason, wf_bdf(w->dfaults[w->dfault_seen].f.sid, b, sizeof b),
                         w->dfaults[w->dfault_seen].f.addr);
    else
        sw_expect_result(w, false, "the driver reported no fault since the last drv-fault expectation (run 'drv faults' "
                                   "to poll)");
    w->dfault_seen = w->ndfault;
}

void sw_expect(struct sc_world *w, const struct sc_cmd *c)
{
    switch (c->op) {
    case OP_EX_TRANSLATED: ex_translated(w, c); break;
    case OP_EX_FAULT: ex_fault(w, c); break;
    case OP_EX_BLOCKED: {
        char b[200];
        if (w->res.status == VTD_BLOCKED)
            sw_expect_result(w, true, "blocked");
        else
            sw_expect_result(w, false, "expected the request to be blocked, but %s", result_words(w, b, sizeof b));
        break;
    }
    case OP_EX_IRQ: ex_irq(w, c); break;
    case OP_EX_FRCD: ex_frcd(w, c); break;
    case OP_EX_REG: ex_reg(w, c); break;
    case OP_EX_MEM: ex_mem(w, c); break;
    case OP_EX_MSI: ex_msi(w, c); break;
    case OP_EX_NO_MSI: ex_none(w, true); break;
    case OP_EX_DIAG: ex_diag(w, c); break;
    case OP_EX_NO_DIAG: ex_none(w, false); break;
    case OP_EX_DRV_FAULT: ex_drv_fault(w, c); break;
    }
}
