/* SPDX-License-Identifier: MIT */
/*
 * copy.c - the bounded, hashing copy (copy.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/basic/copy.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"

#define COPY_CHUNK (1u << 20)

int copy_stream(int in, const struct copy_sink *sink, uint64_t max, struct sha256 *h,
		uint64_t *ret_len)
{
	_cleanup_free_ uint8_t *buf = malloc(COPY_CHUNK);
	uint64_t total = 0;
	int r;

	if (!buf)
		return -ENOMEM;
	(void)posix_fadvise(in, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (;;) {
		ssize_t k = read(in, buf, COPY_CHUNK);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (k == 0)
			break;
		if ((uint64_t)k > max - total)
			return -EFBIG;
		total += (uint64_t)k;
		if (h) {
			r = sha256_update(h, buf, (size_t)k);
			if (r < 0)
				return r;
		}
		if (sink->write)
			r = sink->write(sink->userdata, buf, (size_t)k);
		else if (sink->fd >= 0)
			r = fs_write_all(sink->fd, buf, (size_t)k);
		else
			r = 0;
		if (r < 0)
			return r;
	}
	if (ret_len)
		*ret_len = total;
	return 0;
}
