/* SPDX-License-Identifier: MIT */
/*
 * pick.c - which disk an unattended installer writes (`deploy --pick`): the
 * one empty disk large enough, or the disk a serial or a /dev path names.
 * Every whole disk in /sys/block is looked at; what was not picked is
 * listed with the reason, so a console shows why nothing was written.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "builder/deploy/deploy.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

#define PICK_DISKS_MAX 256

/* /sys/block/NAME/FIELD as a number, or -1. */
static long block_number(const char *name, const char *field)
{
	char path[PATH_MAX];
	_cleanup_free_ char *v = NULL;
	size_t n;
	snprintf(path, sizeof(path), "/sys/block/%s/%s", name, field);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fs_read_fd(fd, 64, &v, &n) < 0)
		return -1;
	return strtol(v, NULL, 10);
}

static int block_dev(const char *name, dev_t *ret)
{
	char path[PATH_MAX];
	_cleanup_free_ char *v = NULL;
	size_t n;
	unsigned ma, mi;
	snprintf(path, sizeof(path), "/sys/block/%s/dev", name);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fs_read_fd(fd, 64, &v, &n) < 0 || sscanf(v, "%u:%u", &ma, &mi) != 2)
		return -ENOENT;
	*ret = makedev(ma, mi);
	return 0;
}

/* The whole disk the source is read from (its filesystem's device, or its
 * parent when that is a partition), or 0. */
static dev_t source_disk(const struct deploy_source *s)
{
	struct stat st;
	if (s->fd < 0 || fstat(s->fd, &st) < 0 || major(st.st_dev) == 0)
		return 0;
	char path[128];
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/partition", major(st.st_dev),
		 minor(st.st_dev));
	if (access(path, F_OK) < 0)
		return st.st_dev;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../dev", major(st.st_dev),
		 minor(st.st_dev));
	_cleanup_free_ char *v = NULL;
	size_t n;
	unsigned ma, mi;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fs_read_fd(fd, 64, &v, &n) < 0 || sscanf(v, "%u:%u", &ma, &mi) != 2)
		return st.st_dev;
	return makedev(ma, mi);
}

/* Why the disk name does not count at all, or NULL when it is a candidate. */
static const char *not_a_disk(const char *name, dev_t src, dev_t *ret_dev)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "/sys/block/%s/device", name);
	if (access(path, F_OK) < 0)
		return "virtual (loop, ram, zram, dm or md)";
	if (block_dev(name, ret_dev) < 0)
		return "no device number";
	if (*ret_dev == src)
		return "holds the source image (the installer's own medium)";
	if (block_number(name, "removable") == 1)
		return "removable";
	if (block_number(name, "ro") == 1)
		return "read-only";
	return NULL;
}

/* Does the candidate match the rule? For "empty", opened as a target:
 * *why says what the safety checks found. */
static bool matches(const char *rule, const char *name, dev_t dev, const struct deploy_source *s,
		    char **why)
{
	_cleanup_free_ char *path = strjoin("/dev/", name);
	if (!path)
		return false;
	if (startswith(rule, "serial:")) {
		_cleanup_free_ char *serial = deploy_disk_serial(dev);
		if (serial && streq(serial, rule + 7))
			return true;
		*why = strjoin("serial ", serial ? serial : "unknown");
		return false;
	}
	if (rule[0] == '/') {
		struct stat st;
		if (stat(rule, &st) == 0 && S_ISBLK(st.st_mode) && st.st_rdev == dev)
			return true;
		*why = strdup("not the named device");
		return false;
	}
	struct deploy_target t;
	int r = deploy_target_open(&t, path, s, false);
	bool ok = r >= 0 && t.result != TARGET_REFUSED;
	if (!ok)
		*why = strdup(t.error ? t.error : strerror(-r));
	deploy_target_done(&t);
	return ok;
}

static int pick_scan(const char *rule, const struct deploy_source *s, char ***ret_seen,
		     char **ret_path)
{
	_cleanup_strv_free_ char **names = NULL;
	dev_t src = source_disk(s);
	unsigned found = 0;
	_cleanup_close_ int dir = open("/sys/block", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	int r = fs_list_dir(dir, NULL,
			    &(struct fs_list_opts){ .max = PICK_DISKS_MAX, .truncate = true },
			    &names);
	if (r < 0)
		return r;
	STRV_FOREACH(name, names)
	{
		dev_t dev = 0;
		_cleanup_free_ char *why = NULL;
		const char *skip = not_a_disk(*name, src, &dev);
		if (!skip && matches(rule, *name, dev, s, &why)) {
			if (!*ret_path && !(*ret_path = strjoin("/dev/", *name)))
				return -ENOMEM;
			if (strv_extendf(ret_seen, "%s: matches", *name) < 0)
				return -ENOMEM;
			found++;
			continue;
		}
		if (strv_extendf(ret_seen, "%s: %s", *name,
				 skip  ? skip
				 : why ? why
				       : "does not match") < 0)
			return -ENOMEM;
	}
	if (found > 1) {
		free(*ret_path);
		*ret_path = NULL;
		return -ENOTUNIQ;
	}
	return found ? 0 : -ENOENT;
}

static char *join_seen(char **l)
{
	char *out = strdup("");
	STRV_FOREACH(i, l)
	{
		if (!out)
			return NULL;
		char *n = strjoin(out, *out ? "; " : "", *i);
		free(out);
		out = n;
		if (!out)
			return NULL;
	}
	return out;
}

int deploy_pick(const char *rule, const struct deploy_source *s, char **ret_path, char **reterr_msg)
{
	if (!streq(rule, "empty") && !startswith(rule, "serial:") && rule[0] != '/')
		return errmsg_set(reterr_msg, -EINVAL,
				  "unknown rule '%s' to pick a disk (known: empty, serial:SERIAL, "
				  "/dev/PATH)",
				  rule);
	_cleanup_strv_free_ char **seen = NULL;
	char *path = NULL;
	int r = pick_scan(rule, s, &seen, &path);
	if (r == -ENOMEM)
		return errmsg_oom(reterr_msg);
	if (r < 0 && r != -ENOENT && r != -ENOTUNIQ)
		return errmsg_errno(reterr_msg, r, "cannot list the disks in '/sys/block': %m");
	if (r >= 0) {
		*ret_path = path;
		return 0;
	}
	_cleanup_free_ char *list = join_seen(seen);
	if (r == -ENOTUNIQ)
		return errmsg_set(reterr_msg, r,
				  "more than one disk matches '%s' (%s): name one by serial or "
				  "path",
				  rule, list ? list : "");
	return errmsg_set(reterr_msg, r,
			  "no disk matches '%s' (an empty disk of at least %" PRIu64
			  " bytes, or the one named): %s",
			  rule, s->bmap->image_size, list && *list ? list : "no disks");
}
