/* SPDX-License-Identifier: MIT */
/*
 * sources.h - what the agent plans from: the detector's verdict and the
 * image's local repository (signed catalog + payload files).
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firstboot/config.h"
#include "lib/activate/plan.h"
#include "lib/basic/hash.h"

struct fb_verdict {
	char *hypervisor;  /* "microsoft", "xen", ..., "none" */
	char *role;	   /* "guest", "root", "dom0", "none" */
	char *profile;	   /* the detector's profile, NULL when it has none */
	char *container;   /* "docker", "lxc", ... on a live system in a container, else NULL */
	json_object *json; /* the whole verdict with its evidence: fb_verdict_json() */
	void *raw;	   /* the detector's verdict, for fb_verdict_json() */
};

void fb_verdict_done(struct fb_verdict *v);

/* The verdict as JSON (built on first use, owned by v); NULL on OOM. */
json_object *fb_verdict_json(struct fb_verdict *v);

/* Runs the detector beneath root (NULL: "/", the running system; cpuid_file
 * may be NULL). live: root, though not "/", is a running system's, whose
 * container signals count (tests). */
int fb_detect(const char *root, bool live, const char *cpuid_file, struct fb_verdict *ret,
	      char **reterr_msg);

/* Loads and verifies the repository's catalog with the configured public
 * key(s) and returns its Linux payloads of the format the target's package
 * manager installs (.rpm or .deb), paths beneath the root. -ENOENT
 * with a message when the repository or its catalog is missing; the
 * catalog's errors (signature, parse) otherwise. */
int fb_repo_load(int root_fd, const struct fb_config *c, enum plan_pkg_manager manager,
		 struct plan_payload **ret, size_t *ret_n,
		 uint8_t ret_catalog_sha256[SHA256_DIGEST_SIZE], char **reterr_msg);

void fb_payloads_free(struct plan_payload *p, size_t n);

/* The repository's closure file (closure.json, written by the image
 * builder): the names of the payloads the build solved for profile, each
 * one of payloads; other versions of those names are dropped from
 * payloads (*n adjusted), as the build did not stage them. *ret = NULL when
 * there is no such file or it does not name the profile (the catalog's
 * profile tags decide then). -EBADMSG with a message naming the file for
 * one that is malformed, names a path the catalog does not list, or was
 * not solved against the catalog whose SHA-256 is catalog_sha256 (the one
 * fb_repo_load() verified). */
int fb_repo_closure(int root_fd, const struct fb_config *c, const char *profile,
		    const uint8_t catalog_sha256[SHA256_DIGEST_SIZE], struct plan_payload *payloads,
		    size_t *n, char ***ret, char **reterr_msg);
