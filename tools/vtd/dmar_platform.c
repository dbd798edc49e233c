/* SPDX-License-Identifier: MIT */
/*
 * The DMAR platform format (docs/dmar.md): one item a line,
 *     KEYWORD [WORD] key=value ...      # comment
 * a `dmar` header line first, then structures (drhd, rmrr, atsr, rhsa,
 * andd, satc, sidp), each followed by its `scope` lines.  Every error names
 * the line and column it was found at.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dmar_platform.h"

#define MAX_TOKENS 16

struct tok {
    const char *s;   size_t n;   unsigned col;   /* whole token, or the key */
    const char *v;   size_t vn;  unsigned vcol;  /* value after '=', or NULL */
};

struct ctx {
    struct dmar_platform *p;
    struct dmar_platform_error *e;
    unsigned line;
    bool have_header;
};

static int fail(struct ctx *c, unsigned col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->e->msg, sizeof c->e->msg, fmt, ap);
    va_end(ap);
    c->e->line = c->line;
    c->e->col = col;
    return -1;
}

static bool tok_is(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && memcmp(s, word, n) == 0;
}

/* ---- values ---- */

enum kind { K_NUM, K_STR, K_FLAGS, K_PATH, K_HAW };

struct flagname { const char *name; uint8_t bit; };

struct field {
    const char *key;
    enum kind kind;
    uint64_t max;                    /* K_NUM/K_FLAGS: largest value; K_STR: longest */
    const struct flagname *flags;    /* K_FLAGS: the names, NULL-terminated */
    bool required;
};

struct val {
    bool set;
    unsigned col;
    uint64_t num;
    char str[VTD_DMAR_NAME_MAX];
};

static int parse_num(struct ctx *c, const char *s, size_t n, unsigned col, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    unsigned base = 10;
    size_t i = 0;
    if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        i = 2;
    }
    if (i == n)
        return fail(c, col, "expected a number (decimal or 0x hex)");
    for (; i < n; i++) {
        unsigned d;
        char ch = s[i];
        if (ch >= '0' && ch <= '9')
            d = (unsigned)(ch - '0');
        else if (base == 16 && ch >= 'a' && ch <= 'f')
            d = (unsigned)(ch - 'a' + 10);
        else if (base == 16 && ch >= 'A' && ch <= 'F')
            d = (unsigned)(ch - 'A' + 10);
        else
            return fail(c, col + (unsigned)i, "'%c' is not a %s digit", ch, base == 16 ? "hex" : "decimal");
        if (v > (UINT64_MAX - d) / base)
            return fail(c, col, "number does not fit in 64 bits");
        v = v * base + d;
    }
    if (v > max)
        return fail(c, col, "value %llu is above the largest allowed, %llu",
                    (unsigned long long)v, (unsigned long long)max);
    *out = v;
    return 0;
}

/* a comma-separated list of flag names, or one number */
static int parse_flags(struct ctx *c, const struct tok *t, const struct field *f, uint64_t *out)
{
    if (t->vn && t->v[0] >= '0' && t->v[0] <= '9')
        return parse_num(c, t->v, t->vn, t->vcol, f->max, out);
    uint64_t v = 0;
    size_t i = 0;
    while (i <= t->vn) {
        size_t j = i;
        while (j < t->vn && t->v[j] != ',')
            j++;
        const struct flagname *fn = f->flags;
        while (fn->name && !tok_is(t->v + i, j - i, fn->name))
            fn++;
        if (!fn->name) {
            char list[120] = "";
            for (fn = f->flags; fn->name; fn++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                         fn == f->flags ? "" : ", ", fn->name);
            return fail(c, t->vcol + (unsigned)i, "unknown %s flag '%.*s' (known: %s)", f->key,
                        (int)(j - i), t->v + i, list);
        }
        v |= fn->bit;
        i = j + 1;
    }
    *out = v;
    return 0;
}

/* DD.F[,DD.F...]: device in hex (0..1f), function 0..7, as lspci writes them */
static int parse_path(struct ctx *c, const struct tok *t, struct vtd_dmar_scope *sc)
{
    size_t i = 0;
    sc->npath = 0;
    while (i <= t->vn) {
        size_t j = i;
        while (j < t->vn && t->v[j] != ',')
            j++;
        unsigned col = t->vcol + (unsigned)i;
        size_t dot = i;
        while (dot < j && t->v[dot] != '.')
            dot++;
        if (dot == i || dot == j || dot + 1 == j)
            return fail(c, col, "path entry must be DEVICE.FUNCTION, like 1f.3");
        if (sc->npath == VTD_DMAR_MAX_PATH)
            return fail(c, col, "path longer than 16 entries (a libvtd limit)");
        uint64_t dev = 0, fn;
        for (size_t k = i; k < dot; k++) {
            char ch = t->v[k];
            unsigned d = ch >= '0' && ch <= '9' ? (unsigned)(ch - '0')
                       : ch >= 'a' && ch <= 'f' ? (unsigned)(ch - 'a' + 10)
                       : ch >= 'A' && ch <= 'F' ? (unsigned)(ch - 'A' + 10) : 16;
            if (d == 16)
                return fail(c, t->vcol + (unsigned)k, "device number is hex: '%c' is not a hex digit", ch);
            dev = dev * 16 + d;
            if (dev > 0x1f)
                return fail(c, col, "device number above 0x1f");
        }
        if (parse_num(c, t->v + dot + 1, j - dot - 1, col + (unsigned)(dot + 1 - i), 7, &fn))
            return -1;
        sc->path[sc->npath].dev = (uint8_t)dev;
        sc->path[sc->npath].fn = (uint8_t)fn;
        sc->npath++;
        i = j + 1;
    }
    return 0;
}

/* Match the key=value tokens t[first..n) against fields f[0..nf). */
static int get_fields(struct ctx *c, const struct tok *t, size_t first, size_t n,
                      const struct field *f, size_t nf, struct val *v,
                      struct vtd_dmar_scope *path_out)
{
    memset(v, 0, nf * sizeof *v);
    for (size_t i = first; i < n; i++) {
        if (!t[i].v)
            return fail(c, t[i].col, "expected key=value, found '%.*s'", (int)t[i].n, t[i].s);
        size_t k = 0;
        while (k < nf && !tok_is(t[i].s, t[i].n, f[k].key))
            k++;
        if (k == nf) {
            char list[160] = "";
            for (size_t m = 0; m < nf; m++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", m ? ", " : "", f[m].key);
            return fail(c, t[i].col, "unknown key '%.*s' here (known: %s)", (int)t[i].n, t[i].s, list);
        }
        if (v[k].set)
            return fail(c, t[i].col, "'%s' given twice", f[k].key);
        v[k].set = true;
        v[k].col = t[i].col;
        if (t[i].vn == 0)
            return fail(c, t[i].vcol, "'%s' has no value", f[k].key);
        switch (f[k].kind) {
        case K_NUM:
            if (parse_num(c, t[i].v, t[i].vn, t[i].vcol, f[k].max, &v[k].num))
                return -1;
            break;
        case K_HAW:
            if (parse_num(c, t[i].v, t[i].vn, t[i].vcol, 64, &v[k].num))
                return -1;
            if (v[k].num == 0)
                return fail(c, t[i].vcol, "host address width must be 1..64 bits");
            break;
        case K_FLAGS:
            if (parse_flags(c, &t[i], &f[k], &v[k].num))
                return -1;
            break;
        case K_STR:
            if (t[i].vn > f[k].max)
                return fail(c, t[i].vcol, "'%s' is at most %llu characters", f[k].key,
                            (unsigned long long)f[k].max);
            memcpy(v[k].str, t[i].v, t[i].vn);
            v[k].str[t[i].vn] = 0;
            break;
        case K_PATH:
            if (parse_path(c, &t[i], path_out))
                return -1;
            break;
        }
    }
    for (size_t k = 0; k < nf; k++)
        if (f[k].required && !v[k].set)
            return fail(c, t[0].col, "'%.*s' needs %s=", (int)t[0].n, t[0].s, f[k].key);
    return 0;
}

/* ---- keywords ---- */

static const struct flagname dmar_flags[] = {
    {"intr_remap", VTD_DMAR_INTR_REMAP}, {"x2apic_opt_out", VTD_DMAR_X2APIC_OPT_OUT},
    {"dma_ctrl_platform_opt_in", VTD_DMAR_DMA_CTRL_PLATFORM_OPT_IN}, {NULL, 0},
};
static const struct flagname drhd_flags[] = {{"include_pci_all", VTD_DRHD_INCLUDE_PCI_ALL}, {NULL, 0}};
static const struct flagname atsr_flags[] = {{"all_ports", VTD_ATSR_ALL_PORTS}, {NULL, 0}};
static const struct flagname satc_flags[] = {{"atc_required", VTD_SATC_ATC_REQUIRED}, {NULL, 0}};
static const struct flagname scope_flags[] = {
    {"req_wo_pasid_nested_notallowed", VTD_SCOPE_REQ_WO_PASID_NESTED_NOTALLOWED},
    {"req_wo_pasid_pwsnp_notallowed", VTD_SCOPE_REQ_WO_PASID_PWSNP_NOTALLOWED},
    {"req_wo_pasid_pgsnp_notallowed", VTD_SCOPE_REQ_WO_PASID_PGSNP_NOTALLOWED},
    {"atc_hardened", VTD_SCOPE_ATC_HARDENED}, {"atc_required", VTD_SCOPE_ATC_REQUIRED}, {NULL, 0},
};

static int do_header(struct ctx *c, const struct tok *t, size_t n)
{
    static const struct field f[] = {
        {"haw", K_HAW, 0, NULL, true},
        {"flags", K_FLAGS, 0xff, dmar_flags, false},
        {"revision", K_NUM, 0xff, NULL, false},
        {"oem_id", K_STR, 6, NULL, false},
        {"oem_table_id", K_STR, 8, NULL, false},
        {"oem_revision", K_NUM, UINT32_MAX, NULL, false},
        {"creator_id", K_STR, 4, NULL, false},
        {"creator_revision", K_NUM, UINT32_MAX, NULL, false},
    };
    struct val v[8];
    if (c->have_header)
        return fail(c, t[0].col, "a second 'dmar' line");
    if (c->p->d.nstructs)
        return fail(c, t[0].col, "the 'dmar' line comes before the structures");
    if (get_fields(c, t, 1, n, f, 8, v, NULL))
        return -1;
    struct vtd_dmar *d = &c->p->d;
    d->haw = (uint8_t)(v[0].num - 1);
    d->flags = (uint8_t)v[1].num;
    d->revision = v[2].set ? (uint8_t)v[2].num : 1;
    /* lengths were checked against each field's width (K_STR max) */
    memcpy(d->oem_id, v[3].set ? v[3].str : "LIBVTD", sizeof d->oem_id - 1);
    memcpy(d->oem_table_id, v[4].set ? v[4].str : "VTDPLAT", sizeof d->oem_table_id - 1);
    d->oem_revision = v[5].set ? (uint32_t)v[5].num : 1;
    memcpy(d->creator_id, v[6].set ? v[6].str : "LVTD", sizeof d->creator_id - 1);
    d->creator_revision = v[7].set ? (uint32_t)v[7].num : 1;
    c->p->hdr = (struct dmar_src){c->line, t[0].col};
    c->have_header = true;
    return 0;
}

static const struct {
    const char *word;
    uint16_t type;
} struct_words[] = {
    {"drhd", VTD_DMAR_DRHD}, {"rmrr", VTD_DMAR_RMRR}, {"atsr", VTD_DMAR_ATSR}, {"rhsa", VTD_DMAR_RHSA},
    {"andd", VTD_DMAR_ANDD}, {"satc", VTD_DMAR_SATC}, {"sidp", VTD_DMAR_SIDP},
};

static int do_struct(struct ctx *c, uint16_t type, const struct tok *t, size_t n)
{
    struct vtd_dmar *d = &c->p->d;
    if (!c->have_header)
        return fail(c, t[0].col, "the first line must be 'dmar haw=N ...'");
    if (d->nstructs == VTD_DMAR_MAX_STRUCTS)
        return fail(c, t[0].col, "more than 64 structures (a libvtd limit)");
    struct vtd_dmar_struct *s = &d->s[d->nstructs];
    memset(s, 0, sizeof *s);
    s->type = type;
    s->first_scope = d->nscopes;
    struct val v[4];
    switch (type) {
    case VTD_DMAR_DRHD: {
        static const struct field f[] = {
            {"base", K_NUM, UINT64_MAX, NULL, true}, {"segment", K_NUM, 0xffff, NULL, false},
            {"size", K_NUM, 15, NULL, false}, {"flags", K_FLAGS, 0xff, drhd_flags, false},
        };
        if (get_fields(c, t, 1, n, f, 4, v, NULL))
            return -1;
        s->base = v[0].num; s->segment = (uint16_t)v[1].num;
        s->size = (uint8_t)v[2].num; s->flags = (uint8_t)v[3].num;
        break;
    }
    case VTD_DMAR_RMRR: {
        static const struct field f[] = {
            {"base", K_NUM, UINT64_MAX, NULL, true}, {"limit", K_NUM, UINT64_MAX, NULL, true},
            {"segment", K_NUM, 0xffff, NULL, false},
        };
        if (get_fields(c, t, 1, n, f, 3, v, NULL))
            return -1;
        s->base = v[0].num; s->limit = v[1].num; s->segment = (uint16_t)v[2].num;
        break;
    }
    case VTD_DMAR_ATSR: case VTD_DMAR_SATC: {
        const struct field f[] = {
            {"segment", K_NUM, 0xffff, NULL, false},
            {"flags", K_FLAGS, 0xff, type == VTD_DMAR_ATSR ? atsr_flags : satc_flags, false},
        };
        if (get_fields(c, t, 1, n, f, 2, v, NULL))
            return -1;
        s->segment = (uint16_t)v[0].num; s->flags = (uint8_t)v[1].num;
        break;
    }
    case VTD_DMAR_SIDP: {
        static const struct field f[] = {{"segment", K_NUM, 0xffff, NULL, false}};
        if (get_fields(c, t, 1, n, f, 1, v, NULL))
            return -1;
        s->segment = (uint16_t)v[0].num;
        break;
    }
    case VTD_DMAR_RHSA: {
        static const struct field f[] = {
            {"base", K_NUM, UINT64_MAX, NULL, true}, {"proximity", K_NUM, UINT32_MAX, NULL, true},
        };
        if (get_fields(c, t, 1, n, f, 2, v, NULL))
            return -1;
        s->base = v[0].num; s->proximity = (uint32_t)v[1].num;
        break;
    }
    default: { /* VTD_DMAR_ANDD */
        static const struct field f[] = {
            {"number", K_NUM, 0xff, NULL, true}, {"name", K_STR, VTD_DMAR_NAME_MAX - 1, NULL, true},
        };
        if (get_fields(c, t, 1, n, f, 2, v, NULL))
            return -1;
        s->acpi_dev = (uint8_t)v[0].num;
        memcpy(s->name, v[1].str, sizeof s->name);
        break;
    }
    }
    c->p->st[d->nstructs++] = (struct dmar_src){c->line, t[0].col};
    return 0;
}

static const char *const scope_words[] = {NULL, "endpoint", "bridge", "ioapic", "hpet", "namespace"};

static int do_scope(struct ctx *c, const struct tok *t, size_t n)
{
    struct vtd_dmar *d = &c->p->d;
    if (d->nstructs == 0)
        return fail(c, t[0].col, "a 'scope' line belongs after a drhd, rmrr, atsr, satc or sidp line");
    struct vtd_dmar_struct *s = &d->s[d->nstructs - 1];
    if (s->type == VTD_DMAR_RHSA || s->type == VTD_DMAR_ANDD)
        return fail(c, t[0].col, "%s structures have no device scopes",
                    s->type == VTD_DMAR_RHSA ? "rhsa" : "andd");
    if (n < 2 || t[1].v)
        return fail(c, n < 2 ? t[0].col + 5 : t[1].col,
                    "'scope' needs a type: endpoint, bridge, ioapic, hpet or namespace");
    uint8_t type = 1;
    while (type <= 5 && !tok_is(t[1].s, t[1].n, scope_words[type]))
        type++;
    if (type > 5)
        return fail(c, t[1].col, "unknown scope type '%.*s' (endpoint, bridge, ioapic, hpet, namespace)",
                    (int)t[1].n, t[1].s);
    if (d->nscopes == VTD_DMAR_MAX_SCOPES)
        return fail(c, t[0].col, "more than 256 device scopes (a libvtd limit)");
    static const struct field f[] = {
        {"path", K_PATH, 0, NULL, true}, {"bus", K_NUM, 0xff, NULL, false},
        {"id", K_NUM, 0xff, NULL, false}, {"flags", K_FLAGS, 0xff, scope_flags, false},
    };
    struct vtd_dmar_scope *sc = &d->scopes[d->nscopes];
    memset(sc, 0, sizeof *sc);
    struct val v[4];
    if (get_fields(c, t, 2, n, f, 4, v, sc))
        return -1;
    sc->type = type;
    sc->bus = (uint8_t)v[1].num;
    sc->enum_id = (uint8_t)v[2].num;
    sc->flags = (uint8_t)v[3].num;
    c->p->sc[d->nscopes++] = (struct dmar_src){c->line, t[0].col};
    s->nscopes++;
    return 0;
}

/* split one line (without its newline) into tokens */
static int tokenize(struct ctx *c, const char *l, size_t len, struct tok *t, size_t *nt)
{
    size_t i = 0;
    *nt = 0;
    while (i < len) {
        char ch = l[i];
        if (ch == ' ' || ch == '\t' || ch == '\r') {
            i++;
            continue;
        }
        if (ch == '#')
            break;
        if (*nt == MAX_TOKENS)
            return fail(c, (unsigned)i + 1, "more than %d words on a line", MAX_TOKENS);
        struct tok *k = &t[(*nt)++];
        memset(k, 0, sizeof *k);
        k->s = l + i;
        k->col = (unsigned)i + 1;
        while (i < len && l[i] != ' ' && l[i] != '\t' && l[i] != '\r' && l[i] != '=' && l[i] != '#') {
            if ((unsigned char)l[i] < 0x20 || (unsigned char)l[i] >= 0x7f)
                return fail(c, (unsigned)i + 1, "byte 0x%02x: the format is printable ASCII",
                            (unsigned char)l[i]);
            i++;
        }
        k->n = (size_t)(l + i - k->s);
        if (i < len && l[i] == '=') {
            if (k->n == 0)
                return fail(c, k->col, "'=' without a key before it");
            i++;
            k->vcol = (unsigned)i + 1;
            if (i < len && l[i] == '"') {
                i++;
                k->v = l + i;
                while (i < len && l[i] != '"') {
                    if ((unsigned char)l[i] < 0x20 || (unsigned char)l[i] >= 0x7f)
                        return fail(c, (unsigned)i + 1, "byte 0x%02x: the format is printable ASCII",
                                    (unsigned char)l[i]);
                    i++;
                }
                if (i == len)
                    return fail(c, k->vcol, "string without its closing '\"'");
                k->vn = (size_t)(l + i - k->v);
                k->vcol++;
                i++;
            } else {
                k->v = l + i;
                while (i < len && l[i] != ' ' && l[i] != '\t' && l[i] != '\r' && l[i] != '#') {
                    if ((unsigned char)l[i] < 0x20 || (unsigned char)l[i] >= 0x7f)
                        return fail(c, (unsigned)i + 1, "byte 0x%02x: the format is printable ASCII",
                                    (unsigned char)l[i]);
                    if (l[i] == '=' || l[i] == '"')
                        return fail(c, (unsigned)i + 1, "unexpected '%c' in a value (quote it)", l[i]);
                    i++;
                }
                k->vn = (size_t)(l + i - k->v);
            }
        } else if (k->n == 0) {
            return fail(c, k->col, "unexpected '%c'", l[i]);
        }
    }
    return 0;
}

static int do_line(struct ctx *c, const char *l, size_t len)
{
    struct tok t[MAX_TOKENS];
    size_t n;
    if (tokenize(c, l, len, t, &n))
        return -1;
    if (n == 0)
        return 0;
    if (t[0].v)
        return fail(c, t[0].col, "a line starts with a keyword (dmar, drhd, rmrr, atsr, rhsa, andd, satc, sidp, scope)");
    if (tok_is(t[0].s, t[0].n, "dmar"))
        return do_header(c, t, n);
    if (tok_is(t[0].s, t[0].n, "scope"))
        return do_scope(c, t, n);
    for (size_t i = 0; i < sizeof struct_words / sizeof struct_words[0]; i++)
        if (tok_is(t[0].s, t[0].n, struct_words[i].word))
            return do_struct(c, struct_words[i].type, t, n);
    return fail(c, t[0].col, "unknown keyword '%.*s' (dmar, drhd, rmrr, atsr, rhsa, andd, satc, sidp, scope)",
                (int)t[0].n, t[0].s);
}

int dmar_platform_parse(const char *text, size_t len, struct dmar_platform *p,
                        struct dmar_platform_error *e)
{
    struct ctx c = {.p = p, .e = e, .line = 1};
    memset(p, 0, sizeof *p);
    memset(e, 0, sizeof *e);
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && text[j] != '\n')
            j++;
        if (do_line(&c, text + i, j - i))
            return -1;
        c.line++;
        i = j + 1;
    }
    if (!c.have_header) {
        c.line = 1;
        return fail(&c, 1, "no 'dmar haw=N ...' line");
    }
    struct vtd_dmar_error be;
    if (vtd_dmar_check(&p->d, &be)) {
        struct dmar_src at = p->hdr;
        if (be.structure >= 0 && be.scope >= 0)
            at = p->sc[p->d.s[be.structure].first_scope + (unsigned)be.scope];
        else if (be.structure >= 0)
            at = p->st[be.structure];
        e->line = at.line;
        e->col = at.col;
        snprintf(e->msg, sizeof e->msg, "%s", be.msg);
        return -1;
    }
    return 0;
}
