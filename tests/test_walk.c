/* Tests of `vtd walk`'s decoding (tools/vtd/walkfmt.c) and picture (svg.c). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "svg.h"
#include "walkfmt.h"

static uint64_t fv(const struct wf_step *s, const char *name)
{
    uint64_t v = 0;
    assert_true(wf_field(s, name, &v));
    return v;
}

static void test_decode_fields(void **state)
{
    (void)state;
    struct wf_step s = {.kind = WF_CONTEXT};
    s.val[0] = 0x200000 | (1 << 2) | 3;
    s.val[1] = 2 | (0x1234ULL << 8);
    assert_int_equal(fv(&s, "P"), 1);
    assert_int_equal(fv(&s, "FPD"), 1);
    assert_int_equal(fv(&s, "TT"), 1);
    assert_int_equal(fv(&s, "SLPTPTR"), 0x200000);
    assert_int_equal(fv(&s, "AW"), 2);
    assert_int_equal(fv(&s, "DID"), 0x1234);
    struct wf_step e = {.kind = WF_PASID_ENTRY};
    e.val[0] = 0x300000 | (3 << 6) | (2 << 2) | 1;
    e.val[1] = 0x42 | (1ULL << 24);
    e.val[2] = 0x500000 | (1 << 2) | 1 | (1 << 4);
    assert_int_equal(fv(&e, "PGTT"), 3);
    assert_int_equal(fv(&e, "AW"), 2);
    assert_int_equal(fv(&e, "SLPTPTR"), 0x300000);
    assert_int_equal(fv(&e, "DID"), 0x42);
    assert_int_equal(fv(&e, "PGSNP"), 1);
    assert_int_equal(fv(&e, "SRE"), 1);
    assert_int_equal(fv(&e, "FLPM"), 1);
    assert_int_equal(fv(&e, "WPE"), 1);
    assert_int_equal(fv(&e, "FLPTPTR"), 0x500000);
    struct wf_step c = {.kind = WF_SM_CONTEXT};
    c.val[0] = 0x600000 | (7 << 9) | 0x1f;
    c.val[1] = 5 | (1 << 20);
    assert_int_equal(fv(&c, "PDTS"), 7);
    assert_int_equal(fv(&c, "PASIDDIRPTR"), 0x600000);
    assert_int_equal(fv(&c, "RID_PASID"), 5);
    assert_int_equal(fv(&c, "RID_PRIV"), 1);
    assert_int_equal(fv(&c, "PRE"), 1);
    struct wf_step r = {.kind = WF_SM_ROOT};
    r.val[0] = 0x7000 | 1;
    r.val[1] = 0x8000 | 1;
    assert_int_equal(fv(&r, "LCTP"), 0x7000);
    assert_int_equal(fv(&r, "UCTP"), 0x8000);
    assert_int_equal(fv(&r, "UP"), 1);
    struct wf_step d = {.kind = WF_PASID_DIR, .val = {0x9000 | 3}};
    assert_int_equal(fv(&d, "SMPTBLPTR"), 0x9000);
    assert_int_equal(fv(&d, "FPD"), 1);
    struct wf_step sl = {.kind = WF_SL_PTE, .level = 2, .val = {0x80000000ULL | VTD_SL_PS | VTD_SL_R | VTD_SL_SNP}};
    assert_int_equal(fv(&sl, "PS"), 1);
    assert_int_equal(fv(&sl, "SNP"), 1);
    assert_int_equal(fv(&sl, "W"), 0);
    assert_int_equal(fv(&sl, "ADDR"), 0x80000000ULL);
    struct wf_step fl = {.kind = WF_FL_PTE, .level = 2, .val = {(1ULL << 63) | 0xa000 | 0x87}};
    assert_int_equal(fv(&fl, "XD"), 1);
    assert_int_equal(fv(&fl, "PS"), 1);
    assert_int_equal(fv(&fl, "U/S"), 1);
    assert_int_equal(fv(&fl, "ADDR"), 0xa000);
}

static void test_fault_words(void **state)
{
    (void)state;
    uint8_t codes[128];
    int n = wf_fault_codes(codes, 128);
    assert_true(n > 60);
    for (int i = 0; i < n; i++)
        assert_non_null(wf_fault_words(codes[i]));
    assert_null(wf_fault_words(0x00));
    assert_string_equal(wf_fault_words(VTD_FR_NO_READ), "read request to a page without read permission");
}

static char *render(const struct wf_step *steps, int n, const struct vtd_result *res)
{
    struct vtd_request req = {.sid = 0x10, .addr = 0x12345678, .access = VTD_R};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(svg_walk(f, &req, steps, n, res), 0);
    fclose(f);
    return buf;
}

static int count(const char *s, const char *pat)
{
    int n = 0;
    for (const char *p = strstr(s, pat); p; p = strstr(p + 1, pat))
        n++;
    return n;
}

static void test_nested_grid_cells(void **state)
{
    (void)state;
    struct wf_step st[40];
    int n = 0;
    memset(st, 0, sizeof st);
    st[n++] = (struct wf_step){.kind = WF_SM_ROOT, .val = {0x2001}};
    st[n++] = (struct wf_step){.kind = WF_SM_CONTEXT, .val = {0x3001}};
    st[n++] = (struct wf_step){.kind = WF_PASID_DIR, .val = {0x4001}};
    st[n++] = (struct wf_step){.kind = WF_PASID_ENTRY, .val = {0x5000 | (3 << 6) | 1}};
    for (int fl = 4; fl >= 0; fl--) {
        for (int sl = 4; sl >= 1; sl--)
            st[n++] = (struct wf_step){.kind = WF_SL_PTE, .level = sl, .nested = true, .for_level = fl,
                                       .input = 0x100000ULL * (unsigned)(fl + 1), .val = {0x6003}};
        if (fl)
            st[n++] = (struct wf_step){.kind = WF_FL_PTE, .level = fl, .val = {0x7003}};
    }
    struct vtd_result res = {.status = VTD_OK, .pa = 0x7678, .page_size = 4096, .perm = VTD_R | VTD_W};
    char *svg = render(st, n, &res);
    assert_int_equal(count(svg, "class=\"cell\""), 24); /* 5 x 4 second-level + 4 first-level */
    assert_non_null(strstr(svg, "</svg>"));
    free(svg);
}

static void test_svg_escapes(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    svg_escape(f, "<a & \"b\" 'c'>");
    fclose(f);
    assert_string_equal(buf, "&lt;a &amp; &quot;b&quot; &apos;c&apos;&gt;");
    free(buf);
    struct wf_step s = {.kind = WF_ROOT, .read_error = true};
    struct vtd_result res = {.status = VTD_FAULT, .fault_reason = VTD_FR_ROOT_READ_ERROR};
    char *svg = render(&s, 1, &res);
    assert_non_null(strstr(svg, "FAULT 08h"));
    assert_int_equal(count(svg, "<text"), count(svg, "</text>"));
    assert_int_equal(count(svg, "<g"), count(svg, "</g>"));
    free(svg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_fields),
        cmocka_unit_test(test_fault_words),
        cmocka_unit_test(test_nested_grid_cells),
        cmocka_unit_test(test_svg_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
