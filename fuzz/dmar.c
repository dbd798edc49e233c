/* SPDX-License-Identifier: MIT */
/* Fuzz the DMAR parser: arbitrary bytes must parse or fail with an offset
 * inside (or at the end of) the input, never crash or read past it. */
#include <stdint.h>
#include <stdlib.h>

#include "vtd/acpi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vtd_dmar d;
    size_t off = 0;
    const char *msg = NULL;
    if (vtd_dmar_parse(data, size, &d, &off, &msg) != 0) {
        if (!msg || off > size)
            abort();
    } else if (d.length > size || d.nstructs > VTD_DMAR_MAX_STRUCTS) {
        abort();
    }
    return 0;
}
