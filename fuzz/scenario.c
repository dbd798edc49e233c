/* SPDX-License-Identifier: MIT */
/* Fuzz the scenario language (tools/vtd/scenario*.c): any bytes must either
 * fail to parse with a message and a place inside the input, or parse and
 * run to an exit status of 0, 1 or 2 -- never crash, hang or leak.  Runs are
 * bounded (lines, commands, fill sizes, units, cache sizes); the events are
 * printed to /dev/null, as text or JSON, so the printing is fuzzed too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *null;
    if (!null)
        null = fopen("/dev/null", "w");
    if (size > 16384)
        return 0;
    struct sc_limits lim = {.max_lines = 300, .max_commands = 300, .max_fill = 65536, .max_units = 3,
                            .max_cache = 4096};
    struct sc_script *s = NULL;
    struct sc_error err;
    int r = sc_parse("fuzz", (const char *)data, size, &lim, &s, &err);
    if (r) {
        unsigned lines = 1;
        for (size_t i = 0; i < size; i++)
            lines += data[i] == '\n';
        if (r != 2 || s || !err.msg[0] || err.line < 1 || (unsigned)err.line > lines || err.col < 1)
            abort();
        return 0;
    }
    struct sc_run_opts o = {.out = null, .err = null, .json = size & 1, .verbose = (size & 2) != 0};
    r = sc_run(s, &o, NULL);
    if (r < 0 || r > 2)
        abort();
    sc_free(s);
    return 0;
}
