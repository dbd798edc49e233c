/* SPDX-License-Identifier: MIT */
/*
 * Scenario parser (docs/scenario.md): lines of words, `key=value` pairs and
 * constant expressions, turned into struct sc_cmd with every value resolved.
 * Errors stop at the first problem and name its line and column.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <vtd/defs.h>
#include <vtd/mem.h>

#include "scenario_int.h"

#define MAX_TOKS 64
#define MAX_VARS 512
#define MAX_UNITS_NAMES 64
#define MAX_DEPTH 48
#define MAX_DOMS 64
#define POOL_DEFAULT 0x80000000ULL

void sc_default_limits(struct sc_limits *lim)
{
    lim->max_lines = 1000000;
    lim->max_commands = 1000000;
    lim->max_fill = 256ULL << 20;
    lim->max_units = 16;
    lim->max_cache = 1u << 20;
}

struct tok {
    const char *s;
    size_t n;
};

struct var {
    char name[SC_NAME_MAX];
    uint64_t v;
};

struct pstate {
    struct sc_script *s;
    struct sc_error *err;
    const char *line; /* start of the current line */
    int lineno;
    bool failed;
    struct var *vars;
    unsigned nvars;
    char (*units)[SC_NAME_MAX];
    unsigned nunits;
    bool pool_fixed; /* an alloc happened: pool may no longer move */
    bool seen_dma, seen_msi; /* a request an expectation can look at */
    bool seen_drv;           /* a `drv init` came before */
    char (*doms)[SC_NAME_MAX];
    unsigned ndoms;
    int depth;
};

static int perr(struct pstate *ps, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int perr(struct pstate *ps, const char *at, const char *fmt, ...)
{
    if (!ps->failed) {
        ps->failed = true;
        ps->err->line = ps->lineno;
        ps->err->col = at ? (int)(at - ps->line) + 1 : 1;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ps->err->msg, sizeof ps->err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* A token for messages: at most 40 characters of it. */
static const char *show(const char *s, size_t n, char *buf, size_t len)
{
    if (n > 40)
        n = 40;
    if (n >= len)
        n = len - 1;
    memcpy(buf, s, n);
    buf[n] = 0;
    return buf;
}

static bool tok_is(const struct tok *t, const char *w)
{
    return strlen(w) == t->n && memcmp(t->s, w, t->n) == 0;
}

static bool is_ident_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_ident(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9') || c == '.';
}

/* ---- expressions ---- */

struct ex {
    struct pstate *ps;
    const char *p, *end;
    const char *fields; /* register whose field names are in scope, or NULL */
};

static int ex_or(struct ex *e, uint64_t *v);

static void ex_space(struct ex *e)
{
    while (e->p < e->end && (*e->p == ' ' || *e->p == '\t'))
        e->p++;
}

/* value of a hex digit, 99 for anything else */
static unsigned digit(char c)
{
    if (c >= '0' && c <= '9')
        return (unsigned)(c - '0');
    if (c >= 'a' && c <= 'f')
        return (unsigned)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F')
        return (unsigned)(c - 'A' + 10);
    return 99;
}

static int ex_number(struct ex *e, uint64_t *v)
{
    const char *start = e->p;
    unsigned base = 10;
    if (e->end - e->p > 2 && e->p[0] == '0' && (e->p[1] == 'x' || e->p[1] == 'X'))
        base = 16, e->p += 2;
    else if (e->end - e->p > 2 && e->p[0] == '0' && (e->p[1] == 'b' || e->p[1] == 'B'))
        base = 2, e->p += 2;
    uint64_t x = 0;
    int digits = 0;
    for (; e->p < e->end; e->p++) {
        unsigned d = digit(*e->p);
        if (*e->p == '_' && digits)
            continue; /* 0x1000_0000 */
        if (d >= base)
            break;
        if (x > (UINT64_MAX - d) / base)
            return perr(e->ps, start, "number too large for 64 bits");
        x = x * base + d;
        digits++;
    }
    if (!digits)
        return perr(e->ps, start, "expected digits after '%.2s'", start);
    if (e->p < e->end) {
        unsigned sh = 0;
        switch (*e->p) {
        case 'k': case 'K': sh = 10; break;
        case 'm': case 'M': sh = 20; break;
        case 'g': case 'G': sh = 30; break;
        }
        if (sh) {
            if (x > (UINT64_MAX >> sh))
                return perr(e->ps, start, "number too large for 64 bits");
            x <<= sh;
            e->p++;
        }
    }
    if (e->p < e->end && is_ident(*e->p)) {
        char b[48];
        return perr(e->ps, start, "'%s' is not a number (hex needs 0x; suffixes k, m, g)",
                    show(start, (size_t)(e->end - start), b, sizeof b));
    }
    *v = x;
    return 0;
}

static int ex_name(struct ex *e, uint64_t *v)
{
    const char *start = e->p;
    while (e->p < e->end && is_ident(*e->p))
        e->p++;
    size_t n = (size_t)(e->p - start);
    char b[48];
    const struct sc_fielddef *f = NULL;
    if (e->fields)
        f = sc_field_find(e->fields, start, n);
    const char *dot = memchr(start, '.', n);
    if (!f && dot) { /* REG.FIELD */
        const struct sc_regdef *r = sc_reg_find(start, (size_t)(dot - start));
        if (r)
            f = sc_field_find(r->name, dot + 1, n - (size_t)(dot - start) - 1);
    }
    if (f) {
        ex_space(e);
        if (e->p < e->end && *e->p == '(') { /* FIELD(value): value placed in the field */
            e->p++;
            uint64_t x;
            if (ex_or(e, &x))
                return -1;
            ex_space(e);
            if (e->p >= e->end || *e->p != ')')
                return perr(e->ps, e->p, "expected ')' after the value of field %s", f->name);
            e->p++;
            unsigned sh = (unsigned)__builtin_ctzll(f->mask);
            if (x > (f->mask >> sh))
                return perr(e->ps, start, "0x%" PRIx64 " does not fit field %s.%s (at most 0x%" PRIx64 ")",
                            x, f->reg, f->name, f->mask >> sh);
            *v = x << sh;
            return 0;
        }
        *v = f->mask;
        return 0;
    }
    for (unsigned i = e->ps->nvars; i-- > 0;) {
        if (strlen(e->ps->vars[i].name) == n && memcmp(e->ps->vars[i].name, start, n) == 0) {
            *v = e->ps->vars[i].v;
            return 0;
        }
    }
    if (e->fields) {
        char list[240];
        return perr(e->ps, start, "unknown name '%s' (not a variable, nor a field of %s: %s)",
                    show(start, n, b, sizeof b), e->fields, sc_field_list(e->fields, list, sizeof list));
    }
    return perr(e->ps, start, "unknown name '%s' (define it with 'let %s = VALUE')",
                show(start, n, b, sizeof b), show(start, n, b, sizeof b));
}

static int ex_unary(struct ex *e, uint64_t *v)
{
    ex_space(e);
    if (e->p >= e->end)
        return perr(e->ps, e->p, "expected a value, found end of expression");
    if (++e->ps->depth > MAX_DEPTH)
        return perr(e->ps, e->p, "expression nested too deeply");
    int r = 0;
    char c = *e->p;
    if (c == '~' || c == '-') {
        e->p++;
        r = ex_unary(e, v);
        if (!r)
            *v = c == '~' ? ~*v : (uint64_t)0 - *v;
    } else if (c == '(') {
        e->p++;
        r = ex_or(e, v);
        ex_space(e);
        if (!r && (e->p >= e->end || *e->p != ')'))
            r = perr(e->ps, e->p, "expected ')'");
        if (!r)
            e->p++;
    } else if (c >= '0' && c <= '9') {
        r = ex_number(e, v);
    } else if (is_ident_start(c)) {
        r = ex_name(e, v);
    } else {
        r = perr(e->ps, e->p, "expected a number, a name or '(', found '%c'", c);
    }
    e->ps->depth--;
    return r;
}

/* Binary operators by precedence, lowest first (as in C). */
static int ex_binary(struct ex *e, int level, uint64_t *v)
{
    static const char *const ops[][3] = {{"|"}, {"^"}, {"&"}, {"<<", ">>"}, {"+", "-"}, {"*"}};
    if (level == 6)
        return ex_unary(e, v);
    if (ex_binary(e, level + 1, v))
        return -1;
    for (;;) {
        ex_space(e);
        const char *op = NULL;
        for (int i = 0; i < 3 && ops[level][i]; i++) {
            size_t l = strlen(ops[level][i]);
            if ((size_t)(e->end - e->p) >= l && memcmp(e->p, ops[level][i], l) == 0) {
                /* '<' alone or '==' are no operators here */
                op = ops[level][i];
            }
        }
        if (!op)
            return 0;
        const char *at = e->p;
        e->p += strlen(op);
        uint64_t r;
        if (ex_binary(e, level + 1, &r))
            return -1;
        switch (op[0]) {
        case '|': *v |= r; break;
        case '^': *v ^= r; break;
        case '&': *v &= r; break;
        case '+': *v += r; break;
        case '-': *v -= r; break;
        case '*': *v *= r; break;
        default:
            if (r > 63)
                return perr(e->ps, at, "shift by %" PRIu64 " (at most 63)", r);
            *v = op[0] == '<' ? *v << r : *v >> r;
        }
    }
}

static int ex_or(struct ex *e, uint64_t *v)
{
    return ex_binary(e, 0, v);
}

/* Evaluate [s, end) as one expression; fields: register whose fields are in scope. */
static int eval(struct pstate *ps, const char *s, const char *end, const char *fields, uint64_t *v)
{
    struct ex e = {ps, s, end, fields};
    ps->depth = 0;
    ex_space(&e);
    if (e.p >= e.end)
        return perr(ps, s, "expected a value");
    if (ex_or(&e, v))
        return -1;
    ex_space(&e);
    if (e.p < e.end) {
        char b[48];
        return perr(ps, e.p, "unexpected '%s' after the value", show(e.p, (size_t)(e.end - e.p), b, sizeof b));
    }
    return 0;
}

/* ---- keys ---- */

enum { K_EXPR, K_BDF, K_DEVFN, K_FLAG, K_ENUM, K_PERM, K_NAME, K_DIAG, K_ONOFF };

struct keydef {
    const char *name;
    uint8_t kind;
    uint8_t slot;
    uint64_t max;             /* 0: any 64-bit value */
    const char *const *words; /* K_ENUM: the words (value = index); K_EXPR: fields' register */
    bool num_ok;              /* K_ENUM: a number is accepted too */
};

struct cmddef {
    const char *w1, *w2;
    int op, sub;
    const struct keydef *keys; /* terminated by name NULL */
    int8_t pos[3];             /* slots filled by bare values, in order (-1 ends) */
    uint32_t required;         /* slots that must be given */
    bool needs_unit;
    int (*parse)(struct pstate *, const struct cmddef *, struct sc_cmd *, const struct tok *, int);
};

static const char *const presets[] = {"default", "scalable", NULL};
static const char *const tts[] = {"untranslated", "devtlb", "passthrough", "reserved", NULL};
static const char *const ats[] = {"untranslated", "translation", "translated", NULL};
static const char *const qi_iotlb_g[] = {"reserved", "global", "domain", "page", NULL};
static const char *const qi_cc_g[] = {"reserved", "global", "domain", "device", NULL};
static const char *const qi_iec_g[] = {"global", "index", NULL};
static const char *const irq_kinds[] = {"passthrough", "remapped", "posted", NULL};
static const char *const frcd_types[] = {"write", "read", "page-request", "atomic", NULL};
static const char *const cap_reg[] = {"CAP"}, *const ecap_reg[] = {"ECAP"};

#define KE(n, s) {n, K_EXPR, s, 0, NULL, false}
#define KM(n, s, m) {n, K_EXPR, s, m, NULL, false}
#define KF(n, s) {n, K_FLAG, s, 0, NULL, false}
#define KEND {NULL, 0, 0, 0, NULL, false}

static const struct keydef unit_keys[] = {
    {"preset", K_ENUM, U_PRESET, 0, presets, false},
    KM("ver", U_VER, 0xFFFFFFFF), {"cap", K_EXPR, U_CAP, 0, cap_reg, false},
    {"ecap", K_EXPR, U_ECAP, 0, ecap_reg, false},
    {"cap.set", K_EXPR, U_CAP_SET, 0, cap_reg, false}, {"cap.clear", K_EXPR, U_CAP_CLR, 0, cap_reg, false},
    {"ecap.set", K_EXPR, U_ECAP_SET, 0, ecap_reg, false},
    {"ecap.clear", K_EXPR, U_ECAP_CLR, 0, ecap_reg, false},
    KM("haw", U_HAW, 255), KM("iotlb", U_IOTLB, 1u << 24), KM("iotlb_ways", U_IOTLB_WAYS, 1u << 24),
    KM("context_cache", U_CTXC, 1u << 24), KM("pasid_cache", U_PASIDC, 1u << 24),
    KM("pwc", U_PWC, 1u << 24), KM("iec", U_IEC, 1u << 24),
    {"stale", K_ONOFF, U_STALE, 0, NULL, false}, KF("qi_async", U_QI_ASYNC),
    {"name", K_NAME, SC_NAME_SLOT, 0, NULL, false}, KEND};
static const struct keydef use_keys[] = {{"name", K_NAME, 0, 0, NULL, false}, KEND};
static const struct keydef no_keys[] = {KEND};
static const struct keydef hole_keys[] = {KE("base", H_BASE), KE("len", H_LEN), KEND};
static const struct keydef fill_keys[] = {KE("addr", F_ADDR), KE("len", F_LEN), KM("byte", F_BYTE, 255), KEND};
static const struct keydef root_keys[] = {KE("table", R_TABLE), KM("bus", R_BUS, 255), KE("ctp", R_CTP),
                                          KF("np", R_NP), KE("hi", R_HI), KEND};
static const struct keydef ctx_keys[] = {
    KE("table", C_TABLE), {"devfn", K_DEVFN, C_DEVFN, 255, NULL, false}, KE("slptptr", C_SLPTPTR),
    KM("aw", C_AW, 57), KM("did", C_DID, 0xFFFF), {"tt", K_ENUM, C_TT, 3, tts, true},
    KF("fpd", C_FPD), KF("np", C_NP), KEND};
static const struct keydef slpte_keys[] = {KE("table", S_TABLE), KM("index", S_INDEX, 511), KE("addr", S_ADDR),
                                           {"perm", K_PERM, S_PERM, 0, NULL, false}, KF("ps", S_PS),
                                           KF("snp", S_SNP), KF("tm", S_TM), KEND};
static const struct keydef slmap_keys[] = {KE("root", M_ROOT), KM("levels", M_LEVELS, 5), KE("iova", M_IOVA),
                                           KE("pa", M_PA), KE("size", M_SIZE),
                                           {"perm", K_PERM, M_PERM, 0, NULL, false}, KF("snp", M_SNP),
                                           KF("tm", M_TM), KEND};
static const struct keydef irte_keys[] = {
    KE("table", I_TABLE), KM("index", I_INDEX, 0xFFFF), KM("vector", I_VECTOR, 255),
    KM("dest", I_DEST, 0xFFFFFFFF), KF("dm", I_DM), KF("rh", I_RH), KF("tm", I_TM), KM("dlm", I_DLM, 7),
    {"sid", K_BDF, I_SID, 0xFFFF, NULL, false}, KM("sq", I_SQ, 3), KM("svt", I_SVT, 3), KF("fpd", I_FPD),
    KF("np", I_NP), KF("posted", I_POSTED), KE("pda", I_PDA), KF("urg", I_URG), KF("x2apic", I_X2APIC), KEND};
static const struct keydef pid_keys[] = {KE("addr", P_ADDR), KM("nv", P_NV, 255), KM("ndst", P_NDST, 0xFFFFFFFF),
                                         KF("on", P_ON), KF("sn", P_SN), KF("x2apic", P_X2APIC), KEND};
static const struct keydef qi_wait_keys[] = {KF("sw", Q_SW), KF("if", Q_IF), KF("fn", Q_FN), KE("addr", Q_ADDR),
                                             KM("data", Q_DATA, 0xFFFFFFFF), KEND};
static const struct keydef qi_iotlb_keys[] = {{"g", K_ENUM, Q_G, 3, qi_iotlb_g, true}, KM("did", Q_DID, 0xFFFF),
                                              KE("addr", Q_ADDR), KM("am", Q_AM, 63), KF("ih", Q_IH),
                                              KF("dr", Q_DR), KF("dw", Q_DW), KEND};
static const struct keydef qi_cc_keys[] = {{"g", K_ENUM, Q_G, 3, qi_cc_g, true}, KM("did", Q_DID, 0xFFFF),
                                           {"sid", K_BDF, Q_SID, 0xFFFF, NULL, false}, KM("fm", Q_FM, 3), KEND};
static const struct keydef qi_iec_keys[] = {{"g", K_ENUM, Q_G, 1, qi_iec_g, true}, KM("index", Q_INDEX, 0xFFFF),
                                            KM("im", Q_IM, 31), KEND};
static const struct keydef qi_devtlb_keys[] = {{"sid", K_BDF, Q_SID, 0xFFFF, NULL, false},
                                               {"pfsid", K_BDF, Q_PFSID, 0xFFFF, NULL, false},
                                               KE("addr", Q_ADDR), KF("s", Q_S), KM("mip", Q_MIP, 31), KEND};
static const struct keydef qi_raw_keys[] = {KE("lo", Q_LO), KE("hi", Q_HI), KEND};
static const struct keydef dma_keys[] = {{"sid", K_BDF, D_SID, 0xFFFF, NULL, false}, KE("addr", D_ADDR),
                                         KM("pasid", D_PASID, 0xFFFFF), KF("priv", D_PRIV),
                                         {"at", K_ENUM, D_AT, 0, ats, false}, KEND};
static const struct keydef msi_keys[] = {{"sid", K_BDF, MS_SID, 0xFFFF, NULL, false}, KE("addr", MS_ADDR),
                                         KM("data", MS_DATA, 0xFFFFFFFF), KM("handle", MS_HANDLE, 0xFFFF),
                                         KM("subhandle", MS_SUBHANDLE, 0xFFFF), KEND};
static const struct keydef ex_tr_keys[] = {KE("pa", ET_PA), KE("size", ET_SIZE),
                                           {"perm", K_PERM, ET_PERM, 0, NULL, false}, KEND};
static const struct keydef ex_fault_keys[] = {KM("reason", EF_REASON, 255), KF("recorded", EF_RECORDED),
                                              KF("suppressed", EF_SUPPRESSED), KEND};
static const struct keydef ex_irq_keys[] = {{"kind", K_ENUM, EI_KIND, 0, irq_kinds, false},
                                            KM("vector", EI_VECTOR, 255), KM("dest", EI_DEST, 0xFFFFFFFF),
                                            KM("dlm", EI_DLM, 7), KF("logical", EI_LOGICAL), KF("level", EI_LEVEL),
                                            KF("rh", EI_RH), KF("notified", EI_NOTIFIED),
                                            KF("no-notify", EI_NO_NOTIFY), KEND};
static const struct keydef ex_frcd_keys[] = {KM("index", ER_INDEX, 255), KM("reason", ER_REASON, 255),
                                             {"sid", K_BDF, ER_SID, 0xFFFF, NULL, false}, KE("addr", ER_ADDR),
                                             {"type", K_ENUM, ER_TYPE, 0, frcd_types, false}, KEND};
static const struct keydef ex_msi_keys[] = {KE("addr", EM_ADDR), KM("data", EM_DATA, 0xFFFFFFFF), KEND};
static const struct keydef ex_diag_keys[] = {{"code", K_DIAG, ED_CODE, 0, NULL, false}, KEND};

static const char *const drv_errs[] = {"ok", "EINVAL", "ENOMEM", "ENOTSUP", "EBUSY", "EEXIST", "ENOENT",
                                       "ENOSPC", "ETIMEDOUT", "EIO", NULL};
static const char *const dom_types[] = {"paging", "passthrough", "first-level", NULL};
#define KX {"expect", K_ENUM, DV_EXPECT, 0, drv_errs, false}
#define KDOM {"domain", K_NAME, SC_NAME_SLOT, 0, NULL, false}
static const struct keydef drv_init_keys[] = {KF("scalable", DI_SCALABLE), KF("no-qi", DI_NOQI), KF("no-ir", DI_NOIR),
                                              KF("x2apic", DI_X2APIC), KF("compat-irq", DI_COMPAT),
                                              KM("qi_order", DI_QIORDER, 7), KM("ir_order", DI_IRORDER, 16),
                                              KE("fault_msi", DI_FMSI), KM("fault_data", DI_FDATA, 0xFFFFFFFF), KX,
                                              KEND};
static const struct keydef drv_plain_keys[] = {KX, KEND};
static const struct keydef drv_domain_keys[] = {KDOM, {"type", K_ENUM, DD_TYPE, 0, dom_types, false},
                                                KM("levels", DD_LEVELS, 5), KF("deferred", DD_DEFERRED), KX, KEND};
static const struct keydef drv_attach_keys[] = {KDOM, {"sid", K_BDF, DA_SID, 0xFFFF, NULL, false}, KF("ats", DA_ATS),
                                                KF("fpd", DA_FPD), KM("pasid", DA_PASID, 0xFFFFF), KX, KEND};
static const struct keydef drv_nested_keys[] = {KDOM, {"sid", K_BDF, DA_SID, 0xFFFF, NULL, false},
                                                KM("pasid", DA_PASID, 0xFFFFF), KE("flptr", DA_FLPTR),
                                                KM("levels", DA_LEVELS, 5), KF("fpd", DA_FPD), KX, KEND};
static const struct keydef drv_detach_keys[] = {{"sid", K_BDF, DA_SID, 0xFFFF, NULL, false},
                                                KM("pasid", DA_PASID, 0xFFFFF), KX, KEND};
static const char *const svts[] = {"none", "sid", "bus", NULL};
#define KSVT {"svt", K_ENUM, DQ_SVT, 0, svts, false}
#define KQSID {"sid", K_BDF, DQ_SID, 0xFFFF, NULL, false}
static const struct keydef drv_irte_alloc_keys[] = {KM("count", DQ_COUNT, 32), KX, KEND};
static const struct keydef drv_irte_free_keys[] = {KM("index", DQ_INDEX, 0xFFFF), KM("count", DQ_COUNT, 32), KX,
                                                   KEND};
static const struct keydef drv_irte_remap_keys[] = {
    KM("index", DQ_INDEX, 0xFFFF), KQSID, KSVT, KM("vector", DQ_VECTOR, 255), KM("dest", DQ_DEST, 0xFFFFFFFF),
    KM("dlm", DQ_DLM, 7), KF("logical", DQ_LOGICAL), KF("rh", DQ_RH), KF("level", DQ_LEVEL), KX, KEND};
static const struct keydef drv_irte_post_keys[] = {KM("index", DQ_INDEX, 0xFFFF), KQSID, KSVT, KE("pid", DQ_PID),
                                                   KM("vector", DQ_VECTOR, 255), KF("urg", DQ_URG), KX, KEND};
static const struct keydef drv_irte_clear_keys[] = {KM("index", DQ_INDEX, 0xFFFF), KX, KEND};
static const struct keydef drv_pid_keys[] = {KE("addr", DQ_ADDR), KM("nv", DQ_NV, 255), KM("ndst", DQ_NDST, 0xFFFFFFFF),
                                             KX, KEND};
static const struct keydef drv_msi_keys[] = {KM("index", DQ_INDEX, 0xFFFF), KQSID, KF("multi", DQ_MULTI),
                                             KM("n", DQ_N, 31), KX, KEND};
static const struct keydef drv_map_keys[] = {KDOM, KE("iova", DM_IOVA), KE("pa", DM_PA), KE("size", DM_SIZE),
                                             {"perm", K_PERM, DM_PERM, 0, NULL, false}, KF("snoop", DM_SNOOP), KX,
                                             KEND};
static const struct keydef drv_dom_only_keys[] = {KDOM, KX, KEND};
static const struct keydef ex_drv_fault_keys[] = {KM("reason", EDF_REASON, 255),
                                                  {"sid", K_BDF, EDF_SID, 0xFFFF, NULL, false}, KE("addr", EDF_ADDR),
                                                  KEND};

#define B(x) (1u << (x))
#define NOPOS {-1, -1, -1}

static int parse_use(struct pstate *, const struct cmddef *, struct sc_cmd *, const struct tok *, int);
static int parse_write(struct pstate *, const struct cmddef *, struct sc_cmd *, const struct tok *, int);
static int parse_pool(struct pstate *, const struct cmddef *, struct sc_cmd *, const struct tok *, int);
static int parse_alloc(struct pstate *, const struct cmddef *, struct sc_cmd *, const struct tok *, int);
static int parse_let(struct pstate *, const struct cmddef *, struct sc_cmd *, const struct tok *, int);
static int parse_mmio(struct pstate *, const struct cmddef *, struct sc_cmd *, const struct tok *, int);
static int parse_gcmd(struct pstate *, const struct cmddef *, struct sc_cmd *, const struct tok *, int);
static int parse_print(struct pstate *, const struct cmddef *, struct sc_cmd *, const struct tok *, int);
static int parse_cmp(struct pstate *, const struct cmddef *, struct sc_cmd *, const struct tok *, int);

static const struct cmddef cmds[] = {
    {"unit", NULL, OP_UNIT, 0, unit_keys, {U_PRESET, -1, -1}, B(U_PRESET), false, NULL},
    {"use", NULL, OP_USE, 0, use_keys, {0, -1, -1}, B(0), true, parse_use},
    {"reset", NULL, OP_RESET, 0, no_keys, NOPOS, 0, true, NULL},
    {"hole", NULL, OP_HOLE, 0, hole_keys, {H_BASE, H_LEN, -1}, B(H_BASE) | B(H_LEN), false, NULL},
    {"write64", NULL, OP_WRITE, 8, NULL, NOPOS, 0, false, parse_write},
    {"write32", NULL, OP_WRITE, 4, NULL, NOPOS, 0, false, parse_write},
    {"write8", NULL, OP_WRITE, 1, NULL, NOPOS, 0, false, parse_write},
    {"fill", NULL, OP_FILL, 0, fill_keys, {F_ADDR, F_LEN, F_BYTE}, B(F_ADDR) | B(F_LEN), false, NULL},
    {"pool", NULL, 0, 0, NULL, NOPOS, 0, false, parse_pool},
    {"alloc", NULL, 0, 0, NULL, NOPOS, 0, false, parse_alloc},
    {"let", NULL, 0, 0, NULL, NOPOS, 0, false, parse_let},
    {"print", NULL, OP_PRINT, 0, NULL, NOPOS, 0, false, parse_print},
    {"root", NULL, OP_ROOT, 0, root_keys, NOPOS, B(R_TABLE) | B(R_BUS), false, NULL},
    {"context", NULL, OP_CONTEXT, 0, ctx_keys, NOPOS, B(C_TABLE) | B(C_DEVFN), false, NULL},
    {"slpte", NULL, OP_SLPTE, 0, slpte_keys, NOPOS, B(S_TABLE) | B(S_INDEX), false, NULL},
    {"slmap", NULL, OP_SLMAP, 0, slmap_keys, NOPOS, B(M_ROOT) | B(M_IOVA) | B(M_PA), false, NULL},
    {"slunmap", NULL, OP_SLUNMAP, 0, slmap_keys, NOPOS, B(M_ROOT) | B(M_IOVA), false, NULL},
    {"irte", NULL, OP_IRTE, 0, irte_keys, NOPOS, B(I_TABLE) | B(I_INDEX), false, NULL},
    {"pid", NULL, OP_PID, 0, pid_keys, {P_ADDR, -1, -1}, B(P_ADDR), false, NULL},
    {"mmio", "write", OP_MMIO_WRITE, 0, NULL, NOPOS, 0, true, parse_mmio},
    {"mmio", "read", OP_MMIO_READ, 0, NULL, NOPOS, 0, true, parse_mmio},
    {"gcmd", NULL, OP_GCMD, 0, NULL, NOPOS, 0, true, parse_gcmd},
    {"qi", "wait", OP_QI, QI_WAIT, qi_wait_keys, NOPOS, 0, true, NULL},
    {"qi", "iotlb", OP_QI, QI_IOTLB, qi_iotlb_keys, {Q_G, -1, -1}, B(Q_G), true, NULL},
    {"qi", "cc", OP_QI, QI_CC, qi_cc_keys, {Q_G, -1, -1}, B(Q_G), true, NULL},
    {"qi", "iec", OP_QI, QI_IEC, qi_iec_keys, {Q_G, -1, -1}, 0, true, NULL},
    {"qi", "devtlb", OP_QI, QI_DEVTLB, qi_devtlb_keys, NOPOS, B(Q_SID) | B(Q_ADDR), true, NULL},
    {"qi", "raw", OP_QI, QI_RAW, qi_raw_keys, {Q_LO, Q_HI, -1}, B(Q_LO) | B(Q_HI), true, NULL},
    {"qi", "run", OP_QI_RUN, 0, no_keys, NOPOS, 0, true, NULL},
    {"dma", "read", OP_DMA, DMA_READ, dma_keys, NOPOS, B(D_SID) | B(D_ADDR), true, NULL},
    {"dma", "write", OP_DMA, DMA_WRITE, dma_keys, NOPOS, B(D_SID) | B(D_ADDR), true, NULL},
    {"dma", "atomic", OP_DMA, DMA_ATOMIC, dma_keys, NOPOS, B(D_SID) | B(D_ADDR), true, NULL},
    {"dma", "exec", OP_DMA, DMA_EXEC, dma_keys, NOPOS, B(D_SID) | B(D_ADDR), true, NULL},
    {"dma", "zlr", OP_DMA, DMA_ZLR, dma_keys, NOPOS, B(D_SID) | B(D_ADDR), true, NULL},
    {"msi", NULL, OP_MSI, 0, msi_keys, NOPOS, B(MS_SID), true, NULL},
    {"expect", "translated", OP_EX_TRANSLATED, 0, ex_tr_keys, NOPOS, 0, true, NULL},
    {"expect", "fault", OP_EX_FAULT, 0, ex_fault_keys, NOPOS, B(EF_REASON), true, NULL},
    {"expect", "blocked", OP_EX_BLOCKED, 0, no_keys, NOPOS, 0, true, NULL},
    {"expect", "irq", OP_EX_IRQ, 0, ex_irq_keys, {EI_KIND, -1, -1}, B(EI_KIND), true, NULL},
    {"expect", "frcd", OP_EX_FRCD, 0, ex_frcd_keys, {ER_INDEX, -1, -1}, B(ER_INDEX), true, NULL},
    {"expect", "reg", OP_EX_REG, 0, NULL, NOPOS, 0, true, parse_cmp},
    {"expect", "mem", OP_EX_MEM, 8, NULL, NOPOS, 0, false, parse_cmp},
    {"expect", "mem32", OP_EX_MEM, 4, NULL, NOPOS, 0, false, parse_cmp},
    {"expect", "msi", OP_EX_MSI, 0, ex_msi_keys, NOPOS, 0, true, NULL},
    {"expect", "no-msi", OP_EX_NO_MSI, 0, no_keys, NOPOS, 0, true, NULL},
    {"expect", "diag", OP_EX_DIAG, 0, ex_diag_keys, {ED_CODE, -1, -1}, B(ED_CODE), true, NULL},
    {"expect", "no-diag", OP_EX_NO_DIAG, 0, no_keys, NOPOS, 0, true, NULL},
    {"expect", "drv-fault", OP_EX_DRV_FAULT, 0, ex_drv_fault_keys, NOPOS, 0, true, NULL},
    {"drv", "init", OP_DRV_INIT, 0, drv_init_keys, NOPOS, 0, true, NULL},
    {"drv", "disable", OP_DRV_DISABLE, 0, drv_plain_keys, NOPOS, 0, true, NULL},
    {"drv", "domain", OP_DRV_DOMAIN, 0, drv_domain_keys, {SC_NAME_SLOT, -1, -1}, B(SC_NAME_SLOT), true, NULL},
    {"drv", "attach", OP_DRV_ATTACH, 0, drv_attach_keys, {SC_NAME_SLOT, -1, -1}, B(SC_NAME_SLOT) | B(DA_SID), true, NULL},
    {"drv", "detach", OP_DRV_DETACH, 0, drv_detach_keys, NOPOS, B(DA_SID), true, NULL},
    {"drv", "map", OP_DRV_MAP, 0, drv_map_keys, {SC_NAME_SLOT, -1, -1},
     B(SC_NAME_SLOT) | B(DM_IOVA) | B(DM_PA) | B(DM_SIZE), true, NULL},
    {"drv", "unmap", OP_DRV_UNMAP, 0, drv_map_keys, {SC_NAME_SLOT, -1, -1}, B(SC_NAME_SLOT) | B(DM_IOVA) | B(DM_SIZE),
     true, NULL},
    {"drv", "flush", OP_DRV_FLUSH, 0, drv_dom_only_keys, {SC_NAME_SLOT, -1, -1}, B(SC_NAME_SLOT), true, NULL},
    {"drv", "faults", OP_DRV_FAULTS, 0, drv_plain_keys, NOPOS, 0, true, NULL},
    {"drv", "nested", OP_DRV_NESTED, 0, drv_nested_keys, {SC_NAME_SLOT, -1, -1},
     B(SC_NAME_SLOT) | B(DA_SID) | B(DA_PASID) | B(DA_FLPTR), true, NULL},
    {"drv", "irte-alloc", OP_DRV_IRTE_ALLOC, 0, drv_irte_alloc_keys, NOPOS, 0, true, NULL},
    {"drv", "irte-free", OP_DRV_IRTE_FREE, 0, drv_irte_free_keys, NOPOS, B(DQ_INDEX), true, NULL},
    {"drv", "irte-remap", OP_DRV_IRTE_REMAP, 0, drv_irte_remap_keys, NOPOS, B(DQ_INDEX) | B(DQ_SID) | B(DQ_VECTOR),
     true, NULL},
    {"drv", "irte-post", OP_DRV_IRTE_POST, 0, drv_irte_post_keys, NOPOS,
     B(DQ_INDEX) | B(DQ_SID) | B(DQ_PID) | B(DQ_VECTOR), true, NULL},
    {"drv", "irte-clear", OP_DRV_IRTE_CLEAR, 0, drv_irte_clear_keys, NOPOS, B(DQ_INDEX), true, NULL},
    {"drv", "pid", OP_DRV_PID, 0, drv_pid_keys, {DQ_ADDR, -1, -1}, B(DQ_ADDR) | B(DQ_NV), true, NULL},
    {"drv", "msi", OP_DRV_MSI, 0, drv_msi_keys, NOPOS, B(DQ_INDEX) | B(DQ_SID), true, NULL},
};
#define NCMDS (sizeof cmds / sizeof cmds[0])

/* "sid= addr= pasid= priv at=" for messages */
static const char *key_list(const struct keydef *k, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = 0;
    for (; k && k->name && n + 24 < len; k++) {
        n += (size_t)snprintf(buf + n, len - n, "%s%s%s", n ? " " : "", k->name, k->kind == K_FLAG ? "" : "=");
    }
    return buf;
}

static const char *cmd_name(const struct cmddef *d, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s", d->w1, d->w2 ? " " : "", d->w2 ? d->w2 : "");
    return buf;
}

/* "a, b or c" */
static const char *word_list(const char *const *w, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; w[i] && n + 24 < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s'%s'", i == 0 ? "" : w[i + 1] ? ", " : " or ", w[i]);
    return buf;
}

static bool parse_hex(const char *s, size_t n, unsigned max_digits, unsigned *out)
{
    if (n == 0 || n > max_digits)
        return false;
    unsigned x = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = digit(s[i]);
        if (d >= 16)
            return false;
        x = x * 16 + d;
    }
    *out = x;
    return true;
}

/* BB:DD.F (bus:device.function in hex); with_bus false: DD.F.  -1: not that form. */
static int parse_bdf_form(const char *s, size_t n, bool with_bus, uint64_t *v)
{
    const char *colon = with_bus ? memchr(s, ':', n) : s - 1;
    const char *dot = memchr(s, '.', n);
    if (!colon || !dot || dot < colon)
        return -1;
    unsigned b = 0, d, f;
    if (with_bus && !parse_hex(s, (size_t)(colon - s), 2, &b))
        return -1;
    if (!parse_hex(colon + 1, (size_t)(dot - colon - 1), 2, &d) || !parse_hex(dot + 1, n - (size_t)(dot - s) - 1, 1, &f))
        return -1;
    if (d > 0x1f || f > 7)
        return -2;
    *v = (uint64_t)(b << 8 | d << 3 | f);
    return 0;
}

static int parse_value(struct pstate *ps, const struct cmddef *d, const struct keydef *k, const char *s, size_t n,
                       struct sc_cmd *c)
{
    char b[48], nb[48], list[200];
    uint64_t v = 0;
    switch (k->kind) {
    case K_BDF:
    case K_DEVFN: {
        int r = parse_bdf_form(s, n, k->kind == K_BDF, &v);
        if (r == -2)
            return perr(ps, s, "%s=%s: device above 1f or function above 7", k->name, show(s, n, b, sizeof b));
        if (r == -1 && eval(ps, s, s + n, NULL, &v))
            return -1;
        break;
    }
    case K_ENUM:
        for (int i = 0; k->words[i]; i++)
            if (strlen(k->words[i]) == n && memcmp(k->words[i], s, n) == 0) {
                c->v[k->slot] = (uint64_t)i;
                return 0;
            }
        if (!k->num_ok || !((s[0] >= '0' && s[0] <= '9') || s[0] == '('))
            return perr(ps, s, "%s: expected %s for %s%s, found '%s'", cmd_name(d, nb, sizeof nb),
                        word_list(k->words, list, sizeof list), k->name, d->pos[0] == k->slot ? "" : "=",
                        show(s, n, b, sizeof b));
        if (eval(ps, s, s + n, NULL, &v))
            return -1;
        break;
    case K_PERM:
        if (n == 4 && memcmp(s, "none", 4) == 0)
            break;
        for (size_t i = 0; i < n; i++) {
            if (s[i] == 'r' && !(v & VTD_R))
                v |= VTD_R;
            else if (s[i] == 'w' && !(v & VTD_W))
                v |= VTD_W;
            else if (s[i] == 'x' && !(v & VTD_X))
                v |= VTD_X;
            else
                return perr(ps, s + i, "perm=: expected letters r, w, x (each once) or 'none', found '%s'",
                            show(s, n, b, sizeof b));
        }
        break;
    case K_NAME:
        if (n >= SC_NAME_MAX || !is_ident_start(s[0]))
            return perr(ps, s, "'%s' is not a name (a letter or _, then letters, digits, _; at most %d)",
                        show(s, n, b, sizeof b), SC_NAME_MAX - 1);
        for (size_t i = 0; i < n; i++)
            if (!is_ident(s[i]) || s[i] == '.')
                return perr(ps, s + i, "'%s' is not a name", show(s, n, b, sizeof b));
        memcpy(c->name, s, n);
        c->name[n] = 0;
        break;
    case K_DIAG: {
        int code = is_ident_start(s[0]) ? sc_diag_find(s, n) : -1;
        if (code < 0 && is_ident_start(s[0]))
            return perr(ps, s, "unknown diagnostic '%s' (a VTD_DIAG_* name of include/vtd/defs.h, or its number)",
                        show(s, n, b, sizeof b));
        if (code >= 0)
            v = (uint64_t)code;
        else if (eval(ps, s, s + n, NULL, &v))
            return -1;
        break;
    }
    case K_ONOFF:
        if (n == 2 && memcmp(s, "on", 2) == 0)
            v = 1;
        else if (!(n == 3 && memcmp(s, "off", 3) == 0))
            return perr(ps, s, "%s=: expected 'on' or 'off', found '%s'", k->name, show(s, n, b, sizeof b));
        break;
    default:
        if (eval(ps, s, s + n, k->words ? k->words[0] : NULL, &v))
            return -1;
    }
    if (k->max && v > k->max)
        return perr(ps, s, "%s=0x%" PRIx64 " is out of range (0..0x%" PRIx64 ")", k->name, v, k->max);
    c->v[k->slot] = v;
    return 0;
}

static int parse_keys(struct pstate *ps, const struct cmddef *d, struct sc_cmd *c, const struct tok *t, int n,
                      int first)
{
    char b[48], nb[48], list[300];
    int npos = 0;
    for (int i = first; i < n; i++) {
        const char *eq = memchr(t[i].s, '=', t[i].n);
        const struct keydef *k = NULL;
        if (eq && eq > t[i].s) {
            size_t kl = (size_t)(eq - t[i].s);
            for (const struct keydef *x = d->keys; x->name; x++)
                if (strlen(x->name) == kl && memcmp(x->name, t[i].s, kl) == 0)
                    k = x;
            if (!k)
                return perr(ps, t[i].s, "%s: unknown key '%s=' (keys: %s)", cmd_name(d, nb, sizeof nb),
                            show(t[i].s, kl, b, sizeof b), key_list(d->keys, list, sizeof list));
            if (k->kind == K_FLAG)
                return perr(ps, t[i].s, "%s: '%s' is a flag and takes no value", cmd_name(d, nb, sizeof nb),
                            k->name);
            if (eq + 1 == t[i].s + t[i].n)
                return perr(ps, eq + 1, "%s: missing value after '%s='", cmd_name(d, nb, sizeof nb), k->name);
        } else {
            for (const struct keydef *x = d->keys; x->name; x++)
                if (x->kind == K_FLAG && tok_is(&t[i], x->name))
                    k = x;
            if (!k && npos < 3 && d->pos[npos] >= 0) {
                for (const struct keydef *x = d->keys; x->name; x++)
                    if (x->slot == d->pos[npos])
                        k = x;
                npos++;
            }
            if (!k)
                return perr(ps, t[i].s, "%s: unexpected '%s' (keys: %s)", cmd_name(d, nb, sizeof nb),
                            show(t[i].s, t[i].n, b, sizeof b), key_list(d->keys, list, sizeof list));
        }
        if (SC_HAS(c, k->slot))
            return perr(ps, t[i].s, "%s: %s%s given twice", cmd_name(d, nb, sizeof nb), k->name,
                        k->kind == K_FLAG || (!eq && npos > 0) ? "" : "=");
        c->have |= 1u << k->slot;
        if (k->kind == K_FLAG)
            c->v[k->slot] = 1;
        else if (eq && eq > t[i].s) {
            if (parse_value(ps, d, k, eq + 1, t[i].n - (size_t)(eq + 1 - t[i].s), c))
                return -1;
        } else if (parse_value(ps, d, k, t[i].s, t[i].n, c))
            return -1;
    }
    for (const struct keydef *x = d->keys; x->name; x++)
        if ((d->required >> x->slot & 1) && !SC_HAS(c, x->slot))
            return perr(ps, t[n - 1].s + t[n - 1].n, "%s: missing %s%s (see docs/scenario.md)",
                        cmd_name(d, nb, sizeof nb), x->name,
                        (d->pos[0] == x->slot || x->kind == K_FLAG) ? "" : "=");
    return 0;
}

/* ---- hand-parsed commands ---- */

static int parse_use(struct pstate *ps, const struct cmddef *d, struct sc_cmd *c, const struct tok *t, int n)
{
    if (parse_keys(ps, d, c, t, n, 1))
        return -1;
    for (unsigned i = 0; i < ps->nunits; i++)
        if (strcmp(ps->units[i], c->name) == 0)
            return 0;
    return perr(ps, t[1].s, "use: no unit named '%s' (create it with 'unit default name=%s')", c->name, c->name);
}

static int parse_write(struct pstate *ps, const struct cmddef *d, struct sc_cmd *c, const struct tok *t, int n)
{
    if (n < 3)
        return perr(ps, t[n - 1].s + t[n - 1].n, "%s: expected an address and at least one value", d->w1);
    if (eval(ps, t[1].s, t[1].s + t[1].n, NULL, &c->addr))
        return -1;
    c->vals = calloc((size_t)(n - 2), sizeof *c->vals);
    if (!c->vals)
        return perr(ps, t[0].s, "out of memory");
    uint64_t max = d->sub == 8 ? UINT64_MAX : d->sub == 4 ? 0xFFFFFFFFULL : 0xFF;
    for (int i = 2; i < n; i++) {
        uint64_t v;
        if (eval(ps, t[i].s, t[i].s + t[i].n, NULL, &v))
            return -1;
        if (v > max)
            return perr(ps, t[i].s, "%s: 0x%" PRIx64 " does not fit %d bits", d->w1, v, d->sub * 8);
        c->vals[c->nvals++] = v;
    }
    if (c->addr + (uint64_t)c->nvals * (uint64_t)d->sub < c->addr)
        return perr(ps, t[1].s, "%s: the range wraps around the address space", d->w1);
    return 0;
}

static int parse_pool(struct pstate *ps, const struct cmddef *d, struct sc_cmd *c, const struct tok *t, int n)
{
    (void)d, (void)c;
    uint64_t v;
    if (n != 2)
        return perr(ps, n > 2 ? t[2].s : t[0].s + t[0].n, "pool: expected one address (pool BASE)");
    if (ps->pool_fixed)
        return perr(ps, t[0].s, "pool: must come before the first alloc");
    if (eval(ps, t[1].s, t[1].s + t[1].n, NULL, &v))
        return -1;
    if (v & 0xFFF || v >= VTD_MEM_MAX_SIZE)
        return perr(ps, t[1].s, "pool: 0x%" PRIx64 " is not a 4 KiB aligned address below 2^52", v);
    ps->s->pool_next = v;
    return 0;
}

static int set_var(struct pstate *ps, const struct tok *name, uint64_t v)
{
    char b[48];
    if (name->n >= SC_NAME_MAX || !is_ident_start(name->s[0]))
        return perr(ps, name->s, "'%s' is not a name", show(name->s, name->n, b, sizeof b));
    for (size_t i = 0; i < name->n; i++)
        if (!is_ident(name->s[i]) || name->s[i] == '.')
            return perr(ps, name->s + i, "'%s' is not a name (letters, digits, _)",
                        show(name->s, name->n, b, sizeof b));
    for (unsigned i = 0; i < ps->nvars; i++)
        if (tok_is(name, ps->vars[i].name)) {
            ps->vars[i].v = v;
            return 0;
        }
    if (ps->nvars == MAX_VARS)
        return perr(ps, name->s, "too many variables (at most %d)", MAX_VARS);
    memcpy(ps->vars[ps->nvars].name, name->s, name->n);
    ps->vars[ps->nvars].name[name->n] = 0;
    ps->vars[ps->nvars++].v = v;
    return 0;
}

static int parse_alloc(struct pstate *ps, const struct cmddef *d, struct sc_cmd *c, const struct tok *t, int n)
{
    (void)d, (void)c;
    uint64_t pages = 1;
    if (n < 2 || n > 3)
        return perr(ps, n > 3 ? t[3].s : t[0].s + t[0].n, "alloc: expected a name and a page count (alloc NAME [PAGES])");
    if (n == 3 && eval(ps, t[2].s, t[2].s + t[2].n, NULL, &pages))
        return -1;
    if (pages == 0 || pages > (1ULL << 28))
        return perr(ps, t[2].s, "alloc: page count must be 1..2^28");
    uint64_t base = ps->s->pool_next;
    if (base + pages * VTD_PAGE_SIZE > VTD_MEM_MAX_SIZE)
        return perr(ps, t[0].s, "alloc: the pool is exhausted (it ends at 2^52)");
    if (set_var(ps, &t[1], base))
        return -1;
    ps->s->pool_next = base + pages * VTD_PAGE_SIZE;
    ps->pool_fixed = true;
    return 0;
}

static int parse_let(struct pstate *ps, const struct cmddef *d, struct sc_cmd *c, const struct tok *t, int n)
{
    (void)d, (void)c;
    if (n < 4 || !tok_is(&t[2], "="))
        return perr(ps, n > 2 ? t[2].s : t[n - 1].s + t[n - 1].n, "let: expected 'let NAME = VALUE'");
    uint64_t v;
    if (eval(ps, t[3].s, t[n - 1].s + t[n - 1].n, NULL, &v))
        return -1;
    return set_var(ps, &t[1], v);
}

static int parse_print(struct pstate *ps, const struct cmddef *d, struct sc_cmd *c, const struct tok *t, int n)
{
    (void)d;
    if (n < 2) {
        c->text = calloc(1, 1);
    } else {
        size_t l = (size_t)(t[n - 1].s + t[n - 1].n - t[1].s);
        c->text = malloc(l + 1);
        if (c->text) {
            memcpy(c->text, t[1].s, l);
            c->text[l] = 0;
        }
    }
    return c->text ? 0 : perr(ps, t[0].s, "out of memory");
}

/* A register: a name of <vtd/regs.h>, FRCDn_LO / FRCDn_HI, or an offset. */
static int parse_reg(struct pstate *ps, const char *s, size_t n, struct sc_reg *r)
{
    char b[48];
    const struct sc_regdef *d = sc_reg_find(s, n);
    if (n >= SC_NAME_MAX)
        return perr(ps, s, "'%s' is no register", show(s, n, b, sizeof b));
    memcpy(r->name, s, n);
    r->name[n] = 0;
    if (d) {
        r->kind = d->kind;
        r->off = d->off;
        r->width = d->width;
        return 0;
    }
    if (n > 7 && memcmp(s, "FRCD", 4) == 0 && s[n - 3] == '_' &&
        (memcmp(s + n - 2, "LO", 2) == 0 || memcmp(s + n - 2, "HI", 2) == 0)) {
        uint64_t idx = 0;
        for (size_t i = 4; i < n - 3; i++) {
            if (s[i] < '0' || s[i] > '9' || idx > 255)
                return perr(ps, s, "'%s': expected FRCDn_LO or FRCDn_HI with n a decimal record index",
                            show(s, n, b, sizeof b));
            idx = idx * 10 + (uint64_t)(s[i] - '0');
        }
        if (idx > 255)
            return perr(ps, s, "'%s': a unit has at most 256 fault recording registers", show(s, n, b, sizeof b));
        r->kind = s[n - 2] == 'L' ? REG_FRCD_LO : REG_FRCD_HI;
        r->off = idx;
        r->width = 8;
        return 0;
    }
    if (is_ident_start(s[0])) {
        /* a variable holding an offset is fine; anything else is no register */
        bool var = false;
        for (unsigned i = 0; i < ps->nvars; i++)
            var |= strlen(ps->vars[i].name) == n && memcmp(ps->vars[i].name, s, n) == 0;
        if (!var)
            return perr(ps, s, "unknown register '%s' (a name of include/vtd/regs.h such as GCMD, FSTS, IQT, "
                        "IOTLB, FRCD0_HI, or an offset like 0x18)", show(s, n, b, sizeof b));
    }
    uint64_t off;
    if (eval(ps, s, s + n, NULL, &off))
        return -1;
    if (off > 0xFFFFF)
        return perr(ps, s, "register offset 0x%" PRIx64 " beyond any unit's register window", off);
    r->kind = REG_OFFSET;
    r->off = off;
    r->width = 4;
    for (size_t i = 0; i < 64; i++) { /* a known offset gets its register's width */
        static const char *const names[] = {"VER", "CAP", "ECAP", "GCMD", "GSTS", "RTADDR", "CCMD", "FSTS",
                                            "FECTL", "FEDATA", "FEADDR", "FEUADDR", "AFLOG", "PMEN", "PLMBASE",
                                            "PLMLIMIT", "PHMBASE", "PHMLIMIT", "IQH", "IQT", "IQA", "ICS",
                                            "IECTL", "IEDATA", "IEADDR", "IEUADDR", "IQERCD", "IRTA", NULL};
        if (!names[i])
            break;
        const struct sc_regdef *k = sc_reg_find(names[i], strlen(names[i]));
        if (k->off == off)
            r->width = k->width;
    }
    return 0;
}

static const char *reg_fields(const struct sc_reg *r)
{
    return sc_reg_fieldset(r);
}

static int parse_size_opt(struct pstate *ps, const struct tok *t, struct sc_reg *r)
{
    if (t->n == 6 && memcmp(t->s, "size=4", 6) == 0)
        r->width = 4;
    else if (t->n == 6 && memcmp(t->s, "size=8", 6) == 0)
        r->width = 8;
    else
        return perr(ps, t->s, "size=: expected size=4 or size=8");
    return 0;
}

static int parse_mmio(struct pstate *ps, const struct cmddef *d, struct sc_cmd *c, const struct tok *t, int n)
{
    bool wr = d->op == OP_MMIO_WRITE;
    if (n < (wr ? 4 : 3))
        return perr(ps, t[n - 1].s + t[n - 1].n, wr ? "mmio write: expected a register and a value (mmio write REG VALUE)"
                                                    : "mmio read: expected a register (mmio read REG)");
    if (parse_reg(ps, t[2].s, t[2].n, &c->reg))
        return -1;
    int last = n;
    if (t[n - 1].n > 5 && memcmp(t[n - 1].s, "size=", 5) == 0) {
        if (parse_size_opt(ps, &t[n - 1], &c->reg))
            return -1;
        last = n - 1;
    }
    if (!wr) {
        if (last != 3)
            return perr(ps, t[3].s, "mmio read: unexpected '%.*s'", (int)(t[3].n > 40 ? 40 : t[3].n), t[3].s);
        return 0;
    }
    if (last < 4)
        return perr(ps, t[n - 1].s + t[n - 1].n, "mmio write: expected a value");
    if (eval(ps, t[3].s, t[last - 1].s + t[last - 1].n, reg_fields(&c->reg), &c->value))
        return -1;
    if (c->reg.width == 4 && c->value > 0xFFFFFFFFULL)
        return perr(ps, t[3].s, "mmio write: 0x%" PRIx64 " does not fit the 32-bit register %s", c->value,
                    c->reg.name);
    return 0;
}

static int parse_gcmd(struct pstate *ps, const struct cmddef *d, struct sc_cmd *c, const struct tok *t, int n)
{
    (void)d;
    int first = 1;
    if (n > 1 && tok_is(&t[1], "clear")) {
        c->sub = GCMD_CLEAR;
        first = 2;
    }
    if (n <= first)
        return perr(ps, t[n - 1].s + t[n - 1].n, "gcmd: expected command bits (gcmd TE, gcmd SRTP, gcmd clear TE)");
    if (eval(ps, t[first].s, t[n - 1].s + t[n - 1].n, "GCMD", &c->mask))
        return -1;
    uint64_t allowed = c->sub == GCMD_CLEAR ? VTD_GCMD_PERSISTENT : VTD_GCMD_PERSISTENT | VTD_GCMD_ONESHOT;
    if (!c->mask || (c->mask & ~allowed))
        return perr(ps, t[first].s, c->sub == GCMD_CLEAR ? "gcmd clear: only persistent bits (TE, EAFL, QIE, IRE, CFI) can be cleared"
                                                         : "gcmd: expected GCMD bits (TE, SRTP, SFL, EAFL, WBF, QIE, IRE, SIRTP, CFI)");
    return 0;
}

/* expect reg REG[.FIELD] [& MASK] ==|!= VALUE; expect mem[32] ADDR ==|!= VALUE */
static int parse_cmp(struct pstate *ps, const struct cmddef *d, struct sc_cmd *c, const struct tok *t, int n)
{
    char nb[48];
    if (n < 3)
        return perr(ps, t[n - 1].s + t[n - 1].n, "%s: expected %s", cmd_name(d, nb, sizeof nb),
                    d->op == OP_EX_REG ? "REG[.FIELD] [& MASK] == VALUE" : "ADDR == VALUE");
    const char *s = t[2].s, *end = t[n - 1].s + t[n - 1].n, *op = NULL;
    for (const char *p = s; p + 1 < end; p++)
        if ((p[0] == '=' || p[0] == '!') && p[1] == '=') {
            op = p;
            break;
        }
    if (!op)
        return perr(ps, end, "%s: expected '==' or '!=' and a value", cmd_name(d, nb, sizeof nb));
    c->cmp = op[0] == '=' ? CMP_EQ : CMP_NE;
    c->mask = ~0ULL;
    const char *fields = NULL;
    const char *p = s;
    if (d->op == OP_EX_MEM) { /* the address is one word: ADDR [& MASK] */
        p = s + t[2].n < op ? s + t[2].n : op;
        while (p > s && p[-1] == ' ')
            p--;
        if (eval(ps, s, p, NULL, &c->addr))
            return -1;
    } else {
        while (p < op && *p != ' ' && *p != '\t' && *p != '&' && *p != '.')
            p++;
        if (parse_reg(ps, s, (size_t)(p - s), &c->reg))
            return -1;
        fields = reg_fields(&c->reg);
        if (p < op && *p == '.') {
            const char *f = ++p;
            while (p < op && is_ident(*p))
                p++;
            const struct sc_fielddef *fd = fields ? sc_field_find(fields, f, (size_t)(p - f)) : NULL;
            if (!fd) {
                char list[240], b[48];
                return perr(ps, f, "'%s' is no field of %s (fields: %s)", show(f, (size_t)(p - f), b, sizeof b),
                            c->reg.name, fields ? sc_field_list(fields, list, sizeof list) : "none known");
            }
            c->reg.field = fd->mask;
            snprintf(c->reg.fname, sizeof c->reg.fname, "%s", fd->name);
        }
    }
    while (p < op && (*p == ' ' || *p == '\t'))
        p++;
    if (p < op && *p == '&') {
        if (eval(ps, p + 1, op, fields, &c->mask))
            return -1;
    } else if (p < op) {
        return perr(ps, p, "%s: expected '&', '==' or '!=' after the %s", cmd_name(d, nb, sizeof nb),
                    d->op == OP_EX_REG ? "register" : "address");
    }
    if (eval(ps, op + 2, end, fields, &c->value))
        return -1;
    if (d->op == OP_EX_MEM && d->sub == 4 && c->value > 0xFFFFFFFFULL)
        return perr(ps, op + 2, "expect mem32: 0x%" PRIx64 " does not fit 32 bits", c->value);
    c->sub = d->sub;
    return 0;
}

/* ---- per-command checks that tie keys together ---- */

static int check(struct pstate *ps, const struct cmddef *d, struct sc_cmd *c, const struct tok *t, int n)
{
    switch (c->op) {
    case OP_UNIT:
        if (!c->name[0])
            snprintf(c->name, sizeof c->name, "unit%u", ps->nunits);
        for (unsigned i = 0; i < ps->nunits; i++)
            if (strcmp(ps->units[i], c->name) == 0)
                return perr(ps, t[0].s, "unit: a unit named '%s' exists already (give name=...)", c->name);
        if (ps->nunits >= ps->s->lim.max_units || ps->nunits >= MAX_UNITS_NAMES)
            return perr(ps, t[0].s, "unit: at most %u units", ps->s->lim.max_units);
        memcpy(ps->units[ps->nunits++], c->name, SC_NAME_MAX);
        for (int k = U_IOTLB; k <= U_IEC; k++)
            if (c->v[k] > ps->s->lim.max_cache)
                return perr(ps, t[0].s, "unit: a cache of 0x%" PRIx64 " entries is more than this run allows (%" PRIu32 ")",
                            c->v[k], ps->s->lim.max_cache);
        break;
    case OP_CONTEXT:
        if (SC_HAS(c, C_AW)) { /* 39/48/57 bits, or the raw AW encoding 0..7 */
            uint64_t aw = c->v[C_AW];
            if (aw == 39 || aw == 48 || aw == 57)
                c->v[C_AW] = aw == 39 ? VTD_AW_39 : aw == 48 ? VTD_AW_48 : VTD_AW_57;
            else if (aw > 7)
                return perr(ps, t[0].s, "context: aw= takes 39, 48, 57 or an AW encoding 0..7");
        } else {
            c->v[C_AW] = VTD_AW_48;
        }
        if (!SC_HAS(c, C_DID))
            c->v[C_DID] = 1;
        if (!SC_HAS(c, C_SLPTPTR) && !SC_HAS(c, C_NP) && c->v[C_TT] != VTD_TT_PASSTHROUGH)
            return perr(ps, t[n - 1].s + t[n - 1].n, "context: missing slptptr= (or tt=passthrough, or np)");
        break;
    case OP_ROOT:
        if (!SC_HAS(c, R_CTP) && !SC_HAS(c, R_NP))
            return perr(ps, t[n - 1].s + t[n - 1].n, "root: missing ctp= (or np for a not-present entry)");
        break;
    case OP_SLPTE:
        if (!SC_HAS(c, S_PERM))
            c->v[S_PERM] = VTD_R | VTD_W;
        break;
    case OP_SLMAP:
    case OP_SLUNMAP: {
        uint64_t lv = SC_HAS(c, M_LEVELS) ? c->v[M_LEVELS] : 4;
        if (lv < 3 || lv > 5)
            return perr(ps, t[0].s, "%s: levels= takes 3, 4 or 5", d->w1);
        c->v[M_LEVELS] = lv;
        uint64_t sz = SC_HAS(c, M_SIZE) ? c->v[M_SIZE] : VTD_PAGE_SIZE;
        if (sz != VTD_PAGE_SIZE && sz != (2ULL << 20) && sz != (1ULL << 30))
            return perr(ps, t[0].s, "%s: size= takes 4k, 2m or 1g", d->w1);
        c->v[M_SIZE] = sz;
        if ((c->v[M_IOVA] & (sz - 1)) || (c->op == OP_SLMAP && (c->v[M_PA] & (sz - 1))))
            return perr(ps, t[0].s, "%s: iova= and pa= must be aligned to size= (0x%" PRIx64 ")", d->w1, sz);
        if (c->v[M_ROOT] & 0xFFF)
            return perr(ps, t[0].s, "%s: root= must be 4 KiB aligned", d->w1);
        if (!SC_HAS(c, M_PERM))
            c->v[M_PERM] = VTD_R | VTD_W;
        break;
    }
    case OP_IRTE:
        if (SC_HAS(c, I_POSTED) && !SC_HAS(c, I_PDA))
            return perr(ps, t[n - 1].s + t[n - 1].n, "irte posted: missing pda= (the posted-interrupt descriptor)");
        if (!SC_HAS(c, I_POSTED) && !SC_HAS(c, I_X2APIC) && c->v[I_DEST] > 0xFF)
            return perr(ps, t[0].s, "irte: dest= above 0xff needs x2apic (xAPIC destinations are 8-bit APIC ids)");
        if (SC_HAS(c, I_PDA) && (c->v[I_PDA] & 63))
            return perr(ps, t[0].s, "irte: pda= must be 64-byte aligned");
        break;
    case OP_PID:
        if (!SC_HAS(c, P_X2APIC) && c->v[P_NDST] > 0xFF)
            return perr(ps, t[0].s, "pid: ndst= above 0xff needs x2apic (xAPIC NDST holds an 8-bit APIC id)");
        if (c->v[P_ADDR] & 63)
            return perr(ps, t[1].s, "pid: the descriptor address must be 64-byte aligned");
        break;
    case OP_FILL:
        if (c->v[F_LEN] > ps->s->lim.max_fill)
            return perr(ps, t[0].s, "fill: at most %" PRIu64 " bytes at once", ps->s->lim.max_fill);
        if (c->v[F_ADDR] + c->v[F_LEN] < c->v[F_ADDR])
            return perr(ps, t[0].s, "fill: the range wraps around the address space");
        break;
    case OP_HOLE:
        if (!c->v[H_LEN] || c->v[H_BASE] + c->v[H_LEN] < c->v[H_BASE])
            return perr(ps, t[0].s, "hole: expected a non-empty range");
        break;
    case OP_MSI:
        ps->seen_msi = true;
        if (SC_HAS(c, MS_ADDR) == SC_HAS(c, MS_HANDLE))
            return perr(ps, t[0].s, "msi: give either addr= (and data=) or handle= (and subhandle=)");
        if (SC_HAS(c, MS_SUBHANDLE) && !SC_HAS(c, MS_HANDLE))
            return perr(ps, t[0].s, "msi: subhandle= goes with handle=");
        if (SC_HAS(c, MS_SUBHANDLE) && SC_HAS(c, MS_DATA))
            return perr(ps, t[0].s, "msi: subhandle= is the data; give one of them");
        if (SC_HAS(c, MS_ADDR) && (c->v[MS_ADDR] >> 20) != 0xFEE)
            return perr(ps, t[0].s, "msi: addr=0x%" PRIx64 " is no interrupt request address (0xFEExxxxx)",
                        c->v[MS_ADDR]);
        break;
    case OP_DMA:
        ps->seen_dma = true;
        if (SC_HAS(c, D_PRIV) && !SC_HAS(c, D_PASID))
            return perr(ps, t[0].s, "dma: priv needs pasid= (privilege is a PASID attribute)");
        break;
    case OP_DRV_INIT:
        ps->seen_drv = true;
        if (SC_HAS(c, DI_FDATA) && !SC_HAS(c, DI_FMSI))
            return perr(ps, t[0].s, "drv init: fault_data= goes with fault_msi=");
        break;
    case OP_DRV_DOMAIN:
        if (!ps->seen_drv)
            return perr(ps, t[0].s, "drv %s: no 'drv init' before it", d->w2);
        for (unsigned i = 0; i < ps->ndoms; i++)
            if (strcmp(ps->doms[i], c->name) == 0)
                return perr(ps, t[2].s, "drv domain: a domain named '%s' exists already", c->name);
        if (ps->ndoms == MAX_DOMS)
            return perr(ps, t[0].s, "drv domain: at most %d domains", MAX_DOMS);
        memcpy(ps->doms[ps->ndoms++], c->name, SC_NAME_MAX);
        break;
    case OP_DRV_ATTACH:
    case OP_DRV_NESTED:
    case OP_DRV_MAP:
    case OP_DRV_UNMAP:
    case OP_DRV_FLUSH: {
        if (c->op == OP_DRV_ATTACH && SC_HAS(c, DA_PASID) && SC_HAS(c, DA_ATS))
            return perr(ps, t[0].s, "drv attach: ats goes with the device (attach it without pasid=), not a PASID");
        if (c->op == OP_DRV_NESTED && SC_HAS(c, DA_LEVELS) && c->v[DA_LEVELS] != 4 && c->v[DA_LEVELS] != 5)
            return perr(ps, t[0].s, "drv nested: levels= is 4 or 5 (first-level paging), not %" PRIu64,
                        c->v[DA_LEVELS]);
        bool known = false;
        for (unsigned i = 0; i < ps->ndoms; i++)
            known |= strcmp(ps->doms[i], c->name) == 0;
        if (!known)
            return perr(ps, t[2].s, "drv %s: no domain named '%s' (create it with 'drv domain %s')", d->w2, c->name,
                        c->name);
        if (c->op == OP_DRV_MAP && !SC_HAS(c, DM_PERM))
            c->v[DM_PERM] = VTD_R | VTD_W;
        break;
    }
    case OP_DRV_MSI:
        ps->seen_msi = true;
        if (SC_HAS(c, DQ_N) && !SC_HAS(c, DQ_MULTI))
            return perr(ps, t[0].s, "drv msi: n= (the message number) goes with multi");
        /* fall through */
    case OP_DRV_DISABLE:
    case OP_DRV_DETACH:
    case OP_DRV_FAULTS:
    case OP_DRV_IRTE_ALLOC:
    case OP_DRV_IRTE_FREE:
    case OP_DRV_IRTE_REMAP:
    case OP_DRV_IRTE_POST:
    case OP_DRV_IRTE_CLEAR:
    case OP_DRV_PID:
    case OP_EX_DRV_FAULT:
        if (!ps->seen_drv)
            return perr(ps, t[0].s, "%s %s: no 'drv init' before it", d->w1, d->w2);
        break;
    case OP_EX_TRANSLATED:
    case OP_EX_BLOCKED:
        if (!ps->seen_dma)
            return perr(ps, t[0].s, "expect %s: no 'dma' request before it to check", d->w2);
        break;
    case OP_EX_FAULT:
        if (!ps->seen_dma && !ps->seen_msi)
            return perr(ps, t[0].s, "expect fault: no 'dma' or 'msi' request before it to check");
        if (SC_HAS(c, EF_RECORDED) && SC_HAS(c, EF_SUPPRESSED))
            return perr(ps, t[0].s, "expect fault: recorded or suppressed, not both");
        break;
    case OP_EX_IRQ:
        if (!ps->seen_msi)
            return perr(ps, t[0].s, "expect irq: no 'msi' request before it to check");
        if (SC_HAS(c, EI_NOTIFIED) && SC_HAS(c, EI_NO_NOTIFY))
            return perr(ps, t[0].s, "expect irq: notified or no-notify, not both");
        break;
    case OP_QI:
        if (c->sub == QI_IEC && !SC_HAS(c, Q_G)) { /* index= alone means index-selective */
            c->v[Q_G] = SC_HAS(c, Q_INDEX) ? 1 : 0;
            if (!SC_HAS(c, Q_INDEX))
                return perr(ps, t[1].s + t[1].n, "qi iec: missing 'global' or 'index=N'");
        }
        if (c->sub == QI_WAIT && SC_HAS(c, Q_ADDR))
            c->v[Q_SW] = 1, c->have |= 1u << Q_SW;
        if (c->sub == QI_WAIT && SC_HAS(c, Q_SW) && !SC_HAS(c, Q_ADDR))
            return perr(ps, t[1].s, "qi wait sw: missing addr= (where the status data is written)");
        if (c->sub == QI_WAIT && (c->v[Q_ADDR] & 3))
            return perr(ps, t[1].s, "qi wait: addr= must be 4-byte aligned (bits 1:0 are reserved)");
        break;
    }
    return 0;
}

/* ---- lines ---- */

static int tokenize(struct pstate *ps, const char *s, const char *end, struct tok *t, int *nt)
{
    int n = 0;
    const char *p = s;
    for (;;) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
            p++;
        if (p >= end || *p == '#')
            break;
        if (n == MAX_TOKS)
            return perr(ps, p, "too many words on one line (at most %d)", MAX_TOKS);
        const char *st = p;
        int depth = 0;
        while (p < end && *p != '#' && (depth > 0 || (*p != ' ' && *p != '\t' && *p != '\r'))) {
            unsigned char ch = (unsigned char)*p;
            if (ch < 0x20 && ch != '\t' && ch != '\r')
                return perr(ps, p, "unexpected control byte 0x%02x", ch);
            if (ch >= 0x7f)
                return perr(ps, p, "unexpected byte 0x%02x (scenarios are ASCII text)", ch);
            if (ch == '(')
                depth++;
            else if (ch == ')')
                depth--;
            p++;
        }
        t[n].s = st;
        t[n].n = (size_t)(p - st);
        n++;
    }
    *nt = n;
    return 0;
}

static int parse_line(struct pstate *ps, const char *s, const char *end)
{
    struct tok t[MAX_TOKS];
    int n = 0;
    char b[48];
    if (tokenize(ps, s, end, t, &n))
        return -1;
    if (n == 0)
        return 0;
    const struct cmddef *d = NULL;
    bool w1 = false;
    for (size_t i = 0; i < NCMDS; i++) {
        if (!tok_is(&t[0], cmds[i].w1))
            continue;
        w1 = true;
        if (!cmds[i].w2 || (n > 1 && tok_is(&t[1], cmds[i].w2))) {
            d = &cmds[i];
            break;
        }
    }
    /* "expect no msi" reads better than "expect no-msi": accept both */
    struct tok joined;
    if (!d && n > 2 && tok_is(&t[0], "expect") && tok_is(&t[1], "no") && (tok_is(&t[2], "msi") || tok_is(&t[2], "diag"))) {
        joined.s = t[1].s;
        joined.n = (size_t)(t[2].s + t[2].n - t[1].s);
        int want = tok_is(&t[2], "msi") ? OP_EX_NO_MSI : OP_EX_NO_DIAG;
        for (size_t i = 0; i < NCMDS; i++)
            if (cmds[i].op == want)
                d = &cmds[i];
        for (int i = 2; i + 1 < n; i++)
            t[i] = t[i + 1];
        t[1] = joined;
        n--;
    }
    if (!d && !w1) {
        return perr(ps, t[0].s, "unknown command '%s' (expected unit, use, reset, hole, write64, write32, write8, "
                    "fill, pool, alloc, let, print, root, context, slpte, slmap, slunmap, irte, pid, mmio, gcmd, "
                    "qi, dma, msi, drv or expect)", show(t[0].s, t[0].n, b, sizeof b));
    }
    if (!d) {
        char list[300];
        const char *words[NCMDS + 1];
        size_t k = 0;
        for (size_t i = 0; i < NCMDS; i++)
            if (tok_is(&t[0], cmds[i].w1))
                words[k++] = cmds[i].w2;
        words[k] = NULL;
        word_list(words, list, sizeof list);
        if (n < 2)
            return perr(ps, t[0].s + t[0].n, "%s: expected %s, found end of line", show(t[0].s, t[0].n, b, sizeof b), list);
        char b2[48];
        return perr(ps, t[1].s, "%s: expected %s, found '%s'", show(t[0].s, t[0].n, b, sizeof b), list,
                    show(t[1].s, t[1].n, b2, sizeof b2));
    }
    struct sc_cmd c;
    memset(&c, 0, sizeof c);
    c.op = d->op;
    c.sub = d->sub;
    c.line = ps->lineno;
    c.col = (int)(t[0].s - ps->line) + 1;
    if (d->needs_unit && ps->nunits == 0)
        return perr(ps, t[0].s, "%s: no unit yet (create one first, e.g. 'unit default')", d->w1);
    int first = d->w2 ? 2 : 1;
    int r = d->parse ? d->parse(ps, d, &c, t, n) : parse_keys(ps, d, &c, t, n, first);
    if (!r && c.op)
        r = check(ps, d, &c, t, n);
    if (r || !c.op) {
        free(c.vals);
        free(c.text);
        return r;
    }
    struct sc_script *sc = ps->s;
    if (sc->n == sc->cap) {
        unsigned ncap = sc->cap ? sc->cap * 2 : 64;
        struct sc_cmd *nc = realloc(sc->cmds, ncap * sizeof *nc);
        if (!nc) {
            free(c.vals);
            free(c.text);
            return perr(ps, t[0].s, "out of memory");
        }
        sc->cmds = nc;
        sc->cap = ncap;
    }
    sc->cmds[sc->n++] = c;
    return 0;
}

int sc_parse(const char *name, const char *text, size_t len, const struct sc_limits *lim, struct sc_script **out,
             struct sc_error *err)
{
    memset(err, 0, sizeof *err);
    *out = NULL;
    struct sc_script *s = calloc(1, sizeof *s);
    struct pstate ps = {.s = s, .err = err};
    if (s) {
        ps.vars = calloc(MAX_VARS, sizeof *ps.vars);
        ps.units = calloc(MAX_UNITS_NAMES, sizeof *ps.units);
        ps.doms = calloc(MAX_DOMS, sizeof *ps.doms);
    }
    if (!s || !ps.vars || !ps.units || !ps.doms) {
        free(ps.vars);
        free(ps.units);
        free(ps.doms);
        free(s);
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return VTD_ENOMEM;
    }
    snprintf(s->file, sizeof s->file, "%s", name ? name : "-");
    if (lim)
        s->lim = *lim;
    else
        sc_default_limits(&s->lim);
    s->pool_next = POOL_DEFAULT;
    const char *p = text, *end = text + len;
    int r = 0;
    for (ps.lineno = 1; p < end; ps.lineno++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        ps.line = p;
        if ((unsigned)ps.lineno > s->lim.max_lines) {
            r = perr(&ps, p, "script too long (more than %u lines)", s->lim.max_lines);
            break;
        }
        if (parse_line(&ps, p, le)) {
            r = -1;
            break;
        }
        p = nl ? nl + 1 : end;
    }
    free(ps.vars);
    free(ps.units);
    free(ps.doms);
    if (r) {
        sc_free(s);
        return 2;
    }
    *out = s;
    return 0;
}

void sc_free(struct sc_script *s)
{
    if (!s)
        return;
    for (unsigned i = 0; i < s->n; i++) {
        free(s->cmds[i].vals);
        free(s->cmds[i].text);
    }
    free(s->cmds);
    free(s);
}
