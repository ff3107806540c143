/* SPDX-License-Identifier: MIT */
/*
 * overlay.h - files from a directory or a tarball laid over the base root
 * ([Base] Overlays=, docs/recipe-format.md), like mkosi's ExtraTrees and
 * KIWI's root/ overlay.
 */
#pragma once

#include <stdint.h>
#include <time.h>

#include "builder/image/fs-ext4.h"
#include "lib/basic/hash.h"

struct overlay_opts {
	time_t now;	     /* a directory's entries get this time (SOURCE_DATE_EPOCH) */
	uint64_t max_bytes;  /* file data cap: the root partition's size */
	ext4_skip_fn skip;   /* may be NULL: generalization, as for the base */
	void *skip_userdata; /* for skip */
};

/* Adds the overlay at path (a directory, or a tarball in any format and
 * compression the base may have) over what e holds: entries replace files
 * at their paths, directories already there keep their owner and mode, and
 * every entry is checked as a base tarball's (no '..', no absolute name, no
 * write through a symlink). A tarball's owners and modes are kept; a
 * directory's entries are owned by root, 0755 or 0644 by the owner's
 * execute bit (symlinks kept as they are, device nodes, FIFOs and sockets
 * refused). *ret_sha and *ret_size are the tarball's, for a directory the
 * canonical tarball made of it. 0, or -errno with a message naming the
 * overlay and the entry. */
int overlay_add(struct ext4 *e, const char *path, const struct overlay_opts *o,
		uint8_t ret_sha[SHA256_DIGEST_SIZE], uint64_t *ret_size, char **reterr_msg);
