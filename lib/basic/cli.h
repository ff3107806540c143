/* SPDX-License-Identifier: MIT */
/*
 * cli.h - what the programs' mains share: the version line, the exit codes,
 * the data directory, option parsing that says what went wrong, and the
 * verb dispatcher. This is the command-line boundary: it logs.
 */
#pragma once

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

#ifndef VERSION
#define VERSION "0.0.0"
#endif

/* Exit codes: 0 success, 1 a negative answer or a failed check, 2 usage or
 * internal error (as systemd-detect-virt and the issues specify). */
enum {
	EXIT_OK = 0,
	EXIT_NO = 1,
	EXIT_USAGE = 2,
};

/* Prints "PROGRAM VERSION" and, on a second line, where the data comes from. */
int cli_version(const char *program);

/* The directory of the running program (from /proc/self/exe), or NULL. */
const char *cli_program_dir(void);

/* Directory with the installed data (profiles, templates): $ENLIGHTEN_DATADIR
 * or the configured datadir. */
const char *cli_datadir(void);

/* getopt_long() for a program named PROGRAM ("enlighten build"): reports a
 * bad option itself, in the user's terms, with a suggestion for a misspelt
 * long option, followed by "Try 'PROGRAM --help'.", and returns '?' for it:
 *   enlighten build: unrecognized option '--fromat' (did you mean '--format'?) */
int cli_getopt(int argc, char *argv[], const char *shortopts, const struct option *longopts,
	       const char *program);

/* A verb: argv[0] is its name, it returns an exit code. */
struct verb {
	const char *name;
	const char *summary; /* one line, shown by the program's help */
	int (*run)(int argc, char *argv[]);
};

/* Runs the verb of the n in the table that argv[0] names, with getopt reset
 * for it. For a name not in the table, logs "unknown verb of PROGRAM 'x'"
 * with a suggestion or where the list is, and returns EXIT_USAGE. */
int verb_dispatch(const char *program, const struct verb *verbs, size_t n, int argc, char *argv[]);
