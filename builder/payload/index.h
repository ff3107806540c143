/* SPDX-License-Identifier: MIT */
/*
 * index.h - the payload indexer: every payload under a directory into a
 * catalog (docs/catalog-format.md), written as DIR/catalog.json.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/activate/profile.h"
#include "lib/trust/catalog.h"
#include "lib/trust/rpm.h"

/* The version of DIR/catalog.json, or 0 when there is none. */
int payload_index_existing_version(int dir_fd, uint64_t *ret, char **reterr_msg);

/* The installed profile matrix under datadir; *ret = NULL when there is none. */
int payload_index_load_matrix(const char *datadir, struct profile_set **ret, char **reterr_msg);

struct payload_index_result {
	char **warnings; /* files left out and the like, for the caller to log */
	bool skipped;	 /* files that are not payloads were left out */
};

void payload_index_result_done(struct payload_index_result *res);

/* Adds every payload under dir_fd (named dir in messages) to cat, RPM
 * signatures checked with keyring when given, Windows packages tagged from
 * matrix when given; writes DIR/catalog.json and removes a stale signature.
 * Returns 0 or -errno with a sentence in *reterr_msg; on failure nothing is
 * written. Either way *ret is filled (payload_index_result_done()). */
int payload_index(int dir_fd, const char *dir, const struct rpm_keyring *keyring,
		  const struct profile_set *matrix, struct catalog *cat,
		  struct payload_index_result *ret, char **reterr_msg);
