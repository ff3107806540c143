/* SPDX-License-Identifier: MIT */
/*
 * stage.h - which Linux payloads of the verified catalog go into the
 * image's repository: for each staged profile, the dependency closure of
 * its packages on the base (builder/payload/closure.h), so that the agent
 * installs a complete set at first boot; and the closure file that tells
 * the agent which packages each profile takes (docs/payload-closure.md).
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "lib/activate/profile.h"
#include "lib/trust/catalog.h"

struct stage {
	bool *staged;	      /* per catalog payload: into the image's repository */
	json_object *closure; /* {"schema":1,"profiles":{"P":["path",...]}}, or NULL */
	char *warning;	      /* why there is no closure or key check, or NULL */
};

void stage_done(struct stage *s);

/* Solves every staged profile (profiles; NULL or empty: the whole matrix)
 * on base_tarball. A catalog without packages, or a base without a
 * package database (s->warning says so), stages the Linux payloads as the
 * catalog tags them, with no closure. The packages' headers are read here,
 * before any payload is hashed: inject.c hashes each staged payload as it
 * copies it, and the build hashes the others after this (build-inputs.c). On an rpm
 * base every staged RPM must verify with the keys the image will trust:
 * those of the base's rpm database and package_keys (armored files).
 * Returns 0, or -errno with *reterr_msg naming the profile, the package
 * and what nothing provides, or the package that would not verify. */
int stage_plan(const char *base_tarball, int repo_fd, const struct catalog *cat,
	       const struct profile_set *matrix, char *const *profiles, char *const *package_keys,
	       struct stage *s, char **reterr_msg);
