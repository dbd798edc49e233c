/* SPDX-License-Identifier: MIT */
/* Fuzz the DMAR parser: arbitrary bytes must parse or fail with an offset
 * inside (or at the end of) the input, never crash or read past it.  A
 * table that parses and passes vtd_dmar_check must build again, and the
 * rebuilt table must parse to the same description. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vtd/acpi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const struct vtd_dmar *a, const struct vtd_dmar *b)
{
    if (a->nstructs != b->nstructs || a->nscopes != b->nscopes || a->haw != b->haw ||
        a->flags != b->flags || a->oem_revision != b->oem_revision ||
        memcmp(a->scopes, b->scopes, a->nscopes * sizeof a->scopes[0]) != 0)
        return 0;
    for (uint32_t i = 0; i < a->nstructs; i++) {
        const struct vtd_dmar_struct *x = &a->s[i], *y = &b->s[i];
        if (x->type != y->type || x->flags != y->flags || x->size != y->size ||
            x->segment != y->segment || x->base != y->base || x->limit != y->limit ||
            x->proximity != y->proximity || x->acpi_dev != y->acpi_dev ||
            strcmp(x->name, y->name) != 0 || x->nscopes != y->nscopes)
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vtd_dmar d, back;
    static uint8_t table[1 << 16];
    size_t off = 0;
    const char *msg = NULL;
    if (vtd_dmar_parse(data, size, &d, &off, &msg) != 0) {
        if (!msg || off > size)
            abort();
        return 0;
    }
    if (d.length > size || d.nstructs > VTD_DMAR_MAX_STRUCTS)
        abort();
    struct vtd_dmar_error e;
    size_t len;
    if (vtd_dmar_check(&d, &e) != 0)
        return 0;
    if (vtd_dmar_build(&d, table, sizeof table, &len, &e) != 0 ||
        vtd_dmar_parse(table, len, &back, &off, &msg) != 0 || !same(&d, &back))
        abort();
    return 0;
}
