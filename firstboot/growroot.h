/* SPDX-License-Identifier: MIT */
/*
 * growroot.h - the root filesystem grown to fill its disk, as systemd-repart
 * and systemd-growfs (or cloud-init's growpart and resize2fs) do it: the
 * backup GPT moved to the disk's end, the root partition (the last one)
 * grown to the last usable sector, the kernel told its new size
 * (BLKPG_RESIZE_PARTITION, which works on a disk in use), and the mounted
 * ext4 resized online (EXT4_IOC_RESIZE_FS, what resize2fs does on a mounted
 * filesystem), in that order.
 *
 * No marker file: each step looks at the disk and does only what is left,
 * so a run interrupted at any point is finished by the next one, and a run
 * on a grown disk changes nothing. The partition table is written by
 * libfdisk twice (the backup moved to the end, then the partition grown),
 * each write backup first and primary header last, so a crash leaves the
 * old table, the moved one or the grown one, each valid.
 *
 * growroot_probe() reads sysfs and one superblock only (the agent's light
 * half runs it at every boot); growroot_run() needs libfdisk (the heavy
 * half). Nothing here logs.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The grown partition's size is a multiple of this (libfdisk's grain). */
#define GROWROOT_MIN_BYTES (1024ULL * 1024ULL)

struct growroot {
	char part[64], disk[64]; /* kernel names: "vda3", "vda" */
	dev_t part_dev, disk_dev;
	unsigned partno;		/* 1-based, as the kernel numbers it */
	uint64_t part_start, part_size; /* bytes, as the kernel sees them now */
	uint64_t disk_size;		/* bytes */
	uint64_t fs_size;		/* bytes, from the ext4 superblock */
	uint64_t fs_block;		/* the filesystem's block size */
};

/* Looks at the filesystem of root_fd (a mounted root). Returns 1 with *ret
 * filled when there is something to grow (room on the disk after the root
 * partition, or in the partition after the filesystem), 0 when there is
 * nothing to do (also: the root is not on a partition of a disk), or
 * -errno with a message when the disk has room the root cannot take: the
 * root partition is not the last (-EXDEV), or its filesystem is not ext4
 * (-EOPNOTSUPP). */
int growroot_probe(int root_fd, struct growroot *ret, char **reterr_msg);

/* The partition table step alone, on a disk image or device: moves the
 * backup GPT to the end of 'disk' and grows the partition that starts at
 * byte part_start, which must be the last, to the last usable sector.
 * Writes only when something changes (*ret_changed). Returns 0 with the
 * partition's size in bytes and its 1-based number, or -errno with a
 * message (no GPT: -EMEDIUMTYPE; no such partition: -ENOENT; not the last:
 * -EXDEV). */
int growroot_table(const char *disk, uint64_t part_start, uint64_t *ret_size, unsigned *ret_partno,
		   bool *ret_changed, char **reterr_msg);

/* All of it for a probed root: the table, the kernel's view of the
 * partition, then the filesystem (through root_fd). *ret_grown is the new
 * filesystem size in bytes. Returns 0 or -errno with a message; what was
 * done before a failure stays done, and is skipped by the next run. */
int growroot_run(int root_fd, const struct growroot *g, uint64_t *ret_grown, char **reterr_msg);
