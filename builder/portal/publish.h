/* SPDX-License-Identifier: MIT */
/*
 * publish.h - the download portal: payload directories in, a static tree
 * with the payloads, the signed catalog and index.html out.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/trust/minisign.h"

#define PORTAL_DEFAULT_TITLE "Integration components"

struct publish_options {
	const char *out;   /* the portal tree; created, re-publishing updates it */
	const char *url;   /* its public address for the page, or NULL */
	const char *title; /* NULL: PORTAL_DEFAULT_TITLE */
	uint64_t valid_days;
	const struct minisign_seckey *key; /* signs the catalog */
	char *const *dirs;		   /* payload directories, each indexed */
	char *const *agents;		   /* agent files offered and signed, or NULL */
	const char *datadir;		   /* the page template */
};

/* Publishes; returns 0 with the new catalog's version and its number of
 * payloads, or -errno with a sentence in *reterr_msg. */
int portal_publish(const struct publish_options *o, uint64_t *ret_version, size_t *ret_n,
		   char **reterr_msg);
