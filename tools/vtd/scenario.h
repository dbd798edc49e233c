/* SPDX-License-Identifier: MIT */
/*
 * Scenarios for `vtd run` (docs/scenario.md): a line-based script that
 * creates units, writes memory and tables, programs registers, issues DMA
 * and interrupt requests and checks the outcomes.
 *
 * A script is parsed completely first (sc_parse: every syntax error, unknown
 * name and bad value is found before anything runs, with file:line:column),
 * then run (sc_run) against fresh sparse memory.  Parsing evaluates `let`
 * and `alloc` (their values are constants of the script); everything that
 * reads the unit or memory happens when it runs.
 *
 * The parser and runner print nothing themselves unless given FILEs to print
 * to, so the fuzz target can drive both silently.
 */
#ifndef VTD_TOOL_SCENARIO_H
#define VTD_TOOL_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <vtd/vtd.h>

struct sc_script;
struct sc_world;

/* Bounds on what a script may ask for (a fuzzer sets small ones). */
struct sc_limits {
    unsigned max_lines;    /* lines in the file */
    unsigned max_commands; /* commands executed (each line once; no loops exist) */
    uint64_t max_fill;     /* bytes one `fill` may write */
    unsigned max_units;    /* units one script may create */
    uint32_t max_cache;    /* entries a unit's cache may be given (iotlb=, pwc=, ...) */
};
/* The limits `vtd run` uses. */
void sc_default_limits(struct sc_limits *lim);

struct sc_error {
    int line, col;  /* 1-based; 0 when not tied to a place */
    char msg[320];
};

/* Parse `len` bytes of `text`; `name` is the file name used in messages.
 * Returns 0 and *out, or 2 with *err filled (syntax error, unknown name,
 * value out of range) or VTD_ENOMEM.  lim NULL: sc_default_limits. */
int sc_parse(const char *name, const char *text, size_t len, const struct sc_limits *lim,
             struct sc_script **out, struct sc_error *err);
void sc_free(struct sc_script *s);

struct sc_run_opts {
    FILE *out;     /* events (text, or JSON lines with json); NULL: silent */
    FILE *err;     /* failed expectations and run-time errors; NULL: silent */
    bool json;     /* out gets one JSON object per event */
    bool verbose;  /* text mode: also every register access */
    int stop_line; /* >0: run only the commands on lines up to this one */
};

/* Run a parsed script.  Returns 0 when every expectation held, 1 when at
 * least one failed (each printed to err with its file:line:col), 2 when the
 * script could not run to its end (a unit the model refused, memory
 * exhausted, limits exceeded: printed to err).  With keep non-NULL the
 * world (memory and units) is handed to the caller instead of destroyed
 * (sc_world_destroy). */
int sc_run(const struct sc_script *s, const struct sc_run_opts *opts, struct sc_world **keep);

/* The current unit of a world kept by sc_run (NULL when the script made none). */
struct vtd *sc_world_unit(struct sc_world *w);
void sc_world_destroy(struct sc_world *w);

#endif
