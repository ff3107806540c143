/* SPDX-License-Identifier: MIT */
/*
 * main.c - enlighten-firstboot, the light half of the agent (agent.h):
 * detect, compare with state.json, and exit when nothing changed; else
 * hand over to enlighten-firstboot-apply with the same arguments.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firstboot/agent.h"
#include "lib/activate/paths.h"
#include "lib/basic/cli.h"
#include "lib/basic/log.h"
#include "lib/basic/string-util.h"

#ifndef LIBEXECDIR
#define LIBEXECDIR "/usr/libexec/enlighten"
#endif

/* The heavy half: beside this program (the build tree), in the libexec
 * directory relative to it (an install under any DESTDIR), or where it was
 * configured to be installed. */
static char *helper_path(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		char *p = NULL;
		if (slash) {
			*slash = '\0';
			if (agent_helper_find(self, &p) == 0)
				return p;
		}
	}
	return strdup(LIBEXECDIR "/" IMAGE_AGENT_HELPER_NAME);
}

int main(int argc, char *argv[])
{
	struct agent a;
	int r = agent_init(&a, argc, argv);
	if (r >= 0) {
		agent_done(&a);
		return r;
	}
	if (agent_fast_path(&a)) {
		agent_done(&a);
		return EXIT_OK;
	}
	agent_done(&a);

	_cleanup_free_ char *helper = helper_path();
	if (!helper)
		return log_oom(), EXIT_USAGE;
	argv[0] = helper;
	execv(helper, argv);
	log_error_errno(errno, "cannot run '%s': %m", helper);
	return EXIT_USAGE;
}
