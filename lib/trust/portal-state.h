/* SPDX-License-Identifier: MIT */
/*
 * portal-state.h - what a machine remembers of the portal catalogs it has
 * trusted: per product and channel, the last catalog version and the
 * sha256 of its bytes (portal-state.json in the state directory, written
 * atomically). catalog_check_rollback() compares a new catalog with it.
 *
 *   {"schema":1,"catalogs":{"enlighten/stable":{"version":7,"sha256":"..."}}}
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/basic/hash.h"

#define PORTAL_STATE_FILE "portal-state.json"
#define PORTAL_STATE_MAX (1u << 20)

struct portal_seen {
	bool known; /* false: nothing recorded for this key yet */
	uint64_t version;
	uint8_t sha256[SHA256_DIGEST_SIZE];
};

/* Reads the entry for key ("product/channel") from PORTAL_STATE_FILE in
 * state_dir. A missing file or entry gives known = false. A malformed file
 * gives -EBADMSG with *reterr_msg. */
int portal_state_get(const char *state_dir, const char *key, struct portal_seen *ret,
		     char **reterr_msg);

/* Records version and sha256 for key, keeping the other entries; creates
 * state_dir when missing. */
int portal_state_put(const char *state_dir, const char *key, uint64_t version,
		     const uint8_t sha256[SHA256_DIGEST_SIZE], char **reterr_msg);
