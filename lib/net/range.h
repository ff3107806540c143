/* SPDX-License-Identifier: MIT */
/*
 * range.h - reading a large remote file piece by piece with HTTP range
 * requests (libcurl, one connection kept open): deploy reads only the mapped
 * blocks of an image on a portal or mirror. A response cut short is resumed
 * from the byte where it stopped; the first answer's ETag goes with every
 * later request as If-Range, so a file that changes on the server stops the
 * read instead of mixing two versions.
 *
 * Limits: https only (plus http with allow_http), no redirect to a weaker
 * scheme, at most 5 redirects, connect timeout 30 s, below 1 KiB/s for 30 s
 * is a failure, each response capped at the bytes asked for.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct net_range;

struct net_range_opts {
	const char *cainfo; /* NULL: the system's bundle */
	bool allow_http;
	int retries; /* resumptions of one read after a failure; < 0: 4 */
};

int net_range_new(const char *url, const struct net_range_opts *o, struct net_range **ret,
		  char **reterr_msg);
void net_range_free(struct net_range *r);

/* Exactly n bytes at off. -EIO (with a message) when the server does not
 * answer with that range, the file changed or the retries ran out. */
int net_range_read(struct net_range *r, uint64_t off, void *buf, size_t n, char **reterr_msg);

/* The file's size from the server (Content-Range of a one-byte read). */
int net_range_size(struct net_range *r, uint64_t *ret, char **reterr_msg);

/* A whole small file (at most max bytes) with the same limits; *ret is
 * NUL-terminated. */
int net_get_small(const char *url, const struct net_range_opts *o, size_t max, char **ret,
		  size_t *ret_len, char **reterr_msg);
