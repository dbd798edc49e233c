/* SPDX-License-Identifier: MIT */
/*
 * vtd: run, show and audit Intel VT-d remapping (see `vtd help`).
 */
#include <stdio.h>
#include <string.h>

#include "tool.h"
#include "vtd/version.h" /* generated from the CMake project version */

static const struct vtd_cmd cmds[] = {
    /* keep in the order "vtd help" shows them */
    {"help", cmd_help, "show this list, or the help of one command (vtd help CMD)"},
    {"demo", cmd_demo, "device assignment told on two VMs: DMA, isolation, posted interrupts, unmap"},
    {"run", cmd_run, "run scenario files and check their expectations (docs/scenario.md)"},
    {"walk", cmd_walk, "translate one request step by step, as text, JSON or an SVG picture"},
    {"audit", cmd_audit, "what can each device reach? walk the tables in a memory image"},
    {"dmar", cmd_dmar, "decode an ACPI DMAR table (vtd dmar decode FILE)"},
    {"dmar", cmd_dmar, "decode (text or JSON) or build an ACPI DMAR table"},
    {"bench", cmd_bench, "run the benchmarks (translation, interrupts, IOVA allocator, driver map/unmap): table or JSON"},
};

bool tool_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

static const struct vtd_cmd *find_cmd(const char *name)
{
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(cmds[i].name, name) == 0)
            return &cmds[i];
    return NULL;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: vtd COMMAND [ARGS...]\n\n"
               "A software Intel VT-d IOMMU: run scenarios against the model, show a\n"
               "translation walk, audit a memory image, decode or build ACPI DMAR tables.\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].summary);
    fprintf(f, "\n'vtd COMMAND --help' (or 'vtd help COMMAND') describes one command.\n");
}

int cmd_help(int argc, char **argv)
{
    if (argc < 2 || tool_is_help(argv[1])) {
        usage(stdout);
        return 0;
    }
    const struct vtd_cmd *c = find_cmd(argv[1]);
    if (!c) {
        fprintf(stderr, "vtd help: no command '%s' (try 'vtd help')\n", argv[1]);
        return 2;
    }
    if (c->fn == cmd_help) {
        usage(stdout);
        return 0;
    }
    char name[64], help[] = "--help";
    snprintf(name, sizeof name, "%s", c->name);
    char *sub[] = {name, help, NULL};
    return c->fn(2, sub);
}

/* main() is left out of the vtd_tool library (VTD_TOOL_NO_MAIN), which
 * fuzz targets and tests link. */
#ifndef VTD_TOOL_NO_MAIN
int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (tool_is_help(argv[1]))
        return cmd_help(1, argv);
    if (strcmp(argv[1], "--version") == 0) {
        printf("vtd (libvtd) %s\n", VTD_VERSION_STRING);
        return 0;
    }
    const struct vtd_cmd *c = find_cmd(argv[1]);
    if (!c) {
        fprintf(stderr, "vtd: unknown command '%s' (try 'vtd help')\n", argv[1]);
        return 2;
    }
    return c->fn(argc - 1, argv + 1);
}
#endif
