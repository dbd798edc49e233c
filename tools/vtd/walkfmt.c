/* SPDX-License-Identifier: MIT */
/*
 * Decoding of walk steps into named fields, fault reasons in words, and the
 * text / JSON output of `vtd walk`.  Field positions: VT-d spec rev. 5.x
 * chapter 9 (9.1 root entry, 9.3 context entry, 9.4 scalable-mode root
 * entry, 9.5 scalable-mode context entry, 9.6 PASID directory entry, 9.7
 * PASID table entry, 9.8 first-level and 9.9 second-level paging entries).
 */
#include <inttypes.h>
#include <string.h>

#include <vtd/defs.h>

#include "walkfmt.h"

/* The model's kinds are the tool's (the scalable ones arrive with the
 * scalable-mode model; until then the tool's own values stand for them). */
_Static_assert((int)VTD_STEP_ROOT == WF_ROOT && (int)VTD_STEP_CONTEXT == WF_CONTEXT &&
                   (int)VTD_STEP_SL_PTE == WF_SL_PTE && (int)VTD_STEP_PASSTHROUGH == WF_PASSTHROUGH &&
                   (int)VTD_STEP_TE_OFF == WF_TE_OFF && (int)VTD_STEP_SM_ROOT == WF_SM_ROOT &&
                   (int)VTD_STEP_SM_CONTEXT == WF_SM_CONTEXT && (int)VTD_STEP_PASID_DIR == WF_PASID_DIR &&
                   (int)VTD_STEP_PASID_ENTRY == WF_PASID_ENTRY && (int)VTD_STEP_FL_PTE == WF_FL_PTE,
               "step kinds");

void wf_from_vtd(struct wf_step *d, const struct vtd_walk_step *s)
{
    memset(d, 0, sizeof *d);
    d->kind = s->kind;
    d->level = s->level;
    d->index = s->index;
    d->table = s->table;
    d->addr = s->addr;
    size_t n = sizeof s->val / sizeof s->val[0];
    for (size_t i = 0; i < n && i < WF_NVAL; i++)
        d->val[i] = s->val[i];
    d->read_error = s->read_error;
    d->nested = s->nested;
    d->for_level = s->for_level;
    d->input = s->input;
}

const char *wf_kind_name(int kind)
{
    switch (kind) {
    case WF_ROOT: return "root entry";
    case WF_CONTEXT: return "context entry";
    case WF_SL_PTE: return "second-level entry";
    case WF_PASSTHROUGH: return "pass-through";
    case WF_TE_OFF: return "translation disabled";
    case WF_SM_ROOT: return "scalable-mode root entry";
    case WF_SM_CONTEXT: return "scalable-mode context entry";
    case WF_PASID_DIR: return "PASID directory entry";
    case WF_PASID_ENTRY: return "PASID-table entry";
    case WF_FL_PTE: return "first-level entry";
    }
    return "?";
}

const char *wf_table_name(int kind, int level)
{
    static const char *const sl[] = {"SL ?", "SL PT", "SL PD", "SL PDP", "SL PML4", "SL PML5"};
    static const char *const fl[] = {"FL ?", "FL PT", "FL PD", "FL PDP", "FL PML4", "FL PML5"};
    int l = level >= 1 && level <= 5 ? level : 0;
    switch (kind) {
    case WF_ROOT: return "root table";
    case WF_CONTEXT: return "context table";
    case WF_SM_ROOT: return "SM root table";
    case WF_SM_CONTEXT: return "SM context table";
    case WF_PASID_DIR: return "PASID directory";
    case WF_PASID_ENTRY: return "PASID table";
    case WF_SL_PTE: return sl[l];
    case WF_FL_PTE: return fl[l];
    }
    return "";
}

unsigned wf_entry_bytes(int kind)
{
    switch (kind) {
    case WF_ROOT: case WF_CONTEXT: case WF_SM_ROOT: return 16;
    case WF_SM_CONTEXT: return 32;
    case WF_PASID_DIR: case WF_SL_PTE: case WF_FL_PTE: return 8;
    case WF_PASID_ENTRY: return 64;
    }
    return 0;
}

unsigned wf_table_entries(int kind)
{
    switch (kind) {
    case WF_ROOT: case WF_CONTEXT: case WF_SM_ROOT: return 256;
    case WF_SM_CONTEXT: return 128; /* lower or upper half of the devfns */
    case WF_PASID_DIR: return 16384; /* up to 2^(PDTS+7) used */
    case WF_PASID_ENTRY: return 64;
    case WF_SL_PTE: case WF_FL_PTE: return 512;
    }
    return 0;
}

const char *wf_index_meaning(const struct wf_step *s, char *buf, size_t len)
{
    switch (s->kind) {
    case WF_ROOT: case WF_SM_ROOT: snprintf(buf, len, "bus"); break;
    case WF_CONTEXT: snprintf(buf, len, "devfn"); break;
    case WF_SM_CONTEXT: snprintf(buf, len, "devfn[6:0]"); break;
    case WF_PASID_DIR: snprintf(buf, len, "PASID[19:6]"); break;
    case WF_PASID_ENTRY: snprintf(buf, len, "PASID[5:0]"); break;
    case WF_SL_PTE: case WF_FL_PTE: {
        int lo = 12 + 9 * (s->level - 1);
        const char *what = s->nested ? "GPA" : "IOVA";
        if (s->level >= 1 && s->level <= 5)
            snprintf(buf, len, "%s[%d:%d]", what, lo + 8, lo);
        else
            snprintf(buf, len, "%s", what);
        break;
    }
    default: snprintf(buf, len, "-"); break;
    }
    return buf;
}

/* ---- field tables ---- */

struct fdesc {
    const char *name;
    uint8_t hi, lo; /* bit range in the whole entry */
    uint8_t type;
    const char *(*meaning)(uint64_t v);
};

static const char *m_tt(uint64_t v)
{
    static const char *const n[] = {"untranslated only", "device-TLB (ATS) allowed",
                                    "pass-through", "reserved"};
    return n[v & 3];
}
static const char *m_aw(uint64_t v)
{
    switch (v) {
    case 1: return "39-bit, 3-level";
    case 2: return "48-bit, 4-level";
    case 3: return "57-bit, 5-level";
    }
    return "reserved";
}
static const char *m_pgtt(uint64_t v)
{
    switch (v) {
    case 1: return "first-level only";
    case 2: return "second-level only";
    case 3: return "nested";
    case 4: return "pass-through";
    }
    return "reserved";
}
static const char *m_flpm(uint64_t v)
{
    switch (v) {
    case 0: return "4-level";
    case 1: return "5-level";
    }
    return "reserved";
}
static const char *m_emt(uint64_t v)
{
    switch (v) {
    case 0: return "UC";
    case 1: return "WC";
    case 4: return "WT";
    case 5: return "WP";
    case 6: return "WB";
    }
    return "reserved";
}
static const char *m_pdts(uint64_t v)
{
    static const char *const n[] = {"128 entries", "256 entries", "512 entries", "1024 entries",
                                    "2048 entries", "4096 entries", "8192 entries",
                                    "16384 entries"};
    return n[v & 7];
}

#define F(n, h, l) {n, h, l, WF_NUM, NULL}
#define B(n, b) {n, b, b, WF_FLAG, NULL}
#define A(n, h, l) {n, h, l, WF_ADDR, NULL}
#define M(n, h, l, m) {n, h, l, WF_NUM, m}

static const struct fdesc root_f[] = {B("P", 0), A("CTP", 63, 12)};
static const struct fdesc ctx_f[] = {B("P", 0), B("FPD", 1), M("TT", 3, 2, m_tt),
                                     A("SLPTPTR", 63, 12), M("AW", 66, 64, m_aw),
                                     F("AVAIL", 70, 67), F("DID", 87, 72)};
static const struct fdesc smroot_f[] = {B("LP", 0), A("LCTP", 63, 12), B("UP", 64),
                                        A("UCTP", 127, 76)};
static const struct fdesc smctx_f[] = {B("P", 0), B("FPD", 1), B("DTE", 2), B("PASIDE", 3),
                                       B("PRE", 4), M("PDTS", 11, 9, m_pdts),
                                       A("PASIDDIRPTR", 63, 12), F("RID_PASID", 83, 64),
                                       B("RID_PRIV", 84)};
static const struct fdesc pdir_f[] = {B("P", 0), B("FPD", 1), A("SMPTBLPTR", 63, 12)};
static const struct fdesc pentry_f[] = {
    B("P", 0), B("FPD", 1), M("AW", 4, 2, m_aw), B("SLEE", 5), M("PGTT", 8, 6, m_pgtt),
    B("SLADE", 9), A("SLPTPTR", 63, 12), F("DID", 79, 64), B("PWSNP", 87), B("PGSNP", 88),
    B("CD", 89), B("EMTE", 90), M("EMT", 93, 91, m_emt), B("PWT", 94), B("PCD", 95),
    F("PAT", 127, 96), B("SRE", 128), B("ERE", 129), M("FLPM", 131, 130, m_flpm), B("WPE", 132),
    B("NXE", 133), B("SMEP", 134), B("EAFE", 135), A("FLPTPTR", 191, 140)};
static const struct fdesc slpte_f[] = {B("R", 0), B("W", 1), B("X", 2), M("EMT", 5, 3, m_emt),
                                       B("IPAT", 6), B("PS", 7), B("A", 8), B("D", 9),
                                       B("SNP", 11), B("TM", 62), A("ADDR", 51, 12)};
static const struct fdesc flpte_f[] = {B("P", 0), B("R/W", 1), B("U/S", 2), B("PWT", 3),
                                       B("PCD", 4), B("A", 5), B("D", 6), B("PS", 7),
                                       B("G", 8), B("EA", 10), A("ADDR", 51, 12), B("XD", 63)};
/* In a 4 KiB first-level PTE bit 7 is PAT, not PS (IA-32e paging). */
static const struct fdesc flpte1_f[] = {B("P", 0), B("R/W", 1), B("U/S", 2), B("PWT", 3),
                                        B("PCD", 4), B("A", 5), B("D", 6), B("PAT", 7),
                                        B("G", 8), B("EA", 10), A("ADDR", 51, 12), B("XD", 63)};

#define N(a) (int)(sizeof a / sizeof a[0])

static const struct fdesc *fields_of(const struct wf_step *s, int *n)
{
    switch (s->kind) {
    case WF_ROOT: *n = N(root_f); return root_f;
    case WF_CONTEXT: *n = N(ctx_f); return ctx_f;
    case WF_SM_ROOT: *n = N(smroot_f); return smroot_f;
    case WF_SM_CONTEXT: *n = N(smctx_f); return smctx_f;
    case WF_PASID_DIR: *n = N(pdir_f); return pdir_f;
    case WF_PASID_ENTRY: *n = N(pentry_f); return pentry_f;
    case WF_SL_PTE: *n = N(slpte_f); return slpte_f;
    case WF_FL_PTE:
        if (s->level == 1) {
            *n = N(flpte1_f);
            return flpte1_f;
        }
        *n = N(flpte_f);
        return flpte_f;
    }
    *n = 0;
    return NULL;
}

/* bits hi:lo of the entry; a field never crosses a 64-bit word */
static uint64_t bits(const uint64_t *val, unsigned hi, unsigned lo)
{
    uint64_t w = val[lo / 64];
    unsigned h = hi % 64, l = lo % 64;
    return (w & VTD_GENMASK(h, l)) >> l;
}

int wf_decode(const struct wf_step *s, struct wf_field *out, int max)
{
    if (s->read_error)
        return 0;
    int n;
    const struct fdesc *d = fields_of(s, &n);
    int k = 0;
    for (int i = 0; i < n && k < max; i++) {
        struct wf_field *f = &out[k++];
        f->name = d[i].name;
        f->type = d[i].type;
        f->hi = d[i].hi;
        f->lo = d[i].lo;
        f->value = bits(s->val, d[i].hi, d[i].lo);
        if (d[i].type == WF_ADDR) /* addresses are shown in place: bits 63:12 of the address */
            f->value <<= 12;
        f->meaning = d[i].meaning ? d[i].meaning(f->value) : NULL;
    }
    return k;
}

bool wf_field(const struct wf_step *s, const char *name, uint64_t *value)
{
    struct wf_field f[WF_MAX_FIELDS];
    int n = wf_decode(s, f, WF_MAX_FIELDS);
    for (int i = 0; i < n; i++)
        if (strcmp(f[i].name, name) == 0) {
            *value = f[i].value;
            return true;
        }
    return false;
}

/* ---- fault reasons (spec 7.1.3 and 7.1.4 tables; interrupt remapping 5.1.4.1) ---- */

static const struct {
    uint8_t code;
    const char *words;
} faults[] = {
    {VTD_FR_ROOT_NOT_PRESENT, "root entry not present (P=0)"},
    {VTD_FR_CTX_NOT_PRESENT, "context entry not present (P=0)"},
    {VTD_FR_CTX_INVALID, "invalid context entry programming (AW, TT, or the SLPTPTR table unreadable)"},
    {VTD_FR_ADDR_BEYOND_AW, "input address above the address width (AGAW/MGAW)"},
    {VTD_FR_NO_WRITE, "write request to a page without write permission"},
    {VTD_FR_NO_READ, "read request to a page without read permission"},
    {VTD_FR_SL_READ_ERROR, "error reading a second-level paging entry"},
    {VTD_FR_ROOT_READ_ERROR, "error reading the root entry"},
    {VTD_FR_CTX_READ_ERROR, "error reading the context entry"},
    {VTD_FR_ROOT_RSVD, "reserved bits set in a present root entry"},
    {VTD_FR_CTX_RSVD, "reserved bits set in a present context entry"},
    {VTD_FR_SL_RSVD, "reserved bits set in a present second-level paging entry"},
    {VTD_FR_TT_BLOCKED, "request type blocked by the context entry's translation type (TT)"},
    {VTD_FR_INTR_RANGE, "output address in the interrupt address range (0xFEEx_xxxx)"},
    {VTD_FR_IR_REQ_RSVD, "interrupt request with reserved fields set"},
    {VTD_FR_IR_INDEX, "interrupt index beyond the interrupt remapping table size"},
    {VTD_FR_IR_NOT_PRESENT, "interrupt remapping table entry not present (P=0)"},
    {VTD_FR_IR_READ_ERROR, "error reading the interrupt remapping table entry"},
    {VTD_FR_IR_RSVD, "reserved bits set in a present interrupt remapping table entry"},
    {VTD_FR_IR_COMPAT_BLOCKED, "compatibility-format interrupt blocked (EIME=1 or CFIS=0)"},
    {VTD_FR_IR_SID, "interrupt request's source-id fails the IRTE's source validation"},
    {VTD_FR_IR_PID_READ_ERROR, "error reading the posted-interrupt descriptor"},
    {VTD_FR_IR_PID_RSVD, "reserved bits set in the posted-interrupt descriptor"},
    {VTD_FR_IR_UNTRANSLATED, "untranslated interrupt request (without PASID) invalid"},
    {VTD_FR_RTA_TTM_INVALID, "root table address register's TTM not supported"},
    {VTD_FR_RTA_PASID_LEGACY, "request with PASID while in legacy mode (TTM=00)"},
    {VTD_FR_RTA_PRQ_LEGACY, "page request while in legacy mode (TTM=00)"},
    {VTD_FR_RTA_ABORT_DMA, "abort-DMA mode: every DMA request is blocked"},
    {VTD_FR_RTA_EXEC, "request with PASID and execute-requested on a VER 8+ unit"},
    {VTD_FR_SM_ROOT_READ_ERROR, "error reading the scalable-mode root entry"},
    {VTD_FR_SM_ROOT_NOT_PRESENT, "scalable-mode root entry not present (LP/UP=0)"},
    {VTD_FR_SM_ROOT_RSVD, "reserved bits set in a present scalable-mode root entry"},
    {VTD_FR_SM_CTX_READ_ERROR, "error reading the scalable-mode context entry"},
    {VTD_FR_SM_CTX_NOT_PRESENT, "scalable-mode context entry not present (P=0)"},
    {VTD_FR_SM_CTX_RSVD, "reserved bits set in a present scalable-mode context entry"},
    {VTD_FR_SM_CTX_INVALID, "invalid scalable-mode context entry (DTE=0 with PRE=1, RID_PASID beyond PDTS, EPTR without PASIDE)"},
    {VTD_FR_SM_CTX_DTE, "translation or translated request with the context's DTE=0"},
    {VTD_FR_SM_CTX_PASIDE, "request with PASID with the context's PASIDE=0"},
    {VTD_FR_SM_CTX_PDTS, "PASID beyond the PASID directory size (PDTS)"},
    {VTD_FR_SM_CTX_PRE, "page request with the context's PRE=0"},
    {VTD_FR_SM_CTX_RID_PASID, "request's PASID equals the context entry's RID_PASID"},
    {VTD_FR_SM_CTX_EPTR, "translated request with PASID with the context's EPTR=0"},
    {VTD_FR_SM_PDE_READ_ERROR, "error reading the PASID directory entry"},
    {VTD_FR_SM_PDE_NOT_PRESENT, "PASID directory entry not present (P=0)"},
    {VTD_FR_SM_PDE_RSVD, "reserved bits set in a present PASID directory entry"},
    {VTD_FR_SM_PTE_READ_ERROR, "error reading the PASID-table entry"},
    {VTD_FR_SM_PTE_NOT_PRESENT, "PASID-table entry not present (P=0)"},
    {VTD_FR_SM_PTE_RSVD, "reserved bits set in a present PASID-table entry"},
    {VTD_FR_SM_PTE_INVALID, "invalid PASID-table entry (AW, PGTT or FSPM not supported)"},
    {VTD_FR_SM_EXEC_UNSUPPORTED, "request with PASID and execute-requested: ECAP.ERS=0"},
    {VTD_FR_SM_PTE_SRE, "supervisor request with the PASID-table entry's SRE=0"},
    {VTD_FR_SM_HPT_SIZE, "translated request beyond the host permission table size"},
    {VTD_FR_SM_FL_READ_ERROR, "error reading a first-level paging entry"},
    {VTD_FR_SM_FL_NOT_PRESENT, "first-level paging entry not present (P=0)"},
    {VTD_FR_SM_FL_RSVD, "reserved bits set in a present first-level paging entry"},
    {VTD_FR_SM_FL_PML4_READ_ERROR, "error reading the first-level PML4/PML5 table (FLPTPTR)"},
    {VTD_FR_SM_FL_NESTED_ADDR, "nested: first-level table address beyond the second-level address width"},
    {VTD_FR_SM_FL_NESTED_TOP_READ, "nested: FLPTPTR table not readable through the second level"},
    {VTD_FR_SM_FL_NESTED_READ, "nested: first-level table not readable through the second level"},
    {VTD_FR_SM_FL_NESTED_AD_WRITE, "nested: first-level A/D update blocked by second-level write permission"},
    {VTD_FR_SM_SL_READ_ERROR, "error reading a second-level paging entry (scalable mode)"},
    {VTD_FR_SM_SL_PERM, "second-level entry grants neither read nor write (scalable mode)"},
    {VTD_FR_SM_SL_RSVD, "reserved bits set in a present second-level paging entry (scalable mode)"},
    {VTD_FR_SM_SL_PTR, "invalid second-level table pointer (the SLPTPTR table unreadable)"},
    {VTD_FR_SM_SL_AD_NOSNOOP, "second-level A/D update needed but the paging-structure access is non-snooped"},
    {VTD_FR_SM_SL_AD_FAILED, "second-level A/D bit update failed"},
    {VTD_FR_SM_NON_CANONICAL, "first-level input address not canonical"},
    {VTD_FR_SM_USER_SUPERVISOR, "user-mode request to a supervisor page (U/S=0)"},
    {VTD_FR_SM_NO_EXECUTE, "execute request to a page without execute permission (before Rev 5.0)"},
    {VTD_FR_SM_ADDR_BEYOND_HAW, "translated or pass-through address beyond the host address width"},
    {VTD_FR_SM_ADDR_BEYOND_AW, "input address beyond the second-level address width (min of MGAW and AW)"},
    {VTD_FR_SM_NO_WRITE, "write request to a page without write permission (scalable mode)"},
    {VTD_FR_SM_NO_READ, "read request to a page without read permission (scalable mode)"},
    {VTD_FR_SM_INTR_RANGE, "address in the interrupt address range (scalable mode)"},
    {VTD_FR_SM_PASID_SIZE, "PASID beyond the PASID size the unit supports (ECAP.PSS)"},
    {VTD_FR_SM_FL_AD_NOSNOOP, "first-level A/D update needed but the paging-structure access is non-snooped"},
    {VTD_FR_SM_FL_AD_FAILED, "first-level A/D bit update failed"},
};

const char *wf_fault_words(uint8_t reason)
{
    for (int i = 0; i < N(faults); i++)
        if (faults[i].code == reason)
            return faults[i].words;
    return NULL;
}

int wf_fault_codes(uint8_t *list, int max)
{
    for (int i = 0; list && i < N(faults) && i < max; i++)
        list[i] = faults[i].code;
    return N(faults);
}

/* ---- small formatting helpers ---- */

const char *wf_bdf(uint16_t sid, char *buf, size_t len)
{
    snprintf(buf, len, "%02x:%02x.%x", sid >> 8, (sid >> 3) & 0x1f, sid & 7);
    return buf;
}

const char *wf_access_name(uint8_t access)
{
    switch (access) {
    case VTD_R: return "read";
    case VTD_W: return "write";
    case VTD_R | VTD_W: return "atomic";
    case VTD_R | VTD_X: return "execute";
    }
    return "?";
}

const char *wf_size_name(uint64_t size, char *buf, size_t len)
{
    if (size >= (1ULL << 30) && !(size & ((1ULL << 30) - 1)))
        snprintf(buf, len, "%" PRIu64 " GiB", size >> 30);
    else if (size >= (1ULL << 20) && !(size & ((1ULL << 20) - 1)))
        snprintf(buf, len, "%" PRIu64 " MiB", size >> 20);
    else
        snprintf(buf, len, "%" PRIu64 " KiB", size >> 10);
    return buf;
}

/* ---- text output ---- */

static const char *at_name(uint8_t at)
{
    switch (at) {
    case VTD_AT_UNTRANSLATED: return "untranslated";
    case VTD_AT_TRANSLATION_REQ: return "translation-request";
    case VTD_AT_TRANSLATED: return "translated";
    }
    return "?";
}

static void perm_str(uint8_t perm, char *buf)
{
    int k = 0;
    if (perm & VTD_R)
        buf[k++] = 'R';
    if (perm & VTD_W)
        buf[k++] = 'W';
    if (perm & VTD_X)
        buf[k++] = 'X';
    if (!k)
        buf[k++] = '-';
    buf[k] = 0;
}

void wf_print_request(FILE *f, const struct vtd_request *req)
{
    char b[16];
    fprintf(f, "request: sid %s (bus 0x%02x, devfn 0x%02x)  addr 0x%016" PRIx64 "  %s  %s",
            wf_bdf(req->sid, b, sizeof b), req->sid >> 8, req->sid & 0xff, req->addr,
            wf_access_name(req->access), at_name(req->at));
    if (req->pasid_valid)
        fprintf(f, "  pasid 0x%05" PRIx32 "%s", req->pasid, req->priv ? " (supervisor)" : " (user)");
    fprintf(f, "\n");
}

static int field_text(char *buf, size_t len, const struct wf_field *fl)
{
    if (fl->type == WF_ADDR)
        return snprintf(buf, len, "%s=0x%" PRIx64, fl->name, fl->value);
    if (fl->meaning)
        return snprintf(buf, len, "%s=%" PRIu64 " (%s)", fl->name, fl->value, fl->meaning);
    if (fl->value < 10)
        return snprintf(buf, len, "%s=%" PRIu64, fl->name, fl->value);
    return snprintf(buf, len, "%s=0x%" PRIx64, fl->name, fl->value);
}

void wf_print_step(FILE *f, int n, const struct wf_step *s)
{
    char im[32];
    fprintf(f, "step %d: %s", n, wf_kind_name(s->kind));
    if (s->kind == WF_SL_PTE || s->kind == WF_FL_PTE)
        fprintf(f, " (%s, level %d)", wf_table_name(s->kind, s->level), s->level);
    fprintf(f, "\n");
    if (s->kind == WF_PASSTHROUGH || s->kind == WF_TE_OFF) {
        fprintf(f, "  no table read: address 0x%016" PRIx64 " passed through\n", s->addr);
        return;
    }
    if (s->nested) {
        if (s->for_level)
            fprintf(f, "  nested: second-level walk of GPA 0x%" PRIx64 ", the FL level-%d table address\n",
                    s->input, s->for_level);
        else
            fprintf(f, "  nested: second-level walk of GPA 0x%" PRIx64 ", the first-level output\n",
                    s->input);
    }
    fprintf(f, "  table 0x%016" PRIx64 " (%s)  index %u (0x%x) = %s  entry 0x%016" PRIx64 "\n", s->table,
            wf_table_name(s->kind, s->level), s->index, s->index, wf_index_meaning(s, im, sizeof im),
            s->addr);
    if (s->read_error) {
        fprintf(f, "  READ ERROR: the platform does not back this entry; the walk stops\n");
        return;
    }
    unsigned nq = wf_entry_bytes(s->kind) / 8;
    for (unsigned q = 0; q < nq; q++)
        fprintf(f, "%s q%u 0x%016" PRIx64 "%s", q % 4 ? "" : "  raw", q, s->val[q],
                q % 4 == 3 || q + 1 == nq ? "\n" : " ");
    struct wf_field fl[WF_MAX_FIELDS];
    int nf = wf_decode(s, fl, WF_MAX_FIELDS);
    int col = 0;
    for (int i = 0; i < nf; i++) {
        char t[96];
        int w = field_text(t, sizeof t, &fl[i]);
        if (col && col + 1 + w > 78) {
            fprintf(f, "\n");
            col = 0;
        }
        col += fprintf(f, "%s%s", col ? " " : "  ", t);
    }
    if (col)
        fprintf(f, "\n");
}

void wf_print_result(FILE *f, const struct vtd_result *res)
{
    char p[8], sz[24];
    if (res->status == VTD_OK) {
        perm_str(res->perm, p);
        fprintf(f, "result: OK  HPA 0x%016" PRIx64 "  page %s  perm %s", res->pa,
                wf_size_name(res->page_size, sz, sizeof sz), p);
        if (res->ats)
            fprintf(f, "  ats%s%s%s%s%s", res->ats & VTD_ATS_U ? " U" : "", res->ats & VTD_ATS_N ? " N" : "",
                    res->ats & VTD_ATS_G ? " G" : "", res->ats & VTD_ATS_PRIV ? " PRIV" : "",
                    res->ats & VTD_ATS_EXEC ? " EXEC" : "");
        fprintf(f, "\n");
    } else if (res->status == VTD_FAULT) {
        const char *w = wf_fault_words(res->fault_reason);
        fprintf(f, "result: FAULT %02Xh  %s\n", res->fault_reason, w ? w : "(reason code not defined by the spec)");
    } else {
        fprintf(f, "result: BLOCKED  dropped without a fault (protected memory region, unsupported "
                   "request, or an interrupt write)\n");
    }
}

/* ---- JSON output ---- */

static void jstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void wf_json_str(FILE *f, const char *s)
{
    jstr(f, s);
}

static void jhex(FILE *f, uint64_t v)
{
    fprintf(f, "\"0x%" PRIx64 "\"", v);
}

void wf_print_json(FILE *f, const struct vtd_request *req, const struct wf_step *steps, int n,
                   const struct vtd_result *res)
{
    char b[32];
    fprintf(f, "{\"request\":{\"sid\":");
    jstr(f, wf_bdf(req->sid, b, sizeof b));
    fprintf(f, ",\"addr\":");
    jhex(f, req->addr);
    fprintf(f, ",\"access\":\"%s\",\"at\":\"%s\"", wf_access_name(req->access), at_name(req->at));
    if (req->pasid_valid)
        fprintf(f, ",\"pasid\":%" PRIu32 ",\"priv\":%s", req->pasid, req->priv ? "true" : "false");
    fprintf(f, "},\"steps\":[");
    for (int i = 0; i < n; i++) {
        const struct wf_step *s = &steps[i];
        fprintf(f, "%s{\"n\":%d,\"kind\":", i ? "," : "", i + 1);
        jstr(f, wf_kind_name(s->kind));
        fprintf(f, ",\"level\":%d,\"table\":", s->level);
        jhex(f, s->table);
        fprintf(f, ",\"index\":%u,\"index_of\":", s->index);
        jstr(f, wf_index_meaning(s, b, sizeof b));
        fprintf(f, ",\"entry\":");
        jhex(f, s->addr);
        fprintf(f, ",\"read_error\":%s", s->read_error ? "true" : "false");
        if (s->nested) {
            fprintf(f, ",\"nested\":true,\"for_level\":%d,\"input\":", s->for_level);
            jhex(f, s->input);
        }
        unsigned nq = wf_entry_bytes(s->kind) / 8;
        if (!s->read_error && nq) {
            fprintf(f, ",\"raw\":[");
            for (unsigned q = 0; q < nq; q++) {
                fprintf(f, "%s", q ? "," : "");
                jhex(f, s->val[q]);
            }
            fprintf(f, "],\"fields\":{");
            struct wf_field fl[WF_MAX_FIELDS];
            int nf = wf_decode(s, fl, WF_MAX_FIELDS);
            for (int k = 0; k < nf; k++) {
                fprintf(f, "%s", k ? "," : "");
                jstr(f, fl[k].name);
                fputc(':', f);
                if (fl[k].type == WF_ADDR)
                    jhex(f, fl[k].value);
                else
                    fprintf(f, "%" PRIu64, fl[k].value);
            }
            fprintf(f, "}");
        }
        fprintf(f, "}");
    }
    fprintf(f, "],\"result\":{");
    if (res->status == VTD_OK) {
        char p[8];
        perm_str(res->perm, p);
        fprintf(f, "\"status\":\"ok\",\"hpa\":");
        jhex(f, res->pa);
        fprintf(f, ",\"page_size\":%" PRIu64 ",\"perm\":\"%s\",\"ats\":%u", res->page_size, p, res->ats);
    } else if (res->status == VTD_FAULT) {
        const char *w = wf_fault_words(res->fault_reason);
        fprintf(f, "\"status\":\"fault\",\"reason\":%u,\"words\":", res->fault_reason);
        jstr(f, w ? w : "undefined reason code");
    } else {
        fprintf(f, "\"status\":\"blocked\"");
    }
    fprintf(f, "}}\n");
}
