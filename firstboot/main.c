/* SPDX-License-Identifier: MIT */
/*
 * main.c - enlighten-firstboot, the light half of the agent (agent.h):
 * detect, compare with state.json, and exit when nothing changed; else
 * hand over to enlighten-firstboot-apply with the same arguments. First,
 * when the root can grow to fill a larger disk, the heavy half grows it
 * (--grow-root), so the light half needs no libfdisk.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firstboot/agent.h"
#include "firstboot/growroot.h"
#include "lib/activate/bootcount.h"
#include "lib/activate/paths.h"
#include "lib/basic/cli.h"
#include "lib/basic/fs.h"
#include "lib/basic/log.h"
#include "lib/basic/spawn.h"
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

/* On the running system, unless GrowRoot=no: a root that can grow is grown
 * by the heavy half before anything is activated. A root that cannot
 * (not the last partition, not ext4) is reported and left as it is. */
static void grow_root(const struct agent *a, char *helper)
{
	_cleanup_free_ char *err = NULL;
	struct growroot g;
	if (a->plan || a->config.no_grow_root || !streq(a->root, "/"))
		return;
	int r = growroot_probe(a->root_fd, &g, &err);
	if (r < 0)
		log_warning("%s", err);
	if (r <= 0)
		return;

	char *args[] = { helper, (char *)"--grow-root", NULL };
	struct spawn_opts o = { .stdin_fd = -1,
				.stdout_fd = STDOUT_FILENO,
				.inherit_stderr = true };
	struct spawn_result res = {};
	r = spawn_run(args, &o, &res);
	if (r < 0)
		log_warning_errno(r, "cannot run '%s --grow-root': %m", helper);
	spawn_result_done(&res);
}

/* A boot from the host-only entry reached the agent: its initrd works here,
 * so the entry gets its full count of tries again (bootcount.h). */
static void reset_boot_count(const struct agent *a)
{
	_cleanup_free_ char *cmdline = NULL, *path = NULL;
	if (a->plan || fs_read_file_at(a->root_fd, "proc/cmdline", 64 * 1024, &cmdline, NULL) < 0)
		return;
	int r = bootcount_reset(a->root_fd, cmdline, &path);
	if (r < 0)
		log_warning_errno(r, "cannot reset the boot counter of the host-only entry: %m");
	else if (r > 0)
		log_notice("booted from the host-only entry: '/%s' has %d tries again", path,
			   BOOTCOUNT_TRIES);
}

int main(int argc, char *argv[])
{
	struct agent a;
	int r = agent_init(&a, argc, argv);
	if (r >= 0) {
		agent_done(&a);
		return r;
	}
	_cleanup_free_ char *helper = helper_path();
	if (!helper)
		return agent_done(&a), log_oom(), EXIT_USAGE;
	if (!a.grow_only) {
		grow_root(&a, helper);
		reset_boot_count(&a);
		if (agent_fast_path(&a)) {
			agent_done(&a);
			return EXIT_OK;
		}
	}
	agent_done(&a);
	argv[0] = helper;
	execv(helper, argv);
	log_error_errno(errno, "cannot run '%s': %m", helper);
	return EXIT_USAGE;
}
