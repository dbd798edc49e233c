/* SPDX-License-Identifier: MIT */
/* Fuzz the DMAR platform-format parser (tools/vtd/dmar_platform.c): any
 * bytes either fail with a line and column inside the input and a message,
 * or give a description that builds, and whose built table parses back
 * with the same structures and scopes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dmar_platform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct dmar_platform p;
    static struct vtd_dmar back;
    static uint8_t table[1 << 16];
    struct dmar_platform_error e;
    if (dmar_platform_parse((const char *)data, size, &p, &e) != 0) {
        unsigned lines = 1;
        for (size_t i = 0; i < size; i++)
            lines += data[i] == '\n';
        if (e.line < 1 || e.line > lines || e.col < 1 || e.col > size + 2 || !e.msg[0])
            abort();
        return 0;
    }
    size_t len, off;
    struct vtd_dmar_error be;
    const char *msg;
    if (vtd_dmar_build(&p.d, table, sizeof table, &len, &be) != 0)
        abort();
    if (vtd_dmar_parse(table, len, &back, &off, &msg) != 0)
        abort();
    if (back.nstructs != p.d.nstructs || back.nscopes != p.d.nscopes || back.length != len ||
        memcmp(back.scopes, p.d.scopes, p.d.nscopes * sizeof p.d.scopes[0]) != 0)
        abort();
    return 0;
}
