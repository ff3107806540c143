/* SPDX-License-Identifier: MIT */
/*
 * inject.h - what the builder adds to the base root filesystem: the local
 * payload repository, the trusted key, the profile matrix, the first-boot
 * agent and its enabled unit, fstab, host name, locale and time zone.
 */
#pragma once

#include <json-c/json.h>

#include <stdbool.h>
#include <stdint.h>

#include "builder/image/fs-ext4.h"

struct catalog;

struct inject_opts {
	int repo_fd;		       /* the payload source directory, or -EBADF */
	const struct catalog *catalog; /* signature verified; payloads checked on copy */
	const char *public_key;	       /* NULL when no payloads */
	const char *profiles_dir;      /* the profile matrix, or NULL */
	char *const *profiles;	       /* staged profiles, NULL: all */
	const bool *staged;	       /* per payload: into the repository (stage.h) */
	json_object *closure;	       /* the closure file, or NULL */
	char *const *package_keys;     /* armored key files for the image's rpm trust */
	const char *agent_binary;
	const char *agent_unit_template; /* enlighten-firstboot.service.in */
	const char *root_partuuid;
	const char *esp_partuuid;
	const char *hostname, *locale, *timezone; /* each may be NULL */
	bool no_grow_root; /* the agent told not to grow the root (firstboot.conf) */
	const char *image_name;
	int64_t source_date_epoch;
	json_object *windows;	  /* a dual disk's Windows half, for build.json; NULL: none */
	json_object *generalized; /* what generalization left out, for build.json; NULL: kept */
};

int inject_all(struct ext4 *e, const struct inject_opts *o, char **reterr_msg);
