/* SPDX-License-Identifier: MIT */
/*
 * bmap.h - the block map of a raw image, in bmaptool's format (version 2.0,
 * SHA-256): which blocks hold data, with a digest for each run of them.
 * Everything outside the runs is zeros. See docs/bmap-format.md.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/basic/hash.h"

#define BMAP_BLOCK_SIZE 4096
/* bounds for a bmap read from an input */
#define BMAP_MAX_FILE (64u << 20)
#define BMAP_MAX_RANGES (1u << 20)

struct bmap_range {
	uint64_t first, last; /* blocks, both included */
	uint8_t sha256[SHA256_DIGEST_SIZE];
};

struct bmap {
	uint64_t image_size;
	uint32_t block_size;
	uint64_t blocks_count; /* image_size in blocks, the last one partial */
	uint64_t mapped_count; /* blocks in the ranges */
	struct bmap_range *ranges;
	size_t n_ranges;
};

void bmap_free(struct bmap *b);
static inline void bmap_freep(struct bmap **b)
{
	bmap_free(*b);
}
#define _cleanup_bmap_ __attribute__((__cleanup__(bmap_freep)))

/* The map of fd's first size bytes: the blocks that are not all zeros, found
 * by reading only the data regions (SEEK_DATA/SEEK_HOLE) and each run hashed
 * as it is read. The same bytes give the same map on any filesystem. */
int bmap_from_fd(int fd, uint64_t size, struct bmap **ret);

/* The XML text, its BmapFileChecksum filled in: a NUL-terminated string. */
int bmap_format(const struct bmap *b, char **ret_text, size_t *ret_len);

/* Parses a bmap read from an input (at most BMAP_MAX_FILE bytes): checks its
 * version, checksum type, the file's own checksum and that the ranges are in
 * order, inside the image and each carries a checksum. */
int bmap_parse(const char *text, size_t len, struct bmap **ret, char **reterr_msg);

/* Bytes of range r within the image (the last block may be partial). */
static inline uint64_t bmap_range_offset(const struct bmap *b, const struct bmap_range *r)
{
	return r->first * b->block_size;
}
uint64_t bmap_range_length(const struct bmap *b, const struct bmap_range *r);
