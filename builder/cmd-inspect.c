/* SPDX-License-Identifier: MIT */
/*
 * cmd-inspect.c - `enlighten inspect IMAGE`: placeholder until the reader lands.
 */
#include <stdio.h>

#include "builder/verbs.h"
#include "lib/cli.h"
#include "lib/macro.h"

int cmd_inspect(int argc _unused_, char *argv[] _unused_)
{
	return EXIT_USAGE;
}
