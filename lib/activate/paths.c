/* SPDX-License-Identifier: MIT */
/*
 * paths.c - the lookup of the agent's heavy half (paths.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/activate/paths.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

int agent_helper_find(const char *agent_dir, char **ret)
{
	static const char *const rel[] = { "/" IMAGE_AGENT_HELPER_NAME,
					   "/../libexec/enlighten/" IMAGE_AGENT_HELPER_NAME };
	for (size_t i = 0; i < ELEMENTSOF(rel); i++) {
		char *p = strjoin(agent_dir, rel[i]);
		if (!p)
			return -ENOMEM;
		if (access(p, X_OK) == 0) {
			*ret = p;
			return 0;
		}
		free(p);
	}
	return -ENOENT;
}
