/* SPDX-License-Identifier: MIT */
/*
 * The vtd command-line tool: shared declarations.
 *
 * Every subcommand lives in its own file tools/vtd/<name>.c and exports
 *     int cmd_<name>(int argc, char **argv);
 * where argv[0] is the subcommand's name.  It returns the process exit
 * status: 0 success, 1 the thing checked failed (a scenario expectation, an
 * audit finding asked to fail, ...), 2 bad usage or bad input.  The table in
 * main.c lists the subcommands; add yours there and declare it below.
 *
 * The tool is the only place in libvtd that prints.
 */
#ifndef VTD_TOOL_H
#define VTD_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct vtd_cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary; /* one line for "vtd help" */
};

/* true when argv[i] is -h or --help */
bool tool_is_help(const char *arg);

/* Subcommands (one file each). */
int cmd_help(int argc, char **argv);
int cmd_dmar(int argc, char **argv);
int cmd_walk(int argc, char **argv); /* walk.c */
int cmd_audit(int argc, char **argv); /* audit.c */
int cmd_demo(int argc, char **argv); /* demo.c */
int cmd_run(int argc, char **argv);  /* run.c */
/* toolopt.c: read a whole file ("-": stdin, at most 1 GiB); NULL with errno set on failure */
char *tool_read_file(const char *path, size_t *len);
/* run.c: read and parse a scenario, printing any error; 0 or 2 */
struct sc_script;
int tool_load_scenario(const char *path, struct sc_script **out);
int cmd_bench(int argc, char **argv); /* bench.c */
/* cmd_demo, cmd_run, cmd_walk, cmd_audit, cmd_dmar, cmd_bench: added by
 * their own files, declared here when they land. */

#endif
