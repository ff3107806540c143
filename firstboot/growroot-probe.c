/* SPDX-License-Identifier: MIT */
/*
 * growroot-probe.c - is there room for the root to grow (growroot.h)?
 * sysfs says where the root partition lies on its disk and what follows
 * it; the ext4 superblock says how much of the partition the filesystem
 * uses. Cheap enough for every boot: no libfdisk, a few small reads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "firstboot/growroot.h"
#include "lib/basic/macro.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/string-util.h"

#define EXT4_SB_OFFSET 1024
#define EXT4_INCOMPAT_64BIT 0x80u

/* A number from the sysfs attribute file 'name' beneath dir_fd. */
static int sysfs_u64(int dir_fd, const char *name, uint64_t *ret)
{
	_cleanup_free_ char *line = NULL;
	int r = fs_read_line_at(dir_fd, name, 64, &line);
	if (r < 0)
		return r;
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(line, &end, 10);
	if (errno || end == line || *end)
		return -EBADMSG;
	*ret = v;
	return 0;
}

static int sysfs_dev(int dir_fd, dev_t *ret)
{
	_cleanup_free_ char *line = NULL;
	unsigned ma, mi;
	int r = fs_read_line_at(dir_fd, "dev", 64, &line);
	if (r < 0)
		return r;
	if (sscanf(line, "%u:%u", &ma, &mi) != 2)
		return -EBADMSG;
	*ret = makedev(ma, mi);
	return 0;
}

/* The end (bytes) of the partition of the disk (disk_fd, its sysfs
 * directory) that ends last, and the name of one that starts after ours. */
static int scan_siblings(int disk_fd, const struct growroot *g, uint64_t *ret_end, char *after,
			 size_t after_size)
{
	_cleanup_strv_free_ char **names = NULL;
	uint64_t last_end = g->part_start + g->part_size;
	int r = fs_list_dir(disk_fd, NULL, &(struct fs_list_opts){ .max = 4096 }, &names);
	if (r < 0)
		return r;
	*after = '\0';
	for (char **n = names; *n; n++) {
		_cleanup_free_ char *a = strjoin(*n, "/partition"), *b = strjoin(*n, "/start"),
				    *c = strjoin(*n, "/size");
		uint64_t start, size;
		if (!a || !b || !c)
			return -ENOMEM;
		if (streq(*n, g->part) || sysfs_u64(disk_fd, a, &start) < 0)
			continue; /* ours, or not a partition */
		if (sysfs_u64(disk_fd, b, &start) < 0 || sysfs_u64(disk_fd, c, &size) < 0)
			continue;
		start *= 512, size *= 512; /* sysfs counts 512-byte sectors */
		if (start > g->part_start && !*after)
			snprintf(after, after_size, "%s", *n);
		if (start + size > last_end)
			last_end = start + size;
	}
	*ret_end = last_end;
	return 0;
}

/* The ext4 superblock of the partition: block count times block size. */
static int ext4_size(const struct growroot *g, uint64_t *ret_size, uint64_t *ret_block)
{
	_cleanup_free_ char *node = strjoin("/dev/", g->part);
	uint8_t sb[1024];
	struct stat st;
	if (!node)
		return -ENOMEM;
	_cleanup_close_ int fd = open(node, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISBLK(st.st_mode) || st.st_rdev != g->part_dev)
		return -ENODEV; /* not the node of the root's partition */
	if (pread(fd, sb, sizeof(sb), EXT4_SB_OFFSET) != (ssize_t)sizeof(sb))
		return -EIO;
	if (sb[0x38] != 0x53 || sb[0x39] != 0xef)
		return -EBADMSG;
	uint32_t lo, hi = 0, log_block, incompat;
	memcpy(&lo, sb + 0x04, 4); /* little endian here (x86) */
	memcpy(&log_block, sb + 0x18, 4);
	memcpy(&incompat, sb + 0x60, 4);
	if (incompat & EXT4_INCOMPAT_64BIT)
		memcpy(&hi, sb + 0x150, 4);
	if (log_block > 6)
		return -EBADMSG;
	*ret_block = 1024ULL << log_block;
	*ret_size = ((uint64_t)hi << 32 | lo) * *ret_block;
	return 0;
}

int growroot_probe(int root_fd, struct growroot *ret, char **reterr_msg)
{
	struct growroot g = {};
	struct statfs sfs;
	struct stat st;
	char link[64], real[PATH_MAX], after[64];
	uint64_t last_end, v;
	int r;

	if (fstat(root_fd, &st) < 0 || fstatfs(root_fd, &sfs) < 0)
		return errmsg_errno(reterr_msg, -errno, "cannot look at the root: %m");
	if (major(st.st_dev) == 0)
		return 0; /* overlay, tmpfs, btrfs subvolume: no partition of ours */
	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(st.st_dev), minor(st.st_dev));
	if (!realpath(link, real))
		return errno == ENOENT
			       ? 0
			       : errmsg_errno(reterr_msg, -errno, "cannot resolve '%s': %m", link);
	_cleanup_close_ int part_fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (part_fd < 0)
		return errmsg_errno(reterr_msg, -errno, "cannot open '%s': %m", real);
	if (sysfs_u64(part_fd, "partition", &v) < 0)
		return 0; /* a whole disk, a device-mapper or md device */
	g.partno = (unsigned)v;
	g.part_dev = st.st_dev;
	char *slash = strrchr(real, '/');
	snprintf(g.part, sizeof(g.part), "%s", slash + 1);
	if ((r = sysfs_u64(part_fd, "start", &g.part_start)) < 0 ||
	    (r = sysfs_u64(part_fd, "size", &g.part_size)) < 0)
		return errmsg_errno(reterr_msg, r, "cannot read the extent of '%s': %m", real);
	g.part_start *= 512, g.part_size *= 512;
	*slash = '\0';
	slash = strrchr(real, '/');
	snprintf(g.disk, sizeof(g.disk), "%s", slash + 1);
	_cleanup_close_ int disk_fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (disk_fd < 0)
		return errmsg_errno(reterr_msg, -errno, "cannot open '%s': %m", real);
	if ((r = sysfs_u64(disk_fd, "size", &g.disk_size)) < 0 ||
	    (r = sysfs_dev(disk_fd, &g.disk_dev)) < 0)
		return errmsg_errno(reterr_msg, r, "cannot read the size of disk '%s': %m", real);
	g.disk_size *= 512;
	if ((r = scan_siblings(disk_fd, &g, &last_end, after, sizeof(after))) < 0)
		return errmsg_errno(reterr_msg, r, "cannot list the partitions of '%s': %m", real);

	/* what growroot_table() would make of the last partition: up to the
	 * last usable sector (the backup GPT takes the last 33 sectors of 512
	 * bytes), the size a multiple of 1 MiB */
	uint64_t usable_end = g.disk_size > 34 * 512 ? g.disk_size - 33 * 512 : 0;
	uint64_t start = last_end == g.part_start + g.part_size ? g.part_start : last_end;
	bool disk_room =
		usable_end > start &&
		(usable_end - start) / GROWROOT_MIN_BYTES * GROWROOT_MIN_BYTES > last_end - start;
	if (sfs.f_type != EXT4_SUPER_MAGIC) {
		if (!disk_room)
			return 0;
		return errmsg_set(reterr_msg, -EOPNOTSUPP,
				  "the root filesystem on '%s' is not ext4 (type 0x%llx), which "
				  "this agent cannot grow online; grow it by hand",
				  g.part, (unsigned long long)sfs.f_type);
	}
	if ((r = ext4_size(&g, &g.fs_size, &g.fs_block)) < 0)
		return errmsg_errno(reterr_msg, r,
				    "cannot read the ext4 superblock of '/dev/%s': %m", g.part);
	if (disk_room && *after)
		return errmsg_set(reterr_msg, -EXDEV,
				  "the disk '%s' has %" PRIu64
				  " MiB unused, but the root partition "
				  "'%s' is not its last ('%s' follows); the root is not grown",
				  g.disk, (g.disk_size - last_end) >> 20, g.part, after);
	if (!disk_room && g.part_size < g.fs_size + GROWROOT_MIN_BYTES)
		return 0;
	*ret = g;
	return 1;
}
