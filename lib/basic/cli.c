/* SPDX-License-Identifier: MIT */
/*
 * cli.c - shared program settings.
 */
#include <stdlib.h>

#include "lib/basic/cli.h"

#ifndef DATADIR
#define DATADIR "/usr/local/share/enlighten"
#endif

const char *cli_datadir(void)
{
	const char *e = getenv("ENLIGHTEN_DATADIR");
	return e && *e ? e : DATADIR;
}
