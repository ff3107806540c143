/* SPDX-License-Identifier: MIT */
/*
 * growroot.c - the root grown to fill its disk (growroot.h): the partition
 * table through libfdisk, the kernel's view through BLKPG, the mounted
 * ext4 through EXT4_IOC_RESIZE_FS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libfdisk/libfdisk.h>
#include <linux/blkpg.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "firstboot/growroot.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

/* fs/ext4/ext4.h, not in the kernel's uapi headers; what resize2fs calls */
#ifndef EXT4_IOC_RESIZE_FS
#define EXT4_IOC_RESIZE_FS _IOW('f', 16, uint64_t)
#endif

/* The alternate LBA the primary GPT header points at (little endian). */
static int gpt_alternate(const char *disk, unsigned long sector, uint64_t *ret)
{
	uint8_t hdr[92];
	int fd = open(disk, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	ssize_t k = pread(fd, hdr, sizeof(hdr), (off_t)sector);
	close(fd);
	if (k != (ssize_t)sizeof(hdr) || memcmp(hdr, "EFI PART", 8) != 0)
		return -EMEDIUMTYPE;
	memcpy(ret, hdr + 32, sizeof(*ret)); /* x86: little endian already */
	return 0;
}

/* The partition that starts at byte 'start', and whether one starts after it. */
static int find_partition(struct fdisk_context *cxt, uint64_t start, size_t *ret_no,
			  uint64_t *ret_sectors, size_t *ret_after)
{
	struct fdisk_table *tb = NULL;
	struct fdisk_iter *itr = fdisk_new_iter(FDISK_ITER_FORWARD);
	struct fdisk_partition *pa;
	unsigned long sector = fdisk_get_sector_size(cxt);
	int r = itr ? fdisk_get_partitions(cxt, &tb) : -ENOMEM;
	bool found = false;

	*ret_after = SIZE_MAX;
	while (r >= 0 && fdisk_table_next_partition(tb, itr, &pa) == 0) {
		if (!fdisk_partition_has_start(pa))
			continue;
		uint64_t s = (uint64_t)fdisk_partition_get_start(pa) * sector;
		if (s == start) {
			*ret_no = fdisk_partition_get_partno(pa);
			*ret_sectors = fdisk_partition_get_size(pa);
			found = true;
		} else if (s > start)
			*ret_after = fdisk_partition_get_partno(pa);
	}
	fdisk_free_iter(itr);
	fdisk_unref_table(tb);
	return r < 0 ? r : found ? 0 : -ENOENT;
}

static int table_grow(struct fdisk_context *cxt, const char *disk, uint64_t part_start,
		      uint64_t *ret_size, unsigned *ret_partno, bool *ret_changed,
		      char **reterr_msg)
{
	unsigned long sector = fdisk_get_sector_size(cxt);
	uint64_t alt = 0, old_sectors = 0, new_sectors = 0;
	size_t no = 0, after = SIZE_MAX;
	int r;

	if (!fdisk_is_labeltype(cxt, FDISK_DISKLABEL_GPT) || gpt_alternate(disk, sector, &alt) < 0)
		return errmsg_set(reterr_msg, -EMEDIUMTYPE, "'%s' has no GPT partition table",
				  disk);
	r = find_partition(cxt, part_start, &no, &old_sectors, &after);
	if (r == -ENOENT)
		return errmsg_set(reterr_msg, r, "'%s' has no partition at byte %" PRIu64, disk,
				  part_start);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot read the partitions of '%s': %m", disk);
	if (after != SIZE_MAX)
		return errmsg_set(reterr_msg, -EXDEV,
				  "partition %zu of '%s' is not the last (partition %zu follows); "
				  "it is not grown",
				  no + 1, disk, after + 1);

	/* First the backup moved to the end: libfdisk does that when it writes
	 * (as sfdisk --relocate gpt-bak-std), and counts the last usable sector
	 * from there once it reads the table again. A table of its own, so a
	 * crash between the two writes leaves a valid table either way. */
	bool relocate = alt != (uint64_t)fdisk_get_nsectors(cxt) - 1;
	if (relocate) {
		fdisk_label_set_changed(fdisk_get_label(cxt, NULL), 1);
		r = fdisk_write_disklabel(cxt);
		if (r >= 0)
			r = fdisk_reassign_device(cxt);
		if (r < 0)
			return errmsg_errno(reterr_msg, r,
					    "cannot move the backup GPT of '%s' to its end: %m",
					    disk);
		if (!fdisk_is_labeltype(cxt, FDISK_DISKLABEL_GPT))
			return errmsg_set(reterr_msg, -EIO,
					  "'%s' lost its GPT when it was rewritten", disk);
	}
	/* to the last usable sector, the size a multiple of the grain (1 MiB),
	 * as a partitioning tool aligns it */
	uint64_t first = part_start / sector, grain = fdisk_get_grain_size(cxt) / sector;
	uint64_t last = (uint64_t)fdisk_get_last_lba(cxt);
	uint64_t want = last >= first ? last - first + 1 : 0;
	if (grain > 1 && want > grain)
		want -= want % grain;
	if (want <= old_sectors) {
		*ret_changed = relocate;
		*ret_size = old_sectors * sector;
		*ret_partno = (unsigned)no + 1;
		return 0;
	}
	struct fdisk_partition *pa = fdisk_new_partition();
	if (!pa)
		return errmsg_oom(reterr_msg);
	r = fdisk_partition_set_size(pa, want);
	if (r >= 0)
		r = fdisk_set_partition(cxt, no, pa);
	fdisk_unref_partition(pa);
	pa = NULL;
	if (r >= 0)
		r = fdisk_get_partition(cxt, no, &pa);
	if (r >= 0)
		new_sectors = fdisk_partition_get_size(pa);
	fdisk_unref_partition(pa);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot grow partition %zu of '%s': %m", no + 1,
				    disk);
	if (new_sectors < old_sectors)
		return errmsg_set(reterr_msg, -ERANGE,
				  "partition %zu of '%s' would shrink (%" PRIu64 " to %" PRIu64
				  " sectors); left as it is",
				  no + 1, disk, old_sectors, new_sectors);
	*ret_changed = relocate || new_sectors > old_sectors;
	if (new_sectors > old_sectors) {
		r = fdisk_write_disklabel(cxt);
		if (r < 0)
			return errmsg_errno(reterr_msg, r,
					    "cannot write the partition table of '%s': %m", disk);
	}
	*ret_size = new_sectors * sector;
	*ret_partno = (unsigned)no + 1;
	return 0;
}

int growroot_table(const char *disk, uint64_t part_start, uint64_t *ret_size, unsigned *ret_partno,
		   bool *ret_changed, char **reterr_msg)
{
	struct fdisk_context *cxt = fdisk_new_context();
	uint64_t size = 0;
	unsigned partno = 0;
	bool changed = false;
	int r;

	if (!cxt)
		return errmsg_oom(reterr_msg);
	fdisk_disable_dialogs(cxt, 1);
	r = fdisk_assign_device(cxt, disk, 0);
	if (r < 0) {
		fdisk_unref_context(cxt);
		return errmsg_errno(reterr_msg, r, "cannot open '%s': %m", disk);
	}
	r = table_grow(cxt, disk, part_start, &size, &partno, &changed, reterr_msg);
	/* closes the device after fsync(); no global sync() */
	int q = fdisk_deassign_device(cxt, 1);
	fdisk_unref_context(cxt);
	if (r >= 0 && q < 0)
		r = errmsg_errno(reterr_msg, q, "cannot flush the partition table of '%s': %m",
				 disk);
	if (r < 0)
		return r;
	*ret_size = size;
	*ret_partno = partno;
	*ret_changed = changed;
	return 0;
}

/* The device node of a kernel name, checked to be that device. */
static int open_node(const char *name, dev_t dev, int flags)
{
	_cleanup_free_ char *node = strjoin("/dev/", name);
	struct stat st;
	if (!node)
		return -ENOMEM;
	int fd = open(node, flags | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISBLK(st.st_mode) || st.st_rdev != dev) {
		close(fd);
		return -ENODEV;
	}
	return fd;
}

/* Tells the kernel the partition's new size: BLKPG_RESIZE_PARTITION works
 * while the partition is mounted, where re-reading the table (BLKRRPART)
 * would fail with EBUSY. */
static int kernel_resize(const struct growroot *g, uint64_t size)
{
	struct blkpg_partition p = {
		.start = (long long)g->part_start,
		.length = (long long)size,
		.pno = (int)g->partno,
	};
	struct blkpg_ioctl_arg a = {
		.op = BLKPG_RESIZE_PARTITION,
		.datalen = sizeof(p),
		.data = &p,
	};
	int fd = open_node(g->disk, g->disk_dev, O_RDONLY);
	if (fd < 0)
		return fd;
	int r = ioctl(fd, BLKPG, &a) < 0 ? -errno : 0;
	close(fd);
	return r;
}

int growroot_run(int root_fd, const struct growroot *g, uint64_t *ret_grown, char **reterr_msg)
{
	_cleanup_free_ char *disk = strjoin("/dev/", g->disk);
	uint64_t size = 0;
	unsigned partno = 0;
	bool changed = false;
	int r;

	if (!disk)
		return errmsg_oom(reterr_msg);
	/* the node must be the disk sysfs named, not whatever /dev/NAME is */
	r = open_node(g->disk, g->disk_dev, O_RDONLY);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot open the disk '%s': %m", disk);
	close(r);

	r = growroot_table(disk, g->part_start, &size, &partno, &changed, reterr_msg);
	if (r < 0)
		return r;
	if (partno != g->partno)
		return errmsg_set(reterr_msg, -ENXIO,
				  "the partition table of '%s' numbers the root partition %u, the "
				  "kernel %u; left as it is",
				  disk, partno, g->partno);
	if (size != g->part_size) {
		r = kernel_resize(g, size);
		if (r < 0)
			return errmsg_errno(
				reterr_msg, r,
				"cannot tell the kernel the new size of '%s' (BLKPG): %m", g->part);
	}

	uint64_t blocks = size / g->fs_block;
	if (blocks * g->fs_block > g->fs_size && ioctl(root_fd, EXT4_IOC_RESIZE_FS, &blocks) < 0)
		return errmsg_errno(reterr_msg, -errno,
				    "cannot resize the ext4 filesystem on '%s' to %" PRIu64
				    " blocks: %m",
				    g->part, blocks);
	*ret_grown = MAX(blocks * g->fs_block, g->fs_size);
	return 0;
}
