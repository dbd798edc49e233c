/* Tests of the scenario language behind `vtd run` (tools/vtd/scenario*.c):
 * the JSON event stream, partial runs, exit statuses, error places and
 * limits.  The failing-input messages themselves are checked by the
 * scenario_error_* tests (tests/scenario_errors/). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "scenario.h"
#include "scenario_int.h"

/* Parse and run text; *outp gets what was printed (caller frees). */
static int run_text(const char *text, bool json, int stop_line, char **outp, char **errp)
{
    struct sc_script *s = NULL;
    struct sc_error err;
    int r = sc_parse("t.vtd", text, strlen(text), NULL, &s, &err);
    if (r) {
        fprintf(stderr, "%d:%d: %s\n", err.line, err.col, err.msg);
        return -100;
    }
    size_t ol = 0, el = 0;
    FILE *o = open_memstream(outp, &ol), *e = open_memstream(errp, &el);
    assert_non_null(o);
    assert_non_null(e);
    struct sc_run_opts opts = {.out = o, .err = e, .json = json, .stop_line = stop_line};
    r = sc_run(s, &opts, NULL);
    fclose(o);
    fclose(e);
    sc_free(s);
    return r;
}

/* A flat JSON object: {"key":value,...} with string, number, true/false values. */
static bool json_flat_object(const char *p, const char *end)
{
    if (p >= end || *p++ != '{')
        return false;
    for (bool first = true;; first = false) {
        if (p < end && *p == '}' && first)
            return p + 1 == end;
        if (p >= end || *p++ != '"')
            return false;
        while (p < end && *p != '"')
            p += *p == '\\' ? 2 : 1;
        if (p >= end || *p++ != '"' || p >= end || *p++ != ':')
            return false;
        if (*p == '"') {
            for (p++; p < end && *p != '"'; p += *p == '\\' ? 2 : 1)
                if ((unsigned char)*p < 0x20)
                    return false;
            if (p++ >= end)
                return false;
        } else if (end - p >= 4 && memcmp(p, "true", 4) == 0) {
            p += 4;
        } else if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
            p += 5;
        } else {
            const char *q = p;
            while (p < end && *p >= '0' && *p <= '9')
                p++;
            if (p == q)
                return false;
        }
        if (p < end && *p == '}')
            return p + 1 == end;
        if (p >= end || *p++ != ',')
            return false;
    }
}

static const char legacy[] =
    "unit default\n"
    "let RT = 0x100000\n"
    "let CT = 0x101000\n"
    "root table=RT bus=0 ctp=CT\n"
    "context table=CT devfn=02.0 slptptr=0x200000 did=1\n"
    "slmap root=0x200000 iova=0x1000 pa=0x5000 perm=r\n"
    "mmio write FEDATA 0x41\n"
    "mmio write FEADDR 0xfee00000\n"
    "mmio write FECTL 0\n"
    "mmio write RTADDR RT\n"
    "gcmd SRTP\n"
    "gcmd TE\n"                                     /* line 12 */
    "dma read sid=00:02.0 addr=0x1234\n"            /* 13 */
    "expect translated pa=0x5234 perm=r\n"
    "dma write sid=00:02.0 addr=0x1234\n"           /* 15 */
    "expect fault reason=5 recorded\n"
    "expect msi addr=0xfee00000 data=0x41\n"
    "mmio write 0x3 0\n"                            /* 18: unaligned: a diag */
    "expect diag MMIO_UNALIGNED\n";

/* Every line of out is a flat JSON object; returns how many. */
static int json_lines(const char *out)
{
    int lines = 0;
    for (const char *p = out; *p;) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        if (!json_flat_object(p, nl)) {
            fprintf(stderr, "not a flat JSON object: %.*s\n", (int)(nl - p), p);
            fail();
        }
        lines++;
        p = nl + 1;
    }
    return lines;
}

static void test_json_events(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    assert_int_equal(run_text(legacy, true, 0, &out, &err), 0);
    assert_string_equal(err, "");
    assert_true(json_lines(out) > 15);
    assert_non_null(strstr(out, "{\"event\":\"unit\",\"line\":1,\"unit\":\"unit0\""));
    assert_non_null(strstr(out, "{\"event\":\"mmio_write\",\"line\":12,\"unit\":\"unit0\",\"reg\":\"GCMD\","
                                "\"offset\":\"0x18\",\"size\":4,\"value\":\"0x80000000\"}"));
    assert_non_null(strstr(out, "{\"event\":\"translate\",\"line\":13,\"unit\":\"unit0\",\"sid\":\"00:02.0\","
                                "\"addr\":\"0x1234\",\"access\":\"read\",\"at\":\"untranslated\",\"status\":\"ok\","
                                "\"pa\":\"0x5234\",\"page_size\":\"0x1000\",\"perm\":\"r\"}"));
    assert_non_null(strstr(out, "\"status\":\"fault\",\"reason\":\"0x5\",\"recorded\":true}"));
    assert_non_null(strstr(out, "{\"event\":\"fault\",\"line\":15,"));
    /* the fault event MSI comes after the request that caused it */
    char *tr = strstr(out, "{\"event\":\"translate\",\"line\":15"), *msi = strstr(out, "{\"event\":\"msi\",\"line\":15");
    assert_non_null(tr);
    assert_non_null(msi);
    assert_true(tr < msi);
    assert_non_null(strstr(msi, "\"addr\":\"0xfee00000\",\"data\":\"0x41\"}"));
    assert_non_null(strstr(out, "{\"event\":\"diag\",\"line\":18,\"unit\":\"unit0\",\"code\":2,"
                                "\"name\":\"MMIO_UNALIGNED\""));
    assert_non_null(strstr(out, "{\"event\":\"expect\",\"line\":17,\"unit\":\"unit0\",\"ok\":true}"));
    assert_non_null(strstr(out, "{\"event\":\"summary\",\"passed\":4,\"failed\":0}\n"));
    free(out);
    free(err);
}

static const char prq[] =
    "unit scalable\n"                                                          /* 1 */
    "drv init scalable prq prq_msi=0xfee00000 prq_data=0x41\n"                /* 2 */
    "drv domain a type=first-level\n"                                         /* 3 */
    "drv attach a sid=00:05.0 ats pri\n"                                      /* 4 */
    "drv attach a sid=00:05.0 pasid=3\n"                                      /* 5 */
    "page-request rw sid=00:05.0 pasid=3 addr=0x40_0000 lpig prgi=9\n"        /* 6 */
    "drv prq\n"                                                               /* 7 */
    "expect page-response sid=00:05.0 pasid=3 prgi=9 code=success\n"          /* 8 */
    "drv detach sid=00:05.0 pasid=3\n"                                        /* 9 */
    "page-request read sid=00:05.0 pasid=3 addr=0x40_0000 lpig prgi=10\n"     /* 10: 59h */
    "expect page-request fault reason=0x59 response=invalid\n";               /* 11 */

static void test_page_request_events(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    assert_int_equal(run_text(prq, true, 0, &out, &err), 0);
    assert_string_equal(err, "");
    assert_true(json_lines(out) > 20);
    const char *pr = strstr(out, "{\"event\":\"page_request\",\"line\":6,\"unit\":\"unit0\",\"sid\":\"00:05.0\","
                                 "\"addr\":\"0x400000\",\"access\":\"rw\",\"pasid\":3,\"priv\":false,"
                                 "\"exec\":false,\"lpig\":true,\"prgi\":9,\"status\":\"queued\",\"desc\":\"0x");
    assert_non_null(pr);
    /* the page request event's MSI after the request */
    const char *msi = strstr(out, "{\"event\":\"msi\",\"line\":6,\"unit\":\"unit0\",\"addr\":\"0xfee00000\","
                                  "\"data\":\"0x41\"}");
    assert_non_null(msi);
    assert_true(pr < msi);
    const char *dp = strstr(out, "{\"event\":\"drv_page_request\",\"line\":7,\"unit\":\"unit0\",\"sid\":\"00:05.0\","
                                 "\"pasid\":3,\"addr\":\"0x400000\",\"access\":\"rw\",\"lpig\":true,\"prgi\":9,"
                                 "\"domain\":\"a\",\"answer\":\"success\",\"pa\":\"0x");
    const char *resp = strstr(out, "{\"event\":\"page_response\",\"line\":7,\"unit\":\"unit0\",\"sid\":\"00:05.0\","
                                   "\"pasid\":3,\"prgi\":9,\"code\":\"success\"}");
    assert_non_null(dp);
    assert_non_null(resp);
    assert_true(dp < resp);
    /* a fault: the request, then the unit's own answer */
    const char *f = strstr(out, "{\"event\":\"page_request\",\"line\":10,");
    assert_non_null(f);
    assert_non_null(strstr(f, "\"status\":\"fault\",\"reason\":\"0x59\","));
    assert_non_null(strstr(f, "\"recorded\":true,\"response\":\"invalid\"}"));
    const char *r2 = strstr(out, "{\"event\":\"page_response\",\"line\":10,\"unit\":\"unit0\",\"sid\":\"00:05.0\","
                                 "\"pasid\":3,\"prgi\":10,\"code\":\"invalid\"}");
    assert_non_null(r2);
    assert_true(f < r2);
    assert_non_null(strstr(out, "{\"event\":\"summary\",\"passed\":2,\"failed\":0}\n"));
    free(out);
    free(err);
}

static void test_stop_line_and_status(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    /* up to line 14: the translation's expectation only */
    assert_int_equal(run_text(legacy, true, 14, &out, &err), 0);
    assert_non_null(strstr(out, "\"summary\",\"passed\":1,\"failed\":0"));
    assert_null(strstr(out, "\"line\":15"));
    free(out);
    free(err);
    /* a failed expectation: status 1, the run goes on, both failures printed */
    assert_int_equal(run_text("unit default\ndma read sid=0 addr=0x1000\nexpect translated pa=0x2000\n"
                              "expect blocked\nexpect translated pa=0x1000\n",
                              false, 0, &out, &err),
                     1);
    assert_non_null(strstr(err, "t.vtd:3:1: expectation failed: expected pa=0x2000, got pa=0x1000\n"));
    assert_non_null(strstr(err, "t.vtd:4:1: expectation failed: expected the request to be blocked"));
    assert_non_null(strstr(out, "t.vtd: 2 of 3 expectations failed\n"));
    free(out);
    free(err);
    /* a run error stops the run: status 2 */
    assert_int_equal(run_text("hole 0 4096\nwrite8 0x10 1\nprint after\n", false, 0, &out, &err), 2);
    assert_non_null(strstr(err, "t.vtd:2:1: error: 0x10..0x10 is not backed memory"));
    assert_null(strstr(out, "after"));
    free(out);
    free(err);
}

static void expect_parse_error(const char *text, const struct sc_limits *lim, int line, int col, const char *msg)
{
    struct sc_script *s = NULL;
    struct sc_error err;
    assert_int_equal(sc_parse("t", text, strlen(text), lim, &s, &err), 2);
    assert_null(s);
    if (err.line != line || err.col != col || !strstr(err.msg, msg)) {
        fprintf(stderr, "got %d:%d: %s\n", err.line, err.col, err.msg);
        fail();
    }
}

static void test_parse_errors_and_limits(void **state)
{
    (void)state;
    expect_parse_error("unit default\n  dma read sid=00:02.0 addr=(1+\n", NULL, 2, 32, "expected a value");
    expect_parse_error("let a = 1\nlet b = a +* 2\n", NULL, 2, 12, "expected a number, a name or '('");
    expect_parse_error("write64 0 ((((((((((((((((((((((((((((((((((((((((((((((((((((1))))))))))))))))))))))))))))))))))))))))))))))))))))\n",
                       NULL, 1, 59, "nested too deeply");
    expect_parse_error("print \x80\n", NULL, 1, 7, "unexpected byte 0x80");
    struct sc_limits lim;
    sc_default_limits(&lim);
    lim.max_lines = 2;
    expect_parse_error("print 1\nprint 2\nprint 3\n", &lim, 3, 1, "more than 2 lines");
    sc_default_limits(&lim);
    lim.max_cache = 64;
    expect_parse_error("unit default iotlb=128\n", &lim, 1, 1, "more than this run allows");
    lim.max_units = 1;
    expect_parse_error("unit default\nunit default\n", &lim, 2, 1, "at most 1 units");
    lim.max_fill = 16;
    expect_parse_error("fill 0 17\n", &lim, 1, 1, "at most 16 bytes");
    /* values parse as documented */
    struct sc_script *s;
    struct sc_error err;
    const char *ok = "let A = 4k + 0x1_000 | 1 << 2\nwrite64 A (A * 2) 2m 1g 0b101 ~0\n";
    assert_int_equal(sc_parse("t", ok, strlen(ok), NULL, &s, &err), 0);
    assert_int_equal(s->n, 1);
    assert_int_equal(s->cmds[0].addr, 0x2004);
    assert_int_equal(s->cmds[0].nvals, 5);
    assert_int_equal(s->cmds[0].vals[0], 0x4008);
    assert_int_equal(s->cmds[0].vals[1], 2u << 20);
    assert_int_equal(s->cmds[0].vals[2], 1u << 30);
    assert_int_equal(s->cmds[0].vals[3], 5);
    assert_true(s->cmds[0].vals[4] == ~0ULL);
    sc_free(s);
}

static void test_names(void **state)
{
    (void)state;
    /* every diagnostic name maps to its code and back */
    static const char *const names[] = {"MMIO_SIZE", "STALE_IOTLB", "QI_DESC_TYPE", "IR_PID", "INVAL_VERSION"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int code = sc_diag_find(names[i], strlen(names[i]));
        assert_true(code > 0);
        assert_string_equal(sc_diag_name(code), names[i]);
    }
    assert_int_equal(sc_diag_find("VTD_DIAG_STALE_IOTLB", 20), VTD_DIAG_STALE_IOTLB);
    for (int code = 0; code < 256; code++) {
        const char *n = sc_diag_name(code);
        if (n)
            assert_int_equal(sc_diag_find(n, strlen(n)), code);
    }
    const struct sc_fielddef *f = sc_field_find("CCMD", "CIRG", 4);
    assert_non_null(f);
    assert_true(f->mask == VTD_CCMD_CIRG_MASK);
    assert_null(sc_field_find("GCMD", "TES", 3));
    const struct sc_regdef *r = sc_reg_find("IQERCD", 6);
    assert_non_null(r);
    assert_int_equal(r->off, VTD_REG_IQERCD);
    assert_int_equal(r->width, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_events),
        cmocka_unit_test(test_page_request_events),
        cmocka_unit_test(test_stop_line_and_status),
        cmocka_unit_test(test_parse_errors_and_limits),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
