/* SPDX-License-Identifier: MIT */
/*
 * closure.h - the dependency closure of a profile, solved with libsolv:
 * the packages of the payload repository that an install of the profile's
 * packages on a base root needs, given what the base has installed (its
 * dpkg status, or its rpm database). The image builder stages exactly the
 * closure of each staged profile; `enlighten payload list --closure` shows
 * it (docs/payload-closure.md).
 *
 *     _cleanup_closure_ struct closure *c = NULL;
 *     r = closure_new("base.tar.zst", repo_fd, cat, &c, &err);
 *     r = closure_solve(c, matrix, "kvm-guest", &idx, &n, &err);
 *
 * Every function returns 0 or -errno with *reterr_msg a sentence naming
 * the file or the profile at fault:
 *   -ENOPKG    the base has no package database (closure_new)
 *   -EBADMSG   a package or the base's database cannot be read
 *   -E2BIG     the base's database is larger than CLOSURE_MAX_DB_BYTES
 *   -ESRCH     the profile cannot be solved: libsolv's problems, each with
 *              the package and the capability nothing provides
 */
#pragma once

#include <stddef.h>

#include "lib/activate/profile.h"
#include "lib/trust/catalog.h"

#define CLOSURE_MAX_STATUS_BYTES (64ULL << 20) /* var/lib/dpkg/status */
#define CLOSURE_MAX_DB_BYTES (1ULL << 30)      /* every rpm database file together */
#define CLOSURE_MAX_PROBLEMS 16		       /* problems quoted in a message */

struct closure;

/* Reads the base tarball's package database (and nothing else of it) and
 * every payload of the catalog that its package manager installs, from
 * their files beneath repo_fd (already verified against the catalog). cat
 * must outlive the closure. */
int closure_new(const char *base_tarball, int repo_fd, const struct catalog *cat,
		struct closure **ret, char **reterr_msg);
struct closure *closure_free(struct closure *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct closure *, closure_free);
#define _cleanup_closure_ _cleanup_(closure_freep)

/* The base's rpm database, copied into a private root (valid until the
 * closure is freed), or NULL for a dpkg base. */
const char *closure_rpm_root(const struct closure *c);

/* Solves the install of profile's packages: the matrix's Packages= as the
 * base's family names them, and the repository's packages that serve the
 * profile directly (enlighten-ic-PROFILE, a provided enlighten-profile
 * marker, a name in the matrix; every RPM the catalog tags with it). On
 * success *ret_idx holds the indices into the catalog's payloads of the
 * packages the install takes from the repository, ascending (*ret_n of
 * them; NULL when none). */
int closure_solve(struct closure *c, const struct profile_set *matrix, const char *profile,
		  size_t **ret_idx, size_t *ret_n, char **reterr_msg);
