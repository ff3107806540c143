/* SPDX-License-Identifier: MIT */
/*
 * manifest.h - NAME.manifest.json beside a build's artefacts: each
 * artefact's size and sha256, the inputs and their sha256, the recipe's hash,
 * the partitions and the tool version, in a fixed order, so the same build
 * gives the same bytes.
 */
#pragma once

#include <stdint.h>

#include "builder/image/image.h"
#include "lib/basic/hash.h"

struct manifest;

int manifest_new(const char *image, const char *recipe,
		 const uint8_t recipe_sha[SHA256_DIGEST_SIZE], int64_t source_date_epoch,
		 struct manifest **ret);
void manifest_free(struct manifest *m);
int manifest_add_input(struct manifest *m, const char *role, const char *name,
		       const uint8_t sha[SHA256_DIGEST_SIZE], uint64_t size);
/* A file the build made inside the image that the agent reads (path inside
 * the image, absolute): listed under "contents" with its size and sha256. */
int manifest_add_content(struct manifest *m, const char *path,
			 const uint8_t sha[SHA256_DIGEST_SIZE], uint64_t size);
int manifest_add_artefact(struct manifest *m, const char *file, const char *format, uint64_t size,
			  const uint8_t sha[SHA256_DIGEST_SIZE]);
/* The raw image: its digest is its block map's, the artefact named bmap
 * (listed next with its sha256), which covers its mapped bytes. */
int manifest_add_raw(struct manifest *m, const char *file, uint64_t size, const char *bmap,
		     uint64_t mapped);
int manifest_add_partition(struct manifest *m, const struct image_slot *s, const char *fs);
int manifest_set_disk(struct manifest *m, const char *disk_uuid, uint64_t size);
/* SHA-256 of all of fd, reading only its data: holes (SEEK_HOLE) are hashed
 * as zeros from memory, so a sparse disk image is not read in full. */
int sha256_sparse_fd(int fd, uint8_t out[SHA256_DIGEST_SIZE], uint64_t *ret_size);

/* Writes atomically to path beneath dir_fd. */
int manifest_write(struct manifest *m, int dir_fd, const char *path);
