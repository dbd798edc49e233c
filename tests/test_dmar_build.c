/* SPDX-License-Identifier: MIT */
/* DMAR builder: build -> parse gives the description back, for every
 * structure type and scope type; every vtd_dmar_check rule refuses its
 * case; the parser's scope, ANDD and header fields. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vtd/acpi.h"

static struct vtd_dmar desc, back;
static uint8_t buf[4096];

/* ACPI id strings are space padded in the table: compare without the pad */
static void same_str(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    while (la && a[la - 1] == ' ')
        la--;
    while (lb && b[lb - 1] == ' ')
        lb--;
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
}

static void same_desc(const struct vtd_dmar *a, const struct vtd_dmar *b)
{
    assert_int_equal(a->revision, b->revision);
    assert_int_equal(a->haw, b->haw);
    assert_int_equal(a->flags, b->flags);
    same_str(a->oem_id, b->oem_id);
    same_str(a->oem_table_id, b->oem_table_id);
    same_str(a->creator_id, b->creator_id);
    assert_int_equal(a->oem_revision, b->oem_revision);
    assert_int_equal(a->creator_revision, b->creator_revision);
    assert_int_equal(a->nstructs, b->nstructs);
    for (uint32_t i = 0; i < a->nstructs; i++) {
        const struct vtd_dmar_struct *x = &a->s[i], *y = &b->s[i];
        assert_int_equal(x->type, y->type);
        assert_int_equal(x->flags, y->flags);
        assert_int_equal(x->size, y->size);
        assert_int_equal(x->segment, y->segment);
        assert_int_equal(x->base, y->base);
        assert_int_equal(x->limit, y->limit);
        assert_int_equal(x->proximity, y->proximity);
        assert_int_equal(x->acpi_dev, y->acpi_dev);
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->nscopes, y->nscopes);
        const struct vtd_dmar_scope *p = vtd_dmar_scopes(a, x), *q = vtd_dmar_scopes(b, y);
        for (uint32_t k = 0; k < x->nscopes; k++) {
            assert_int_equal(p[k].type, q[k].type);
            assert_int_equal(p[k].flags, q[k].flags);
            assert_int_equal(p[k].enum_id, q[k].enum_id);
            assert_int_equal(p[k].bus, q[k].bus);
            assert_int_equal(p[k].npath, q[k].npath);
            for (unsigned j = 0; j < p[k].npath; j++) {
                assert_int_equal(p[k].path[j].dev, q[k].path[j].dev);
                assert_int_equal(p[k].path[j].fn, q[k].path[j].fn);
            }
        }
    }
}

static struct vtd_dmar_struct *add(struct vtd_dmar *d, uint16_t type)
{
    struct vtd_dmar_struct *s = &d->s[d->nstructs++];
    memset(s, 0, sizeof *s);
    s->type = type;
    s->first_scope = d->nscopes;
    return s;
}

static void add_scope(struct vtd_dmar *d, uint8_t type, uint8_t id, uint8_t bus, uint8_t flags,
                      unsigned npath, const uint8_t *devfn)
{
    struct vtd_dmar_scope *e = &d->scopes[d->nscopes++];
    memset(e, 0, sizeof *e);
    e->type = type; e->enum_id = id; e->bus = bus; e->flags = flags; e->npath = (uint8_t)npath;
    for (unsigned j = 0; j < npath; j++) {
        e->path[j].dev = devfn[2 * j];
        e->path[j].fn = devfn[2 * j + 1];
    }
    d->s[d->nstructs - 1].nscopes++;
}

/* every structure type, every scope type, every flag defined */
static void full_desc(struct vtd_dmar *d)
{
    memset(d, 0, sizeof *d);
    d->revision = 1;
    d->haw = 45;
    d->flags = VTD_DMAR_INTR_REMAP | VTD_DMAR_X2APIC_OPT_OUT | VTD_DMAR_DMA_CTRL_PLATFORM_OPT_IN;
    strcpy(d->oem_id, "LIBVTD");
    strcpy(d->oem_table_id, "ROUNDTRP");
    strcpy(d->creator_id, "TST");
    d->oem_revision = 0x12345678;
    d->creator_revision = 0x9abcdef0;
    struct vtd_dmar_struct *s = add(d, VTD_DMAR_DRHD);
    s->base = 0xfed90000; s->segment = 0;
    add_scope(d, VTD_SCOPE_ENDPOINT, 0, 0, 0, 1, (const uint8_t[]){2, 0});
    add_scope(d, VTD_SCOPE_BRIDGE, 0, 0, 0, 1, (const uint8_t[]){0x1c, 4});
    s = add(d, VTD_DMAR_DRHD);
    s->base = 0xfed92000; s->size = 1; s->flags = VTD_DRHD_INCLUDE_PCI_ALL;
    add_scope(d, VTD_SCOPE_IOAPIC, 2, 0xf0, 0, 1, (const uint8_t[]){0x1f, 0});
    add_scope(d, VTD_SCOPE_HPET, 7, 0, 0, 1, (const uint8_t[]){0x1f, 7});
    add_scope(d, VTD_SCOPE_NAMESPACE, 5, 0, 0, 1, (const uint8_t[]){0x15, 1});
    s = add(d, VTD_DMAR_DRHD);
    s->base = 0x100000000ull; s->segment = 1; s->flags = VTD_DRHD_INCLUDE_PCI_ALL;
    s = add(d, VTD_DMAR_RMRR);
    s->base = 0x7c000000; s->limit = 0x7c7fffff;
    add_scope(d, VTD_SCOPE_ENDPOINT, 0, 0, 0, 1, (const uint8_t[]){0x14, 0});
    add_scope(d, VTD_SCOPE_ENDPOINT, 0, 3, 0, 3, (const uint8_t[]){0x1c, 0, 0, 0, 3, 1});
    s = add(d, VTD_DMAR_ATSR);
    add_scope(d, VTD_SCOPE_BRIDGE, 0, 0, 0, 1, (const uint8_t[]){0x1c, 0});
    s = add(d, VTD_DMAR_ATSR);
    s->segment = 1; s->flags = VTD_ATSR_ALL_PORTS;
    s = add(d, VTD_DMAR_RHSA);
    s->base = 0xfed90000; s->proximity = 0;
    s = add(d, VTD_DMAR_RHSA);
    s->base = 0xfed92000; s->proximity = 0xfffffffe;
    s = add(d, VTD_DMAR_ANDD);
    s->acpi_dev = 5; strcpy(s->name, "\\_SB.PCI0.I2C0");
    s = add(d, VTD_DMAR_ANDD);
    s->acpi_dev = 6; strcpy(s->name, "\\_SB.PCI0.SPI1");
    s = add(d, VTD_DMAR_SATC);
    s->flags = VTD_SATC_ATC_REQUIRED;
    add_scope(d, VTD_SCOPE_ENDPOINT, 0, 0, 0, 1, (const uint8_t[]){2, 0});
    s = add(d, VTD_DMAR_SIDP);
    add_scope(d, VTD_SCOPE_ENDPOINT, 0, 0, 0x1f, 1, (const uint8_t[]){3, 0});
    add_scope(d, VTD_SCOPE_NAMESPACE, 6, 0, VTD_SCOPE_ATC_REQUIRED, 1, (const uint8_t[]){0x15, 2});
}

static size_t build_ok(const struct vtd_dmar *d)
{
    size_t len = 0;
    struct vtd_dmar_error e = {0};
    int rc = vtd_dmar_build(d, buf, sizeof buf, &len, &e);
    if (rc)
        fail_msg("build: structure %d scope %d: %s", e.structure, e.scope, e.msg);
    return len;
}

static void parse_ok(size_t len, struct vtd_dmar *out)
{
    size_t off = 0;
    const char *msg = NULL;
    if (vtd_dmar_parse(buf, len, out, &off, &msg))
        fail_msg("parse: byte %zu: %s", off, msg);
}

static void test_round_trip(void **state)
{
    (void)state;
    full_desc(&desc);
    size_t len = build_ok(&desc);
    assert_int_equal(vtd_dmar_checksum(buf, len), 0);
    parse_ok(len, &back);
    same_desc(&desc, &back);
    assert_int_equal(back.length, len);
    /* lengths and offsets: each structure starts where the one before ends */
    uint32_t off = 48;
    for (uint32_t i = 0; i < back.nstructs; i++) {
        assert_int_equal(back.s[i].offset, off);
        off += back.s[i].length;
    }
    assert_int_equal(off, len);
    /* the parsed description builds the same bytes again */
    static uint8_t first[4096];
    memcpy(first, buf, len);
    assert_int_equal(build_ok(&back), len);
    assert_memory_equal(first, buf, len);
}

/* each type alone, so a fault in one type's layout cannot hide behind another */
static void test_each_type(void **state)
{
    (void)state;
    for (uint16_t type = VTD_DMAR_DRHD; type <= VTD_DMAR_SIDP; type++) {
        full_desc(&desc);
        struct vtd_dmar one;
        memset(&one, 0, sizeof one);
        one.revision = 1;
        one.haw = 38;
        /* an RHSA needs its DRHD, a namespace scope its ANDD */
        for (uint32_t i = 0; i < desc.nstructs; i++) {
            const struct vtd_dmar_struct *s = &desc.s[i];
            if (s->type != type && !(type == VTD_DMAR_RHSA && s->type == VTD_DMAR_DRHD) &&
                !((type == VTD_DMAR_DRHD || type == VTD_DMAR_RHSA || type == VTD_DMAR_SIDP) &&
                  s->type == VTD_DMAR_ANDD))
                continue;
            struct vtd_dmar_struct *t = &one.s[one.nstructs++];
            *t = *s;
            t->first_scope = one.nscopes;
            memcpy(&one.scopes[one.nscopes], vtd_dmar_scopes(&desc, s), s->nscopes * sizeof one.scopes[0]);
            one.nscopes += s->nscopes;
        }
        size_t len = build_ok(&one);
        parse_ok(len, &back);
        same_desc(&one, &back);
    }
}

/* byte layout the spec fixes (8.1-8.9), checked on one table */
static void test_layout(void **state)
{
    (void)state;
    full_desc(&desc);
    size_t len = build_ok(&desc);
    assert_memory_equal(buf, "DMAR", 4);
    assert_int_equal(buf[4] | buf[5] << 8, len);
    assert_int_equal(buf[8], 1);
    assert_memory_equal(buf + 10, "LIBVTD", 6);
    assert_memory_equal(buf + 16, "ROUNDTRP", 8);
    assert_memory_equal(buf + 28, "TST ", 4);                /* space padded */
    assert_int_equal(buf[24], 0x78);
    assert_int_equal(buf[36], 45);
    assert_int_equal(buf[37], 7);
    for (int i = 38; i < 48; i++)
        assert_int_equal(buf[i], 0);
    /* first DRHD: type 0, length 16 + 2 scopes of 8, flags, size, segment, base */
    const uint8_t drhd[] = {0, 0, 32, 0, 0, 0, 0, 0, 0, 0, 0xd9, 0xfe, 0, 0, 0, 0,
                            1, 8, 0, 0, 0, 0, 2, 0, 2, 8, 0, 0, 0, 0, 0x1c, 4};
    assert_memory_equal(buf + 48, drhd, sizeof drhd);
    /* second DRHD: INCLUDE_PCI_ALL and size 1 at 4 and 5 */
    assert_int_equal(buf[80 + 4], 1);
    assert_int_equal(buf[80 + 5], 1);
    /* its IOAPIC scope: type 3, length 8, enum id 2, bus 0xf0, path 1f.0 */
    const uint8_t ioapic[] = {3, 8, 0, 0, 2, 0xf0, 0x1f, 0};
    assert_memory_equal(buf + 80 + 16, ioapic, sizeof ioapic);
    /* ANDD: length 8 + name + NUL, device number at 7 */
    parse_ok(len, &back);
    for (uint32_t i = 0; i < back.nstructs; i++) {
        const uint8_t *q = buf + back.s[i].offset;
        if (back.s[i].type == VTD_DMAR_ANDD) {
            assert_int_equal(back.s[i].length, 8 + strlen("\\_SB.PCI0.I2C0") + 1);
            assert_int_equal(q[7], 5);
            assert_string_equal((const char *)q + 8, "\\_SB.PCI0.I2C0");
            break;
        }
    }
}

static void test_size_query(void **state)
{
    (void)state;
    full_desc(&desc);
    size_t want = build_ok(&desc), len = 0;
    struct vtd_dmar_error e = {0};
    assert_int_equal(vtd_dmar_build(&desc, NULL, 0, &len, &e), 0);
    assert_int_equal(len, want);
    len = 0;
    assert_int_equal(vtd_dmar_build(&desc, buf, want - 1, &len, &e), -1);
    assert_int_equal(len, want);
    assert_int_equal(e.structure, -1);
    assert_non_null(e.msg);
    /* the smallest table: a header and nothing else */
    memset(&desc, 0, sizeof desc);
    assert_int_equal(vtd_dmar_build(&desc, buf, sizeof buf, &len, &e), 0);
    assert_int_equal(len, 48);
}

/* one broken description per rule: the error names the structure/scope */
struct bad { int structure, scope; };

static struct bad check_fails(void)
{
    struct vtd_dmar_error e = {0};
    size_t len = 0;
    assert_int_equal(vtd_dmar_build(&desc, buf, sizeof buf, &len, &e), -1);
    assert_non_null(e.msg);
    return (struct bad){e.structure, e.scope};
}

#define EXPECT_BAD(edit, st, sc) do {                  \
        full_desc(&desc);                              \
        edit;                                          \
        struct bad b = check_fails();                  \
        assert_int_equal(b.structure, (st));           \
        assert_int_equal(b.scope, (sc));               \
    } while (0)

static void test_check_rules(void **state)
{
    (void)state;
    /* indices in full_desc: 0,1,2 DRHD, 3 RMRR, 4,5 ATSR, 6,7 RHSA, 8,9 ANDD, 10 SATC, 11 SIDP */
    EXPECT_BAD(desc.flags |= 8, -1, -1);                                   /* header reserved flag */
    EXPECT_BAD(desc.s[0].flags = 2, 0, -1);                                /* DRHD reserved flag */
    EXPECT_BAD(desc.s[0].size = 16, 0, -1);                                /* size is 4 bits */
    EXPECT_BAD(desc.s[1].base = 0xfed91000, 1, -1);                        /* size 1 needs 8 KiB alignment */
    EXPECT_BAD(desc.s[0].base |= 0x800, 0, -1);                            /* 4 KiB alignment */
    EXPECT_BAD(desc.s[2].segment = 0, 1, -1);                              /* PCI_ALL unit not last of segment */
    EXPECT_BAD(desc.scopes[desc.s[1].first_scope].type = VTD_SCOPE_ENDPOINT, 1, 0); /* endpoint under PCI_ALL */
    EXPECT_BAD(desc.s[3].base |= 0x10, 3, -1);                             /* RMRR base alignment */
    EXPECT_BAD(desc.s[3].limit = 0x7c7ffffe, 3, -1);                       /* RMRR limit not page end */
    EXPECT_BAD(desc.s[3].limit = desc.s[3].base - 1, 3, -1);               /* RMRR limit below base */
    EXPECT_BAD((desc.s[3].nscopes = 0, desc.s[4].first_scope = desc.s[3].first_scope,
                desc.s[4].nscopes = 0), 3, -1);                            /* RMRR without scopes */
    EXPECT_BAD(desc.s[4].flags = 3, 4, -1);                                /* ATSR reserved flag */
    EXPECT_BAD(desc.s[4].flags = VTD_ATSR_ALL_PORTS, 4, -1);               /* ALL_PORTS with scopes */
    EXPECT_BAD(desc.scopes[desc.s[4].first_scope].type = VTD_SCOPE_ENDPOINT, 4, 0); /* ATSR scope not bridge */
    EXPECT_BAD(desc.s[7].base = 0xfed95000, 7, -1);                        /* RHSA names no DRHD */
    EXPECT_BAD(desc.s[9].acpi_dev = 5, 9, -1);                             /* ANDD number twice */
    EXPECT_BAD(desc.s[9].name[0] = 0, 9, -1);                              /* ANDD empty name */
    EXPECT_BAD(memset(desc.s[9].name, 'A', VTD_DMAR_NAME_MAX), 9, -1);     /* ANDD name unterminated */
    EXPECT_BAD(desc.s[10].flags = 2, 10, -1);                              /* SATC reserved flag */
    EXPECT_BAD(desc.scopes[desc.s[10].first_scope].npath = 2, 10, 0);      /* SATC scope not RCIEP */
    EXPECT_BAD(desc.scopes[desc.s[11].first_scope].type = VTD_SCOPE_BRIDGE, 11, 0); /* SIDP scope type */
    EXPECT_BAD(desc.scopes[desc.s[11].first_scope].flags = 0x20, 11, 0);   /* scope flag bits 7:5 */
    EXPECT_BAD(desc.scopes[desc.s[0].first_scope].flags = 1, 0, 0);        /* scope flags outside SIDP */
    EXPECT_BAD(desc.scopes[desc.s[0].first_scope].type = 6, 0, 0);         /* scope type 6 */
    EXPECT_BAD(desc.scopes[desc.s[0].first_scope].type = 0, 0, 0);         /* scope type 0 */
    EXPECT_BAD(desc.scopes[desc.s[0].first_scope].npath = 0, 0, 0);        /* empty path */
    EXPECT_BAD(desc.scopes[desc.s[0].first_scope].npath = VTD_DMAR_MAX_PATH + 1, 0, 0);
    EXPECT_BAD(desc.scopes[desc.s[1].first_scope + 2].enum_id = 9, 1, 2);  /* namespace scope without ANDD */
    EXPECT_BAD(desc.s[5].type = VTD_DMAR_RMRR, 5, -1);                     /* type order */
    EXPECT_BAD(desc.s[11].type = 7, 11, -1);                               /* reserved type */
    EXPECT_BAD(desc.s[6].nscopes = 1, 6, -1);                              /* RHSA with scopes */
    EXPECT_BAD(desc.s[11].first_scope = desc.nscopes, 11, -1);             /* scopes outside the array */
    EXPECT_BAD(desc.nstructs = VTD_DMAR_MAX_STRUCTS + 1, -1, -1);
}

/* the largest table the arrays describe: 256 scopes of 16-entry paths */
static void test_limits(void **state)
{
    (void)state;
    memset(&desc, 0, sizeof desc);
    struct vtd_dmar_struct *s = add(&desc, VTD_DMAR_DRHD);
    s->base = 0xfed90000;
    uint8_t path[2 * VTD_DMAR_MAX_PATH] = {0};
    for (int i = 0; i < VTD_DMAR_MAX_SCOPES; i++)
        add_scope(&desc, VTD_SCOPE_ENDPOINT, 0, 0, 0, VTD_DMAR_MAX_PATH, path);
    /* 16 + 256 * 38 = 9744: fits */
    size_t len = 0;
    struct vtd_dmar_error e;
    static uint8_t big[16384];
    assert_int_equal(vtd_dmar_build(&desc, big, sizeof big, &len, &e), 0);
    assert_int_equal(len, 48 + 16 + 256 * 38);
    size_t off;
    const char *msg;
    assert_int_equal(vtd_dmar_parse(big, len, &back, &off, &msg), 0);
    assert_int_equal(back.nscopes, 256);
    assert_int_equal(back.scopes[255].npath, VTD_DMAR_MAX_PATH);
}

/* the parser: what the template's scopes hold, and the new errors */
static void expect_parse_err(const uint8_t *t, size_t len, size_t want_off)
{
    size_t off = 0;
    const char *msg = NULL;
    assert_int_equal(vtd_dmar_parse(t, len, &back, &off, &msg), -1);
    assert_non_null(msg);
    assert_int_equal(off, want_off);
}

static void fix_sum(uint8_t *t, size_t len)
{
    t[9] = 0;
    t[9] = (uint8_t)(0u - vtd_dmar_checksum(t, len));
}

static void test_parse_errors(void **state)
{
    (void)state;
    memset(&desc, 0, sizeof desc);
    desc.haw = 38;
    struct vtd_dmar_struct *s = add(&desc, VTD_DMAR_DRHD);
    s->base = 0xfed90000;
    add_scope(&desc, VTD_SCOPE_NAMESPACE, 1, 0, 0, 1, (const uint8_t[]){0x15, 0});
    s = add(&desc, VTD_DMAR_ANDD);
    s->acpi_dev = 1;
    strcpy(s->name, "\\_SB.X");
    size_t len = build_ok(&desc);
    /* DRHD at 48 (16 + 8), its scope at 64, ANDD at 72: 8 + 7 */
    assert_int_equal(len, 72 + 15);
    uint8_t t[256];
    memcpy(t, buf, len);
    t[len - 1] = 'Y';                     /* name loses its NUL */
    fix_sum(t, len);
    expect_parse_err(t, len, len);
    memcpy(t, buf, len);
    t[72 + 8] = 0;                        /* empty name */
    fix_sum(t, len);
    expect_parse_err(t, len, 72 + 8);
    /* a scope of length 6: no path */
    memcpy(t, buf, len);
    t[48 + 2] = 16 + 6;                   /* DRHD length */
    t[64 + 1] = 6;
    memmove(t + 70, t + 72, len - 72);    /* drop the path bytes */
    t[4] = (uint8_t)(len - 2);
    fix_sum(t, len - 2);
    expect_parse_err(t, len - 2, 64 + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_each_type),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_size_query),
        cmocka_unit_test(test_check_rules),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_parse_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
