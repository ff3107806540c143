/* SPDX-License-Identifier: MIT */
/*
 * grow.c - the heavy half's --grow-root: the root partition and its ext4
 * grown to fill the disk (growroot.h), and the outcome logged. The light
 * half runs it before activating, when growroot_probe() finds room.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "firstboot/agent.h"
#include "firstboot/growroot.h"
#include "lib/basic/cli.h"
#include "lib/basic/log.h"
#include "lib/basic/string-util.h"

int agent_grow_root(struct agent *a)
{
	_cleanup_free_ char *err = NULL;
	struct growroot g;
	uint64_t grown = 0;

	if (!streq(a->root, "/")) {
		log_error("--grow-root acts on the running system only, not on '%s'", a->root);
		return EXIT_USAGE;
	}
	int r = growroot_probe(a->root_fd, &g, &err);
	if (r < 0) {
		log_warning("%s", err);
		return EXIT_NO;
	}
	if (r == 0) {
		log_info("the root fills its disk; nothing to grow");
		return EXIT_OK;
	}
	r = growroot_run(a->root_fd, &g, &grown, &err);
	if (r < 0) {
		log_warning("cannot grow the root: %s; the next boot tries again", err);
		return EXIT_NO;
	}
	log_notice("grew the root: partition %u of '/dev/%s' to the disk's end (%" PRIu64
		   " MiB), its ext4 from %" PRIu64 " to %" PRIu64 " MiB",
		   g.partno, g.disk, g.disk_size >> 20, g.fs_size >> 20, grown >> 20);
	return EXIT_OK;
}
