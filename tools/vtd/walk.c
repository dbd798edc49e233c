/* SPDX-License-Identifier: MIT */
/*
 * `vtd walk`: one DMA request translated step by step against a unit's
 * state, printed as text (or JSON) and optionally drawn as SVG.  The walk is
 * the model's own (vtd_walk: no cache used or filled, no fault recorded), so
 * what is shown is what the unit would do.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "svg.h"
#include "tool.h"
#include "toolopt.h"
#include "walkdemo.h"
#include "walkfmt.h"
#include "walkimage.h"

#define MAX_STEPS 256

static void walk_usage(FILE *f)
{
    fprintf(f,
            "usage: vtd walk --demo-tables[=LAYOUT] | --scenario FILE [--line N]\n"
            "                | --image IMG --regs REGS [--unit NAME] [--base PA]\n"
            "                --sid BB:DD.F [--pasid N] [--priv]\n"
            "                --addr IOVA [--read|--write|--exec|--atomic]\n"
            "                [--at untranslated|translation-request] [--svg FILE] [--json]\n\n"
            "Translate one DMA request against a unit's tables and show every structure\n"
            "read (table address, index, entry address, raw value, decoded fields), then\n"
            "the result (HPA, page size, permissions) or the fault with its reason.\n\n"
            "  --demo-tables[=LAYOUT]  a built-in example unit (default layout: legacy)\n"
            "  --scenario FILE         run a scenario (docs/scenario.md) silently, then walk\n"
            "                          against its current unit and memory\n"
            "  --line N                run the scenario only up to line N\n"
            "  --image IMG             a raw physical memory image (offset 0 = physical --base,\n"
            "                          sparse files fine; never written): the unit's memory;\n"
            "                          reads outside it are the unit's memory-access faults\n"
            "  --regs REGS             the unit's registers, as for vtd audit: 'NAME VALUE'\n"
            "                          lines, sysfs names, an iommu_regset dump or JSON; CAP,\n"
            "                          ECAP, VER, HAW build the model, RTADDR, IRTA, GSTS (TES,\n"
            "                          IRES) are programmed.  CAP/ECAP bits the model lacks\n"
            "                          are masked off with a warning naming them\n"
            "  --unit NAME             with an iommu_regset dump of several units: this one\n"
            "  --base PA               physical address of the image's first byte (default 0)\n"
            "  --sid BB:DD.F           requester (bus, device, function in hex)\n"
            "  --pasid N               request with PASID N (0..0xFFFFF); --priv: supervisor\n"
            "  --addr IOVA             address of the request (hex with 0x, or decimal)\n"
            "  --read (default), --write, --exec, --atomic   the access\n"
            "  --at untranslated (default) | translation-request   the request type (AT)\n"
            "  --svg FILE              also draw the walk as an SVG picture into FILE\n"
            "  --json                  print one JSON object instead of text\n\n"
            "Exit status: 0 translated, 1 the request faults or is blocked, 2 bad usage.\n\n"
            "Demo layouts:\n%s",
            walkdemo_help());
}

static int bad(const char *opt, const char *val, const char *what)
{
    fprintf(stderr, "vtd walk: %s: '%s' %s (see vtd walk --help)\n", opt, val ? val : "", what);
    return 2;
}

struct collect {
    struct wf_step steps[MAX_STEPS];
    int n;
    bool overflow;
};

static void on_step(void *arg, const struct vtd_walk_step *s)
{
    struct collect *c = arg;
    if (c->n >= MAX_STEPS) {
        c->overflow = true;
        return;
    }
    wf_from_vtd(&c->steps[c->n++], s);
}

/* Walk `req` on u and print it; returns the exit status. */
static int show(struct vtd *u, const struct vtd_request *req, bool json, const char *svg_path)
{
    struct collect *c = calloc(1, sizeof *c);
    if (!c) {
        fprintf(stderr, "vtd walk: out of memory\n");
        return 2;
    }
    struct vtd_result res;
    int r = vtd_walk(u, req, &res, on_step, c);
    if (r) {
        fprintf(stderr, "vtd walk: the model refused the request: %s\n", vtd_strerror(r));
        free(c);
        return 2;
    }
    if (c->overflow)
        fprintf(stderr, "vtd walk: more than %d steps; only the first %d are shown\n", MAX_STEPS, MAX_STEPS);
    if (json) {
        wf_print_json(stdout, req, c->steps, c->n, &res);
    } else {
        wf_print_request(stdout, req);
        for (int i = 0; i < c->n; i++)
            wf_print_step(stdout, i + 1, &c->steps[i]);
        wf_print_result(stdout, &res);
    }
    int status = res.status == VTD_OK ? 0 : 1;
    if (svg_path) {
        FILE *f = fopen(svg_path, "w");
        if (!f) {
            fprintf(stderr, "vtd walk: --svg: cannot create '%s': %s\n", svg_path, strerror(errno));
            status = 2;
        } else {
            int w = svg_walk(f, req, c->steps, c->n, &res);
            if (fclose(f) || w) {
                fprintf(stderr, "vtd walk: --svg: error writing '%s'\n", svg_path);
                status = 2;
            }
        }
    }
    free(c);
    return status;
}

/* --image IMG --regs REGS: the unit the register file describes, over the image */
static int walk_image(const char *image, const char *regs_path, const char *unit, uint64_t base,
                      const struct vtd_request *req, bool json, const char *svg_path)
{
    struct audit_regs regs;
    if (tool_load_regs("walk", regs_path, unit, &regs))
        return 2;
    struct tool_image img;
    if (tool_map_image("walk", "--image", image, base, true, &img))
        return 2;
    struct walkimg *w;
    int status = walkimg_create(&regs, regs_path, &img, stderr, &w);
    if (status == 0) {
        status = show(walkimg_unit(w), req, json, svg_path);
        walkimg_destroy(w);
    }
    tool_unmap_image(&img);
    return status;
}

int cmd_walk(int argc, char **argv)
{
    struct vtd_request req = {.at = VTD_AT_UNTRANSLATED, .access = VTD_R};
    bool have_sid = false, have_addr = false, json = false;
    const char *svg_path = NULL;
    int demo = 0;
    int naccess = 0;
    const char *scenario = NULL, *image = NULL, *regs_path = NULL, *unit = NULL;
    int stop_line = 0;
    uint64_t base = 0;
    bool have_base = false;

    /* the options that name a file (or a unit) */
    const struct {
        const char *opt, *what;
        const char **out;
    } names[] = {
        {"--scenario", "needs a file name", &scenario}, {"--image", "needs a file name", &image},
        {"--regs", "needs a file name", &regs_path},    {"--unit", "needs a unit name", &unit},
        {"--svg", "needs a file name", &svg_path},
    };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = NULL;
        int m = 0;
        for (size_t k = 0; k < sizeof names / sizeof names[0] && !m; k++)
            if ((m = tool_opt_val(argc, argv, &i, names[k].opt, &v)) != 0) {
                if (m < 0 || !*v)
                    return bad(names[k].opt, v, names[k].what);
                *names[k].out = v;
            }
        if (m)
            continue;
        if (tool_is_help(a)) {
            walk_usage(stdout);
            return 0;
        } else if (strcmp(a, "--demo-tables") == 0 || strncmp(a, "--demo-tables=", 14) == 0) {
            const char *name = a[13] == '=' ? a + 14 : NULL;
            demo = walkdemo_kind(name);
            if (!demo)
                return bad("--demo-tables", name, "is no demo layout");
        } else if ((m = tool_opt_val(argc, argv, &i, "--base", &v)) != 0) {
            if (m < 0 || !tool_parse_u64(v, &base) || (base & 0xFFF))
                return bad("--base", v, "is not a 4 KiB aligned physical address");
            have_base = true;
        } else if ((m = tool_opt_val(argc, argv, &i, "--line", &v)) != 0) {
            uint64_t n;
            if (m < 0 || !tool_parse_u64(v, &n) || n == 0 || n > 100000000)
                return bad("--line", v, "is not a line number");
            stop_line = (int)n;
        } else if ((m = tool_opt_val(argc, argv, &i, "--sid", &v)) != 0) {
            if (m < 0 || !tool_parse_bdf(v, &req.sid))
                return bad("--sid", v, "is not BB:DD.F (bus, device 0-1f, function 0-7, in hex)");
            have_sid = true;
        } else if ((m = tool_opt_val(argc, argv, &i, "--pasid", &v)) != 0) {
            uint64_t p;
            if (m < 0 || !tool_parse_u64(v, &p) || p > 0xFFFFF)
                return bad("--pasid", v, "is not a PASID (0..0xFFFFF)");
            req.pasid = (uint32_t)p;
            req.pasid_valid = true;
        } else if (strcmp(a, "--priv") == 0) {
            req.priv = true;
        } else if ((m = tool_opt_val(argc, argv, &i, "--addr", &v)) != 0) {
            if (m < 0 || !tool_parse_u64(v, &req.addr))
                return bad("--addr", v, "is not an address (hex with 0x, or decimal)");
            have_addr = true;
        } else if (strcmp(a, "--read") == 0) {
            req.access = VTD_R, naccess++;
        } else if (strcmp(a, "--write") == 0) {
            req.access = VTD_W, naccess++;
        } else if (strcmp(a, "--exec") == 0) {
            req.access = VTD_R | VTD_X, naccess++;
        } else if (strcmp(a, "--atomic") == 0) {
            req.access = VTD_R | VTD_W, naccess++;
        } else if ((m = tool_opt_val(argc, argv, &i, "--at", &v)) != 0) {
            if (m > 0 && strcmp(v, "untranslated") == 0)
                req.at = VTD_AT_UNTRANSLATED;
            else if (m > 0 && strcmp(v, "translation-request") == 0)
                req.at = VTD_AT_TRANSLATION_REQ;
            else
                return bad("--at", v, "is neither 'untranslated' nor 'translation-request'");
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else {
            return bad("argument", a, "is not known");
        }
    }
    if (naccess > 1)
        return bad("--read/--write/--exec/--atomic", "", "given more than once: pick one access");
    if (req.priv && !req.pasid_valid)
        return bad("--priv", "", "needs --pasid (privilege is a PASID attribute)");
    if ((demo != 0) + (scenario != NULL) + (image != NULL) != 1) {
        fprintf(stderr, "vtd walk: give one input: --demo-tables, --scenario FILE or --image IMG "
                        "--regs REGS (see vtd walk --help)\n");
        return 2;
    }
    if (stop_line && !scenario)
        return bad("--line", "", "goes with --scenario");
    if (image && !regs_path)
        return bad("--image", image, "needs --regs REGS (the unit's register file)");
    if (!image && regs_path)
        return bad("--regs", regs_path, "goes with --image IMG");
    if (!image && (unit || have_base))
        return bad(unit ? "--unit" : "--base", "", "goes with --image IMG --regs REGS");
    if (!have_sid || !have_addr) {
        fprintf(stderr, "vtd walk: %s is required (see vtd walk --help)\n", have_sid ? "--addr" : "--sid");
        return 2;
    }

    if (image)
        return walk_image(image, regs_path, unit, base, &req, json, svg_path);
    if (scenario) {
        struct sc_script *s;
        if (tool_load_scenario(scenario, &s))
            return 2;
        /* the scenario's expectations are not the point here: only errors count */
        struct sc_run_opts o = {.err = NULL, .stop_line = stop_line};
        struct sc_world *w = NULL;
        int r = sc_run(s, &o, &w);
        sc_free(s);
        if (r == 2) {
            sc_world_destroy(w);
            o.err = stderr;
            if (!tool_load_scenario(scenario, &s)) { /* again, to show the error */
                sc_run(s, &o, NULL);
                sc_free(s);
            }
            fprintf(stderr, "vtd walk: --scenario: '%s' does not run to its end\n", scenario);
            return 2;
        }
        struct vtd *su = sc_world_unit(w);
        int status = 2;
        if (!su)
            fprintf(stderr, "vtd walk: --scenario: '%s' creates no unit%s\n", scenario,
                    stop_line ? " up to that line" : "");
        else
            status = show(su, &req, json, svg_path);
        sc_world_destroy(w);
        return status;
    }

    struct vtd_mem *mem = NULL;
    struct vtd *u = NULL;
    char err[160];
    int r = walkdemo_create(demo, &mem, &u, err, sizeof err);
    if (r) {
        fprintf(stderr, "vtd walk: --demo-tables: %s\n", err);
        return 2;
    }
    int status = show(u, &req, json, svg_path);
    walkdemo_destroy(mem, u);
    return status;
}
