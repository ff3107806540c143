/* SPDX-License-Identifier: MIT */
/*
 * source.c - what deploy writes: a raw image and its block map, from a
 * local file or an https URL (http.c), with the map checked against the
 * image before anything is written.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/deploy/deploy.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"
#include "lib/net/range.h"

void deploy_source_free(struct deploy_source *s)
{
	if (!s)
		return;
	safe_close(s->fd);
	net_range_free(s->http);
	bmap_free(s->bmap);
	free(s->name);
	free(s->url);
	free(s->bmap_name);
	free(s);
}

int deploy_source_read(struct deploy_source *s, uint64_t off, void *buf, size_t n,
		       char **reterr_msg)
{
	if (s->http)
		return net_range_read(s->http, off, buf, n, reterr_msg);
	for (size_t done = 0; done < n;) {
		ssize_t k = pread(s->fd, (uint8_t *)buf + done, n - done, (off_t)(off + done));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errmsg_errno(reterr_msg, errno, "cannot read '%s': %m", s->name);
		if (k == 0)
			return errmsg_set(reterr_msg, -EIO,
					  "'%s' ends at %" PRIu64 " bytes, before the %" PRIu64
					  " its block map says (truncated?)",
					  s->name, off + done, s->bmap->image_size);
		done += (size_t)k;
	}
	return 0;
}

/* IMAGE.bmap, else IMAGE with its extension replaced (as bmaptool looks); for
 * a URL the latter, as the build names it (NAME.raw, NAME.bmap). */
static char *bmap_beside(const char *image, bool local)
{
	char *p = strjoin(image, ".bmap");
	if (!p || (local && access(p, F_OK) == 0))
		return p;
	const char *slash = strrchr(image, '/'), *dot = strrchr(image, '.');
	if (!dot || (slash && dot < slash))
		return p;
	free(p);
	_cleanup_free_ char *stem = strndup(image, (size_t)(dot - image));
	return stem ? strjoin(stem, ".bmap") : NULL;
}

static int read_local_bmap(struct deploy_source *s, char **ret, size_t *ret_len, char **reterr_msg)
{
	_cleanup_close_ int fd = open(s->bmap_name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errmsg_errno(
			reterr_msg, errno,
			"cannot open the block map '%s' (make it with enlighten build or "
			"bmaptool create; or give --bmap): %m",
			s->bmap_name);
	int r = fs_read_fd(fd, BMAP_MAX_FILE, ret, ret_len);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot read the block map '%s': %m",
				    s->bmap_name);
	return 0;
}

static int http_source_open(struct deploy_source *s, const struct deploy_source_opts *o, char **ret,
			    size_t *ret_len, char **reterr_msg)
{
	struct net_range_opts no = { .cainfo = o->cainfo,
				     .allow_http = o->allow_http,
				     .retries = -1 };
	bool https =
		strncmp(o->image, "https://", 8) == 0 && strncmp(s->bmap_name, "https://", 8) == 0;
	bool http =
		strncmp(o->image, "http://", 7) == 0 || strncmp(s->bmap_name, "http://", 7) == 0;
	if (!https && !(http && o->allow_http))
		return errmsg_set(reterr_msg, -EPROTONOSUPPORT,
				  "'%s': only https URLs are a deploy source", o->image);
	int r = net_get_small(s->bmap_name, &no, BMAP_MAX_FILE, ret, ret_len, reterr_msg);
	if (r >= 0)
		r = net_range_new(o->image, &no, &s->http, reterr_msg);
	return r;
}

static int check_remote_size(struct deploy_source *s, char **reterr_msg)
{
	uint64_t size;
	int r = net_range_size(s->http, &size, reterr_msg);
	if (r < 0)
		return r;
	if (size != s->bmap->image_size)
		return errmsg_set(reterr_msg, -EBADMSG,
				  "the block map '%s' does not match its image '%s': %" PRIu64
				  " bytes in the map, %" PRIu64 " on the server",
				  s->bmap_name, s->name, s->bmap->image_size, size);
	return 0;
}

/* The GPT's sector size: "EFI PART" at 512 or at 4096. */
static int detect_sector_size(struct deploy_source *s, char **reterr_msg)
{
	uint8_t buf[4096 + 8];
	s->sector_size = 0;
	if (s->bmap->image_size < sizeof(buf))
		return 0;
	int r = deploy_source_read(s, 0, buf, sizeof(buf), reterr_msg);
	if (r < 0)
		return r;
	if (memcmp(buf + 512, "EFI PART", 8) == 0)
		s->sector_size = 512;
	else if (memcmp(buf + 4096, "EFI PART", 8) == 0)
		s->sector_size = 4096;
	return 0;
}

static int check_local_size(struct deploy_source *s, char **reterr_msg)
{
	struct stat st;
	if (fstat(s->fd, &st) < 0)
		return errmsg_errno(reterr_msg, errno, "cannot stat '%s': %m", s->name);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return errmsg_set(reterr_msg, -EINVAL, "'%s' is not a raw image file", s->name);
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size != s->bmap->image_size)
		return errmsg_set(reterr_msg, -EBADMSG,
				  "the block map '%s' does not match its image '%s': %" PRIu64
				  " bytes in the map, %" PRIu64 " in the image",
				  s->bmap_name, s->name, s->bmap->image_size, (uint64_t)st.st_size);
	return 0;
}

int deploy_source_open(const struct deploy_source_opts *o, struct deploy_source **ret,
		       char **reterr_msg)
{
	struct deploy_source *s = calloc(1, sizeof(*s));
	_cleanup_free_ char *text = NULL, *msg = NULL;
	size_t len = 0;
	int r;

	if (!s)
		return errmsg_oom(reterr_msg);
	s->fd = -EBADF;
	s->name = strdup(o->image);
	bool remote = strstr(o->image, "://") != NULL;
	s->bmap_name = o->bmap ? strdup(o->bmap) : bmap_beside(o->image, !remote);
	if (!s->name || !s->bmap_name) {
		deploy_source_free(s);
		return errmsg_oom(reterr_msg);
	}
	if (remote)
		r = http_source_open(s, o, &text, &len, reterr_msg);
	else {
		s->fd = open(o->image, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		r = s->fd < 0 ? errmsg_errno(reterr_msg, errno, "cannot open '%s': %m", o->image)
			      : read_local_bmap(s, &text, &len, reterr_msg);
	}
	if (r >= 0) {
		r = bmap_parse(text, len, &s->bmap, &msg);
		if (r < 0)
			errmsg_set(reterr_msg, r, "the block map '%s' is not usable: %s",
				   s->bmap_name, msg);
	}
	if (r >= 0)
		r = sha256_buffer(text, len, s->bmap_sha256);
	if (r >= 0 && !remote)
		r = check_local_size(s, reterr_msg);
	if (r >= 0 && s->http)
		r = check_remote_size(s, reterr_msg);
	if (r >= 0)
		r = detect_sector_size(s, reterr_msg);
	if (r < 0) {
		deploy_source_free(s);
		return r;
	}
	*ret = s;
	return 0;
}
