/* SPDX-License-Identifier: MIT */
/*
 * `vtd run FILE...`: run scenarios (docs/scenario.md) against the model and
 * check their expectations.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "tool.h"

static void run_usage(FILE *f)
{
    fprintf(f, "usage: vtd run [--json] [--verbose] [--quiet] FILE...\n\n"
               "Run scenario files (docs/scenario.md): create units, write memory and\n"
               "tables, program registers, send DMA and interrupt requests, and check\n"
               "what the unit did with 'expect' lines.  A file of '-' is standard input.\n\n"
               "  --json     print every event (register access, translation, fault, MSI,\n"
               "             diagnostic, expectation) as one JSON object per line\n"
               "  --verbose  text mode: also print every register access\n"
               "  --quiet    print only failures and errors\n\n"
               "Exit status: 0 every expectation held, 1 an expectation failed (each is\n"
               "printed as FILE:LINE:COL), 2 a file could not be read or parsed, or the\n"
               "scenario could not run to its end.\n");
}

int tool_load_scenario(const char *path, struct sc_script **out)
{
    size_t len = 0;
    char *text = tool_read_file(path, &len);
    if (!text) {
        fprintf(stderr, "vtd: %s: %s\n", path, strerror(errno));
        return 2;
    }
    struct sc_error err;
    int r = sc_parse(path, text, len, NULL, out, &err);
    free(text);
    if (r) {
        if (err.line)
            fprintf(stderr, "%s:%d:%d: error: %s\n", path, err.line, err.col, err.msg);
        else
            fprintf(stderr, "%s: error: %s\n", path, err.msg);
        return 2;
    }
    return 0;
}

int cmd_run(int argc, char **argv)
{
    struct sc_run_opts o = {.out = stdout, .err = stderr};
    int nfiles = 0, worst = 0;
    for (int i = 1; i < argc; i++) {
        if (tool_is_help(argv[i])) {
            run_usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            o.json = true;
        } else if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0) {
            o.verbose = true;
        } else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
            o.out = NULL;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "vtd run: unknown option '%s' (see vtd run --help)\n", argv[i]);
            return 2;
        }
    }
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1])
            continue;
        nfiles++;
        struct sc_script *s;
        int r = tool_load_scenario(argv[i], &s);
        if (!r) {
            r = sc_run(s, &o, NULL);
            sc_free(s);
        }
        if (r > worst)
            worst = r;
    }
    if (!nfiles) {
        fprintf(stderr, "vtd run: no scenario file given (see vtd run --help)\n");
        return 2;
    }
    if (o.out)
        fflush(o.out);
    return worst;
}
