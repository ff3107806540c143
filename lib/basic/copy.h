/* SPDX-License-Identifier: MIT */
/*
 * copy.h - the one bounded copy: a stream read once, its bytes written to a
 * sink and fed to a SHA-256 on the way, so what is copied is what is checked.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/basic/hash.h"

/* Where copy_stream() puts the bytes. */
struct copy_sink {
	int fd; /* written with fs_write_all() when write is NULL; -1: nowhere */
	/* else called for each chunk; a negative return stops the copy */
	int (*write)(void *userdata, const void *buf, size_t n);
	void *userdata;
};
#define COPY_SINK_FD(f) (&(struct copy_sink){ .fd = (f) })
#define COPY_SINK_NONE COPY_SINK_FD(-1)

/* Reads in from its offset to the end, writing each chunk to sink and feeding
 * it to h (NULL: no hash). More than max bytes: -EFBIG, and nothing past max
 * is written. ret_len (may be NULL) gets the bytes copied. Returns 0 or
 * -errno (the sink's, or the read's). */
int copy_stream(int in, const struct copy_sink *sink, uint64_t max, struct sha256 *h,
		uint64_t *ret_len);
