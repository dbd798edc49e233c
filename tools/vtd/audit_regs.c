/* SPDX-License-Identifier: MIT */
/*
 * `vtd audit` register file.  Three forms, told apart by their content:
 *
 *   NAME VALUE lines        "CAP 0xd2008c40660462", '#' starts a comment;
 *                           names as the spec writes them (VER CAP ECAP GSTS
 *                           RTADDR IRTA IQA) or as Linux's sysfs files under
 *                           /sys/class/iommu/dmarN/intel-iommu/ name them
 *                           (version "1:0", cap, ecap, address = register base)
 *   Linux iommu_regset      /sys/kernel/debug/iommu/intel/iommu_regset as is:
 *                           "IOMMU: dmar0 Register Base Address: fed90000",
 *                           then "NAME  0xOFF  0xVALUE" lines
 *   JSON                    one object {"CAP": "0x...", "GSTS": 3221225472, ...}
 *
 * Values are hex (with or without 0x); JSON numbers are decimal.  Every error
 * names the line and column.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit.h"

struct rp {
    const char *s;
    size_t len, i;
    unsigned line, col;
    char *err;
    size_t errlen;
};

static int rp_err(struct rp *p, unsigned line, unsigned col, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errlen, "%u:%u: %s", line, col, msg);
    return -1;
}

/* Register names: the ones the audit uses, and the rest of a regset dump
 * (accepted and ignored). */
static const struct { const char *name; unsigned bit; } used[] = {
    {"VER", AUDIT_REG_VER},     {"VERSION", AUDIT_REG_VER}, {"CAP", AUDIT_REG_CAP},
    {"ECAP", AUDIT_REG_ECAP},   {"GSTS", AUDIT_REG_GSTS},   {"RTADDR", AUDIT_REG_RTADDR},
    {"IRTA", AUDIT_REG_IRTA},   {"IQA", AUDIT_REG_IQA},     {"HAW", AUDIT_REG_HAW},
    {"ADDRESS", AUDIT_REG_BASE},
};
static const char *const ignored[] = {
    "GCMD", "FSTS", "FECTL", "FEDATA", "FEADDR", "FEUADDR", "PMEN", "PLMBASE", "PLMLIMIT",
    "ICS", "PRS", "PECTL", "PEDATA", "PEADDR", "PEUADDR", "CCMD", "AFLOG", "PHMBASE",
    "PHMLIMIT", "IQH", "IQT", "IQERCD", "IECTL", "IEDATA", "IEADDR", "IEUADDR", "PQH", "PQT",
    "PQA", "MTRRCAP", "MTRRDEF", "VCCAP", "VCMD", "VCRSP", "ECMD", "ECRSP", "ECEO",
    "DOMAINS_SUPPORTED", "DOMAINS_USED",
};

static bool is_ignored(const char *name, size_t n)
{
    if (n >= 4 && strncasecmp(name, "MTRR", 4) == 0)
        return true; /* MTRR_FIX*, MTRR_PHYSBASE/MASKn */
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
        if (strlen(ignored[i]) == n && strncasecmp(ignored[i], name, n) == 0)
            return true;
    return false;
}

static unsigned find_used(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof used / sizeof used[0]; i++)
        if (strlen(used[i].name) == n && strncasecmp(used[i].name, name, n) == 0)
            return used[i].bit;
    return 0;
}

/* hex with optional 0x; "M:m" for the sysfs version file when is_ver */
static bool parse_hex(const char *s, size_t n, bool is_ver, uint64_t *out)
{
    if (is_ver) {
        const char *colon = memchr(s, ':', n);
        if (colon) {
            uint64_t maj = 0, min = 0;
            size_t a = (size_t)(colon - s);
            if (a == 0 || a > 2 || n - a - 1 == 0 || n - a - 1 > 2)
                return false;
            for (size_t i = 0; i < a; i++) {
                if (!isdigit((unsigned char)s[i]))
                    return false;
                maj = maj * 10 + (uint64_t)(s[i] - '0');
            }
            for (size_t i = a + 1; i < n; i++) {
                if (!isdigit((unsigned char)s[i]))
                    return false;
                min = min * 10 + (uint64_t)(s[i] - '0');
            }
            if (maj > 15 || min > 15)
                return false;
            *out = maj << 4 | min;
            return true;
        }
    }
    if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        n -= 2;
    }
    if (n == 0 || n > 16)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return false;
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return true;
}

static int store(struct rp *p, struct audit_regs *r, unsigned bit, uint64_t v, unsigned line,
                 unsigned col, const char *name, size_t n)
{
    if (r->seen & bit)
        return rp_err(p, line, col, "%.*s given twice", (int)n, name);
    switch (bit) {
    case AUDIT_REG_VER:
    case AUDIT_REG_GSTS:
        if (v > 0xFFFFFFFFu)
            return rp_err(p, line, col, "%.*s is a 32-bit register", (int)n, name);
        if (bit == AUDIT_REG_VER)
            r->ver = (uint32_t)v;
        else
            r->gsts = (uint32_t)v;
        break;
    case AUDIT_REG_CAP: r->cap = v; break;
    case AUDIT_REG_ECAP: r->ecap = v; break;
    case AUDIT_REG_RTADDR: r->rtaddr = v; break;
    case AUDIT_REG_IRTA: r->irta = v; break;
    case AUDIT_REG_IQA: r->iqa = v; break;
    case AUDIT_REG_BASE: r->unit_base = v; break;
    case AUDIT_REG_HAW:
        if (v < 20 || v > 64)
            return rp_err(p, line, col, "HAW %llu: want a width of 20..64 bits",
                          (unsigned long long)v);
        r->haw = (uint8_t)v;
        break;
    }
    r->seen |= bit;
    return 0;
}

static int check_required(struct rp *p, struct audit_regs *r)
{
    static const struct { unsigned bit; const char *name; } req[] = {
        {AUDIT_REG_CAP, "CAP"}, {AUDIT_REG_ECAP, "ECAP"}, {AUDIT_REG_GSTS, "GSTS"},
        {AUDIT_REG_RTADDR, "RTADDR"},
    };
    for (size_t i = 0; i < sizeof req / sizeof req[0]; i++)
        if (!(r->seen & req[i].bit))
            return rp_err(p, p->line, p->col, "%s missing (needed: CAP ECAP GSTS RTADDR)",
                          req[i].name);
    if (!(r->seen & AUDIT_REG_VER))
        r->ver = 0x10;
    return 0;
}

/* ---- text forms ---- */

static int parse_text(struct rp *p, const char *unit, struct audit_regs *r)
{
    bool in_unit = unit == NULL, seen_header = false;
    const char *s = p->s;
    size_t i = 0;
    p->line = 1;
    while (i < p->len) {
        size_t eol = i;
        while (eol < p->len && s[eol] != '\n')
            eol++;
        size_t end = eol;
        const char *hash = memchr(s + i, '#', end - i);
        if (hash)
            end = (size_t)(hash - s);
        /* tokens */
        size_t tok[4], tlen[4];
        int nt = 0;
        size_t j = i;
        while (j < end) {
            while (j < end && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r'))
                j++;
            if (j >= end)
                break;
            size_t st = j;
            while (j < end && s[j] != ' ' && s[j] != '\t' && s[j] != '\r')
                j++;
            if (nt < 4) {
                tok[nt] = st;
                tlen[nt] = j - st;
            }
            nt++;
        }
        unsigned line = p->line;
        p->line++;
        size_t next = eol < p->len ? eol + 1 : eol;
        if (nt == 0) {
            i = next;
            continue;
        }
#define COL(k) ((unsigned)(tok[k] - i + 1))
        const char *t0 = s + tok[0];
        if (tlen[0] == 6 && strncmp(t0, "IOMMU:", 6) == 0) {
            /* "IOMMU: dmar0 Register Base Address: fed90000" */
            if (nt < 2)
                return rp_err(p, line, COL(0), "IOMMU: header without a unit name");
            if (seen_header && unit == NULL)
                break; /* first unit only */
            seen_header = true;
            size_t nl = tlen[1];
            in_unit = unit == NULL || (strlen(unit) == nl && strncmp(unit, s + tok[1], nl) == 0);
            if (in_unit) {
                snprintf(r->name, sizeof r->name, "%.*s", (int)(nl < 31 ? nl : 31), s + tok[1]);
                const char *ba = NULL;
                for (size_t k = i; k + 8 <= end; k++)
                    if (strncmp(s + k, "Address:", 8) == 0)
                        ba = s + k + 8;
                if (ba) {
                    while (ba < s + end && (*ba == ' ' || *ba == '\t'))
                        ba++;
                    const char *be = ba;
                    while (be < s + end && !isspace((unsigned char)*be))
                        be++;
                    uint64_t v;
                    if (!parse_hex(ba, (size_t)(be - ba), false, &v))
                        return rp_err(p, line, (unsigned)(ba - (s + i) + 1),
                                      "bad register base address");
                    r->unit_base = v;
                    r->seen |= AUDIT_REG_BASE;
                }
            }
            i = next;
            continue;
        }
        if (tlen[0] == 4 && strncasecmp(t0, "Name", 4) == 0 && nt == 3) {
            i = next; /* the regset column header */
            continue;
        }
        if (!in_unit) {
            i = next;
            continue;
        }
        if (nt != 2 && nt != 3)
            return rp_err(p, line, COL(0), "want 'NAME VALUE' (or 'NAME OFFSET VALUE'), got %d fields",
                          nt);
        int vt = nt - 1;
        unsigned bit = find_used(t0, tlen[0]);
        if (!bit && !is_ignored(t0, tlen[0]))
            return rp_err(p, line, COL(0), "unknown register '%.*s'", (int)tlen[0], t0);
        uint64_t v = 0;
        if (bit == AUDIT_REG_HAW) {
            /* HAW is a width: decimal */
            bool ok = tlen[vt] > 0 && tlen[vt] < 4;
            for (size_t k = 0; ok && k < tlen[vt]; k++) {
                ok = isdigit((unsigned char)s[tok[vt] + k]);
                v = v * 10 + (uint64_t)(s[tok[vt] + k] - '0');
            }
            if (!ok)
                return rp_err(p, line, COL(vt), "HAW: want a decimal width");
        } else if (!parse_hex(s + tok[vt], tlen[vt], bit == AUDIT_REG_VER, &v)) {
            return rp_err(p, line, COL(vt), "bad value '%.*s' for %.*s (want hex)",
                          (int)(tlen[vt] > 40 ? 40 : tlen[vt]), s + tok[vt], (int)tlen[0], t0);
        }
        if (bit && store(p, r, bit, v, line, COL(0), t0, tlen[0]) != 0)
            return -1;
#undef COL
        i = next;
    }
    if (unit && !seen_header)
        return rp_err(p, 1, 1, "--unit %s: the file has no 'IOMMU: NAME' sections", unit);
    if (unit && !r->name[0])
        return rp_err(p, p->line, 1, "no unit named %s in the file", unit);
    p->col = 1;
    return check_required(p, r);
}

/* ---- JSON: one flat object ---- */

static void js_ws(struct rp *p)
{
    while (p->i < p->len) {
        char c = p->s[p->i];
        if (c == '\n') {
            p->line++;
            p->col = 1;
        } else if (c == ' ' || c == '\t' || c == '\r') {
            p->col++;
        } else {
            break;
        }
        p->i++;
    }
}

static int js_string(struct rp *p, char *buf, size_t cap)
{
    if (p->i >= p->len || p->s[p->i] != '"')
        return rp_err(p, p->line, p->col, "expected a string");
    p->i++;
    p->col++;
    size_t n = 0;
    while (p->i < p->len && p->s[p->i] != '"') {
        unsigned char c = (unsigned char)p->s[p->i];
        if (c == '\\' || c < 0x20 || c >= 0x7f)
            return rp_err(p, p->line, p->col, "unsupported character in string");
        if (n + 1 >= cap)
            return rp_err(p, p->line, p->col, "string too long");
        buf[n++] = (char)c;
        p->i++;
        p->col++;
    }
    if (p->i >= p->len)
        return rp_err(p, p->line, p->col, "unterminated string");
    p->i++;
    p->col++;
    buf[n] = 0;
    return 0;
}

static int parse_json(struct rp *p, struct audit_regs *r)
{
    p->i = 0;
    p->line = 1;
    p->col = 1;
    js_ws(p);
    if (p->i >= p->len || p->s[p->i] != '{')
        return rp_err(p, p->line, p->col, "expected '{'");
    p->i++;
    p->col++;
    js_ws(p);
    if (p->i < p->len && p->s[p->i] == '}') {
        p->i++;
        p->col++;
    } else {
        for (;;) {
            char key[40], val[40];
            js_ws(p);
            unsigned kl = p->line, kc = p->col;
            if (js_string(p, key, sizeof key) != 0)
                return -1;
            js_ws(p);
            if (p->i >= p->len || p->s[p->i] != ':')
                return rp_err(p, p->line, p->col, "expected ':'");
            p->i++;
            p->col++;
            js_ws(p);
            unsigned vl = p->line, vc = p->col;
            uint64_t v = 0;
            unsigned bit = find_used(key, strlen(key));
            bool is_name = strcasecmp(key, "name") == 0;
            if (!bit && !is_name && !is_ignored(key, strlen(key)))
                return rp_err(p, kl, kc, "unknown register '%s'", key);
            if (p->i < p->len && p->s[p->i] == '"') {
                if (js_string(p, val, sizeof val) != 0)
                    return -1;
                if (is_name) {
                    snprintf(r->name, sizeof r->name, "%s", val);
                } else if (bit == AUDIT_REG_HAW) {
                    char *end;
                    unsigned long w = strtoul(val, &end, 10);
                    if (!val[0] || *end)
                        return rp_err(p, vl, vc, "HAW: want a decimal width");
                    v = w;
                } else if (!parse_hex(val, strlen(val), bit == AUDIT_REG_VER, &v)) {
                    return rp_err(p, vl, vc, "bad value \"%s\" for %s (want hex)", val, key);
                }
            } else if (p->i < p->len && isdigit((unsigned char)p->s[p->i])) {
                while (p->i < p->len && isdigit((unsigned char)p->s[p->i])) {
                    uint64_t d = (uint64_t)(p->s[p->i] - '0');
                    if (v > (UINT64_MAX - d) / 10)
                        return rp_err(p, vl, vc, "number too large");
                    v = v * 10 + d;
                    p->i++;
                    p->col++;
                }
                if (p->i < p->len && (p->s[p->i] == '.' || p->s[p->i] == 'e' || p->s[p->i] == 'E'))
                    return rp_err(p, p->line, p->col, "want an integer");
                if (is_name)
                    return rp_err(p, vl, vc, "name: want a string");
            } else {
                return rp_err(p, vl, vc, "expected a string or a number");
            }
            if (bit && store(p, r, bit, v, kl, kc, key, strlen(key)) != 0)
                return -1;
            js_ws(p);
            if (p->i < p->len && p->s[p->i] == ',') {
                p->i++;
                p->col++;
                continue;
            }
            if (p->i < p->len && p->s[p->i] == '}') {
                p->i++;
                p->col++;
                break;
            }
            return rp_err(p, p->line, p->col, "expected ',' or '}'");
        }
    }
    js_ws(p);
    if (p->i != p->len)
        return rp_err(p, p->line, p->col, "trailing data after the object");
    return check_required(p, r);
}

int audit_regs_parse(const char *text, size_t len, const char *unit, struct audit_regs *r,
                     char *err, size_t errlen)
{
    struct rp p = {.s = text, .len = len, .line = 1, .col = 1, .err = err, .errlen = errlen};
    memset(r, 0, sizeof *r);
    if (memchr(text, 0, len))
        return rp_err(&p, 1, 1, "binary data (a NUL byte) in the register file");
    size_t i = 0;
    while (i < len && isspace((unsigned char)text[i]))
        i++;
    if (i < len && text[i] == '{') {
        if (unit)
            return rp_err(&p, 1, 1, "--unit applies to iommu_regset dumps, not JSON");
        return parse_json(&p, r);
    }
    return parse_text(&p, unit, r);
}
