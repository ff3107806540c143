/* SPDX-License-Identifier: MIT */
/*
 * cli.h - what the three programs' mains share: the version line, the
 * verbosity flags, and the convention for exit codes.
 */
#pragma once

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

static inline int cli_version(const char *program)
{
	printf("%s %s\n", program, VERSION);
	return EXIT_OK;
}

/* Directory with the installed data (profiles, templates): $ENLIGHTEN_DATADIR
 * or the configured datadir. */
const char *cli_datadir(void);
