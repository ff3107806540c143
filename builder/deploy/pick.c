/* SPDX-License-Identifier: MIT */
/*
 * pick.c - which disk an unattended installer writes (`deploy --pick`): the
 * one empty disk large enough, or the disk a serial or a /dev path names.
 * Every whole disk in /sys/block is looked at; what was not picked is
 * listed with the reason, so a console shows why nothing was written.
 * A disk's facts come from sysfs (its size, sector size, serial, whether it
 * is removable or read-only) and its bytes from its node in /dev, both
 * beneath a root (this machine's "/", or a made-up tree in a unit test).
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

struct pick {
	const struct deploy_pick_opts *o;
	const char *root; /* "" for this machine */
	const struct deploy_source *s;
	dev_t src; /* the source's disk, or 0 */
};

/* ROOT/sys/block/NAME/FIELD as a number, or -1. */
static long long block_number(const struct pick *p, const char *name, const char *field)
{
	char path[PATH_MAX];
	_cleanup_free_ char *v = NULL;
	size_t n;
	snprintf(path, sizeof(path), "%s/sys/block/%s/%s", p->root, name, field);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fs_read_fd(fd, 64, &v, &n) < 0)
		return -1;
	return strtoll(v, NULL, 10);
}

/* The MAJ:MIN in the file at path. */
static int read_devnum(const char *path, dev_t *ret)
{
	_cleanup_free_ char *v = NULL;
	size_t n;
	unsigned ma, mi;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fs_read_fd(fd, 64, &v, &n) < 0 || sscanf(v, "%u:%u", &ma, &mi) != 2)
		return -ENOENT;
	*ret = makedev(ma, mi);
	return 0;
}

/* The whole disk the source is read from (its filesystem's device, or its
 * parent when that is a partition), or 0. */
static dev_t source_disk(const char *root, const struct deploy_source *s)
{
	struct stat st;
	if (s->fd < 0 || fstat(s->fd, &st) < 0)
		return 0;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/sys/dev/block/%u:%u/partition", root, major(st.st_dev),
		 minor(st.st_dev));
	if (access(path, F_OK) < 0)
		return st.st_dev;
	dev_t parent;
	snprintf(path, sizeof(path), "%s/sys/dev/block/%u:%u/../dev", root, major(st.st_dev),
		 minor(st.st_dev));
	return read_devnum(path, &parent) < 0 ? st.st_dev : parent;
}

/* Why the disk name does not count at all, or NULL when it is a candidate. */
static const char *not_a_disk(const struct pick *p, const char *name, dev_t *ret_dev)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/sys/block/%s/device", p->root, name);
	if (access(path, F_OK) < 0)
		return "virtual (loop, ram, zram, dm or md)";
	snprintf(path, sizeof(path), "%s/sys/block/%s/dev", p->root, name);
	if (read_devnum(path, ret_dev) < 0)
		return "no device number";
	if (*ret_dev == p->src)
		return "holds the source image (the installer's own medium)";
	if (block_number(p, name, "removable") == 1)
		return "removable";
	if (block_number(p, name, "ro") == 1)
		return "read-only";
	return NULL;
}

/* The same node: one file, or two block nodes of one device. */
static bool same_node(const char *a, const char *b)
{
	struct stat sa, sb;
	if (stat(a, &sa) < 0 || stat(b, &sb) < 0)
		return false;
	if (sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino)
		return true;
	return S_ISBLK(sa.st_mode) && S_ISBLK(sb.st_mode) && sa.st_rdev == sb.st_rdev;
}

/* Does the disk match a serial or path rule? Else *why says what it is. */
static bool named(const struct pick *p, const char *name, const char *node, char **why)
{
	const char *rule = p->o->rule;
	if (startswith(rule, "serial:")) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/sys/block/%s", p->root, name);
		_cleanup_free_ char *serial = deploy_disk_serial(dir);
		if (serial && streq(serial, rule + 7))
			return true;
		*why = strjoin("serial ", serial ? serial : "unknown");
		return false;
	}
	_cleanup_free_ char *target = strjoin(p->root, rule);
	if (target && same_node(target, node))
		return true;
	*why = strdup("not the named device");
	return false;
}

/* The safety checks of a target, from sysfs and the disk's node, without
 * writing: not in use (held exclusively), no signature unless a rule that
 * names the disk is forced, large enough, the image's sector size. */
static bool passes(const struct pick *p, const char *name, const char *node, char **why)
{
	long long sectors = block_number(p, name, "size");
	long long lss = block_number(p, name, "queue/logical_block_size");
	struct deploy_target t = {
		.fd = -EBADF,
		.block = true,
		.forced = p->o->force && !streq(p->o->rule, "empty"),
		.size = sectors > 0 ? (uint64_t)sectors * 512 : 0,
		.sector = lss > 0 ? (unsigned)lss : 512,
	};
	_cleanup_close_ int fd = open(node, O_RDONLY | O_EXCL | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		*why = errno == EBUSY ? strdup("in use (mounted, swap, or held by dm, md or LVM)")
				      : strjoin("cannot open ", node, ": ", strerror(errno));
		return false;
	}
	if (!(t.path = strdup(node)))
		return false;
	bool ok = deploy_target_check(&t, p->s, "--force-picked") >= 0;
	if (!ok)
		*why = t.error ? TAKE_PTR(t.error) : strdup("refused");
	deploy_target_done(&t);
	return ok;
}

static int pick_scan(const struct pick *p, char ***ret_seen, char **ret_path)
{
	_cleanup_strv_free_ char **names = NULL;
	unsigned found = 0;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/sys/block", p->root);
	_cleanup_close_ int dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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
		_cleanup_free_ char *why = NULL, *node = strjoin(p->root, "/dev/", *name);
		if (!node)
			return -ENOMEM;
		const char *skip = not_a_disk(p, *name, &dev);
		if (!skip && (streq(p->o->rule, "empty") || named(p, *name, node, &why)) &&
		    passes(p, *name, node, &why)) {
			if (!*ret_path)
				*ret_path = TAKE_PTR(node);
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

int deploy_pick(const struct deploy_pick_opts *o, const struct deploy_source *s, char **ret_path,
		char **reterr_msg)
{
	const char *rule = o->rule;
	if (!streq(rule, "empty") && !startswith(rule, "serial:") && rule[0] != '/')
		return errmsg_set(reterr_msg, -EINVAL,
				  "unknown rule '%s' to pick a disk (known: empty, serial:SERIAL, "
				  "/dev/PATH)",
				  rule);
	struct pick p = { .o = o, .root = o->root && !streq(o->root, "/") ? o->root : "", .s = s };
	p.src = source_disk(p.root, s);
	_cleanup_strv_free_ char **seen = NULL;
	char *path = NULL;
	int r = pick_scan(&p, &seen, &path);
	if (r == -ENOMEM)
		return errmsg_oom(reterr_msg);
	if (r < 0 && r != -ENOENT && r != -ENOTUNIQ)
		return errmsg_errno(reterr_msg, r, "cannot list the disks in '%s/sys/block': %m",
				    p.root);
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
