/* SPDX-License-Identifier: MIT */
/*
 * cmd-help.c - `enlighten help`: the synopsis and the verb table.
 */
#include <stdio.h>

#include "builder/verbs.h"
#include "lib/basic/cli.h"
#include "lib/basic/macro.h"

int cmd_help(int argc _unused_, char *argv[] _unused_)
{
	printf("Usage: enlighten [--quiet | --verbose] VERB [OPTIONS...]\n"
	       "       enlighten --help | --version\n"
	       "\n"
	       "Build enlightened factory images, and install integration components.\n"
	       "\n"
	       "Verbs:\n");
	for (unsigned i = 0; i < enlighten_n_verbs; i++)
		printf("  %-12s %s\n", enlighten_verbs[i].name, enlighten_verbs[i].summary);
	printf("\n"
	       "Options:\n"
	       "  -q, --quiet     show warnings and errors only, no progress bars\n"
	       "  -v, --verbose   show debug messages\n"
	       "  -h, --help      show this help\n"
	       "  -V, --version   show the version\n"
	       "\n"
	       "'enlighten VERB --help' shows a verb's options; man enlighten has the details.\n");
	return EXIT_OK;
}
