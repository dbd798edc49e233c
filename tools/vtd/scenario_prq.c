/* SPDX-License-Identifier: MIT */
/*
 * Scenario page requests (docs/scenario.md, docs/page-requests.md): the
 * `page-request` command (vtd_page_request: an endpoint's PCIe page request
 * message), the page group responses the unit delivers to endpoints
 * (vtd_host.page_response: the ones software submitted as QI type 9 and the
 * ones the unit made itself), and their expectations.
 */
#include <inttypes.h>
#include <string.h>

#include <vtd/defs.h>

#include "scenario_world.h"
#include "walkfmt.h"

static const char *const prq_status[] = {"queued", "fault", "overflow", "dropped"};

const char *sw_prc_name(uint8_t code, char *buf, size_t len)
{
    switch (code) {
    case VTD_PRC_SUCCESS: return "success";
    case VTD_PRC_INVALID_REQUEST: return "invalid";
    case VTD_PRC_FAILURE: return "failure";
    default: snprintf(buf, len, "0x%x", code); return buf;
    }
}

const char *sw_prq_access(bool r, bool w)
{
    return r ? (w ? "rw" : "read") : (w ? "write" : "none");
}

/* ---- page group responses ---- */

void sw_print_presp(struct sc_world *w, const struct presprec *p)
{
    FILE *f = sw_out(w);
    if (!f)
        return;
    char b[16], cb[8];
    const char *code = sw_prc_name(p->r.code, cb, sizeof cb);
    if (sw_json(w)) {
        sw_json_begin(w, "page_response", p->unit);
        sw_jstrkey(f, "sid", wf_bdf(p->r.sid, b, sizeof b));
        if (p->r.pasid_valid)
            fprintf(f, ",\"pasid\":%" PRIu32, p->r.pasid);
        fprintf(f, ",\"prgi\":%u", p->r.prgi);
        sw_jstrkey(f, "code", code);
        fprintf(f, "}\n");
        return;
    }
    sw_text_prefix(w, p->unit);
    fprintf(f, "  the unit sends a page group response to %s", wf_bdf(p->r.sid, b, sizeof b));
    if (p->r.pasid_valid)
        fprintf(f, " pasid=0x%" PRIx32, p->r.pasid);
    fprintf(f, ": prgi=0x%x %s\n", p->r.prgi, code);
}

void sw_h_page_response(void *o, const struct vtd_page_resp *r)
{
    struct unitrec *ur = o;
    struct sc_world *w = ur->w;
    struct presprec p = {*r, (int)(ur - w->units)};
    if (w->npresp < LOG_MAX)
        w->presps[w->npresp++] = p;
    else
        w->log_full = true;
    if (!w->defer)
        sw_print_presp(w, &p);
}

/* ---- the request ---- */

static void print_request(struct sc_world *w, const struct vtd_page_req *r, const struct vtd_page_req_result *res)
{
    FILE *f = sw_out(w);
    if (!f)
        return;
    char b[16], cb[8];
    const char *words = res->status == VTD_PRQ_FAULT ? wf_fault_words(res->fault_reason) : NULL;
    if (sw_json(w)) {
        sw_json_begin(w, "page_request", w->cur);
        sw_jstrkey(f, "sid", wf_bdf(r->sid, b, sizeof b));
        sw_jhex(f, "addr", r->addr);
        sw_jstrkey(f, "access", sw_prq_access(r->read, r->write));
        if (r->pasid_valid)
            fprintf(f, ",\"pasid\":%" PRIu32 ",\"priv\":%s,\"exec\":%s", r->pasid, r->priv ? "true" : "false",
                    r->exe ? "true" : "false");
        fprintf(f, ",\"lpig\":%s,\"prgi\":%u", r->lpig ? "true" : "false", r->prgi);
        sw_jstrkey(f, "status", prq_status[res->status & 3]);
        if (res->status == VTD_PRQ_QUEUED)
            sw_jhex(f, "desc", res->desc_addr);
        if (res->status == VTD_PRQ_FAULT) {
            sw_jhex(f, "reason", res->fault_reason);
            sw_jstrkey(f, "words", words ? words : "?");
            fprintf(f, ",\"recorded\":%s", res->fault_recorded ? "true" : "false");
        }
        if (res->responded)
            sw_jstrkey(f, "response", sw_prc_name(res->code, cb, sizeof cb));
        fprintf(f, "}\n");
        return;
    }
    sw_text_prefix(w, w->cur);
    fprintf(f, "page-request %s %s addr=0x%" PRIx64, sw_prq_access(r->read, r->write), wf_bdf(r->sid, b, sizeof b),
            r->addr);
    if (r->pasid_valid)
        fprintf(f, " pasid=0x%" PRIx32 "%s%s", r->pasid, r->priv ? " priv" : "", r->exe ? " exec" : "");
    fprintf(f, "%s prgi=0x%x -> ", r->lpig ? " lpig" : "", r->prgi);
    if (res->status == VTD_PRQ_QUEUED)
        fprintf(f, "queued, descriptor at 0x%" PRIx64, res->desc_addr);
    else if (res->status == VTD_PRQ_FAULT)
        fprintf(f, "fault 0x%x %s: %s", res->fault_reason, res->fault_recorded ? "recorded" : "not recorded",
                words ? words : "?");
    else
        fprintf(f, "%s", prq_status[res->status & 3]);
    if (res->responded)
        fprintf(f, "; the unit answers %s", sw_prc_name(res->code, cb, sizeof cb));
    fprintf(f, "\n");
}

void sw_page_request(struct sc_world *w, const struct sc_cmd *c)
{
    const uint64_t *v = c->v;
    struct vtd_page_req r = {.sid = (uint16_t)v[PR_SID], .pasid_valid = SC_HAS(c, PR_PASID),
                             .pasid = (uint32_t)v[PR_PASID], .priv = v[PR_PRIV] != 0, .exe = v[PR_EXEC] != 0,
                             .read = (c->sub & VTD_R) != 0, .write = (c->sub & VTD_W) != 0, .lpig = v[PR_LPIG] != 0,
                             .prgi = (uint16_t)v[PR_PRGI], .addr = v[PR_ADDR]};
    struct vtd_page_req_result res;
    memset(&res, 0, sizeof res);
    sw_defer_begin(w);
    int rc = vtd_page_request(sw_cur_unit(w), &r, &res);
    if (rc) {
        sw_defer_end(w);
        sw_run_error(w, "page-request: %s", rc == VTD_ENOTSUP
                                                ? "the unit has no ECAP.PRS (page requests; 'unit scalable' has it)"
                                                : vtd_strerror(rc));
        return;
    }
    w->have_prq = true;
    w->prq_unit = w->cur;
    w->prq = r;
    w->prq_res = res;
    print_request(w, &r, &res);
    sw_defer_end(w);
}

/* ---- expectations ---- */

static void ex_request(struct sc_world *w, const struct sc_cmd *c)
{
    const struct vtd_page_req_result *res = &w->prq_res;
    char cb[8], want[8];
    if (res->status != (int)c->v[EP_STATUS]) {
        sw_expect_result(w, false, "the last page request was %s, expected %s", prq_status[res->status & 3],
                         prq_status[c->v[EP_STATUS] & 3]);
        return;
    }
    if (SC_HAS(c, EP_REASON) && res->fault_reason != c->v[EP_REASON]) {
        sw_expect_result(w, false, "the last page request faulted 0x%x, expected 0x%" PRIx64, res->fault_reason,
                         c->v[EP_REASON]);
        return;
    }
    if (SC_HAS(c, EP_DESC) && res->desc_addr != c->v[EP_DESC]) {
        sw_expect_result(w, false, "the last page request's descriptor is at 0x%" PRIx64 ", expected 0x%" PRIx64,
                         res->desc_addr, c->v[EP_DESC]);
        return;
    }
    if (SC_HAS(c, EP_CODE) && (!res->responded || res->code != c->v[EP_CODE])) {
        sw_expect_result(w, false, "the unit %s%s to the last page request, expected %s",
                         res->responded ? "answered " : "sent no response",
                         res->responded ? sw_prc_name(res->code, cb, sizeof cb) : "",
                         sw_prc_name((uint8_t)c->v[EP_CODE], want, sizeof want));
        return;
    }
    sw_expect_result(w, true, "page-request");
}

static bool presp_match(const struct sc_cmd *c, const struct vtd_page_resp *r)
{
    return (!SC_HAS(c, ES_SID) || r->sid == c->v[ES_SID]) &&
           (!SC_HAS(c, ES_PASID) || (r->pasid_valid && r->pasid == c->v[ES_PASID])) &&
           (!SC_HAS(c, ES_NOPASID) || !r->pasid_valid) && (!SC_HAS(c, ES_PRGI) || r->prgi == c->v[ES_PRGI]) &&
           (!SC_HAS(c, ES_CODE) || r->code == c->v[ES_CODE]);
}

/* "sid=00:05.0 pasid=0x5 prgi=0x1 success, ..." */
static const char *presp_list(struct sc_world *w, char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = 0;
    for (size_t i = w->presp_seen; i < w->npresp && k + 64 < len; i++) {
        const struct vtd_page_resp *r = &w->presps[i].r;
        char b[16], cb[8];
        k += (size_t)snprintf(buf + k, len - k, "%s sid=%s", k ? "," : "", wf_bdf(r->sid, b, sizeof b));
        if (r->pasid_valid)
            k += (size_t)snprintf(buf + k, len - k, " pasid=0x%" PRIx32, r->pasid);
        k += (size_t)snprintf(buf + k, len - k, " prgi=0x%x %s", r->prgi, sw_prc_name(r->code, cb, sizeof cb));
    }
    return buf;
}

static void ex_response(struct sc_world *w, const struct sc_cmd *c)
{
    for (size_t i = w->presp_seen; i < w->npresp; i++)
        if (presp_match(c, &w->presps[i].r)) {
            w->presp_seen = i + 1;
            sw_expect_result(w, true, "page-response");
            return;
        }
    char list[256];
    presp_list(w, list, sizeof list);
    sw_expect_result(w, false, "expected such a page group response since the last page-response expectation; %s%s",
                     w->npresp > w->presp_seen ? "delivered:" : "none was delivered", list);
    w->presp_seen = w->npresp;
}

void sw_expect_prq(struct sc_world *w, const struct sc_cmd *c)
{
    if (c->op == OP_EX_PRQ) {
        ex_request(w, c);
    } else if (c->op == OP_EX_PRESP) {
        ex_response(w, c);
    } else if (w->presp_seen == w->npresp) {
        sw_expect_result(w, true, "no page-response");
    } else {
        char list[256];
        sw_expect_result(w, false, "expected no page group response, but %zu delivered:%s",
                         w->npresp - w->presp_seen, presp_list(w, list, sizeof list));
        w->presp_seen = w->npresp;
    }
}
