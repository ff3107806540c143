/* SPDX-License-Identifier: MIT */
/*
 * agent.h - the agent files a portal offers beside its payloads (`portal
 * publish --agent FILE`), each signed with the portal's key.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/basic/hash.h"
#include "lib/trust/minisign.h"

#define PORTAL_AGENT_DIR "agent"
#define PORTAL_AGENT_MAX (1024 << 20) /* bytes of one agent file */

struct portal_agent {
	char *name; /* PORTAL_AGENT_DIR/name in the portal, name.minisig beside it */
	uint64_t length;
	uint8_t sha256[SHA256_DIGEST_SIZE];
};

void portal_agents_free(struct portal_agent *a, size_t n);

/* Copies each of files (host paths) to PORTAL_AGENT_DIR/NAME beneath out_fd,
 * NAME its file name, and signs it with sk into NAME.minisig (the trusted
 * comment names the time issued and the file). Two files of one name, a
 * name the page could not carry as it is, and a file that is not regular
 * or larger than PORTAL_AGENT_MAX are refused. 0 with the list, or -errno
 * with a message. */
int portal_agents_add(int out_fd, char *const *files, const struct minisign_seckey *sk,
		      time_t issued, struct portal_agent **ret, size_t *ret_n, char **reterr_msg);
