/* SPDX-License-Identifier: MIT */
/*
 * probe-read.c - bounded reads beneath the probe root that turn every bad
 * signal (a directory or FIFO where a file should be, a huge file, binary
 * junk, no permission) into one line of evidence and carry on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detect/probe.h"
#include "lib/basic/fs.h"
#include "lib/basic/string-util.h"

static int note(struct probe_ctx *ctx, const char *source, const char *path, int r, size_t max)
{
	switch (r) {
	case -ENOENT:
		return r;
	case -ENOMEM:
		ctx->oom = true;
		return r;
	case -EISDIR:
		evidence_add(ctx, source, "'%s': a directory where a file should be, ignored",
			     path);
		break;
	case -EINVAL:
		evidence_add(ctx, source,
			     "'%s': not a regular file (FIFO, device or socket), ignored", path);
		break;
	case -EFBIG:
		evidence_add(ctx, source, "'%s': larger than %zu bytes, ignored", path, max);
		break;
	case -EBADMSG:
		evidence_add(ctx, source, "'%s': binary junk, not text, ignored", path);
		break;
	default:
		evidence_add(ctx, source, "'%s': unreadable (%s), ignored", path, strerror(-r));
	}
	return r;
}

int probe_read(struct probe_ctx *ctx, const char *source, const char *path, size_t max, char **ret,
	       size_t *ret_size)
{
	int r = fs_read_file_at(ctx->root_fd, path, max, ret, ret_size);
	return r < 0 ? note(ctx, source, path, r, max) : 0;
}

int probe_read_value(struct probe_ctx *ctx, const char *source, const char *path, char **ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t n;
	int r = probe_read(ctx, source, path, VALUE_MAX, &buf, &n);
	if (r < 0)
		return r;
	r = value_first_line(buf, n, ret);
	return r < 0 ? note(ctx, source, path, r, VALUE_MAX) : 0;
}

int probe_read_head(struct probe_ctx *ctx, const char *source, const char *path, size_t max,
		    char **ret, size_t *ret_size)
{
	_cleanup_close_ int fd =
		fs_open_beneath(ctx->root_fd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
	struct stat st;
	size_t n = 0;

	if (fd < 0)
		return note(ctx, source, path, fd, max);
	if (fstat(fd, &st) < 0)
		return note(ctx, source, path, negative_errno(), max);
	if (S_ISDIR(st.st_mode))
		return note(ctx, source, path, -EISDIR, max);
	if (!S_ISREG(st.st_mode))
		return note(ctx, source, path, -EINVAL, max);

	_cleanup_free_ char *buf = malloc(max + 1);
	if (!buf)
		return note(ctx, source, path, -ENOMEM, max);
	while (n < max) {
		ssize_t k = read(fd, buf + n, max - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return note(ctx, source, path, negative_errno(), max);
		if (k == 0)
			break;
		n += (size_t)k;
	}
	buf[n] = '\0';
	*ret = TAKE_PTR(buf);
	if (ret_size)
		*ret_size = n;
	return 0;
}

int probe_list_dir(struct probe_ctx *ctx, const char *source, const char *path,
		   void (*fn)(struct probe_ctx *ctx, const char *name, void *userdata),
		   void *userdata)
{
	_cleanup_strv_free_ char **names = NULL;
	int r = fs_list_dir(
		ctx->root_fd, path,
		&(struct fs_list_opts){ .hidden = true, .max = DIR_MAX_ENTRIES, .truncate = true },
		&names);
	if (r < 0)
		return note(ctx, source, path, r, 0);
	int count = 0;
	STRV_FOREACH(n, names)
	{
		count++;
		if (fn)
			fn(ctx, *n, userdata);
	}
	if (r > 0)
		evidence_add(ctx, source, "'%s': more than %d entries, the rest ignored", path,
			     DIR_MAX_ENTRIES);
	return count;
}

bool probe_exists(struct probe_ctx *ctx, const char *path)
{
	_cleanup_close_ int fd = fs_open_beneath(ctx->root_fd, path, O_PATH, 0);
	return fd >= 0;
}
