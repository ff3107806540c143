/* SPDX-License-Identifier: MIT */
/*
 * root-disk.h - for unit tests of what reads a disk image: a 40 MiB raw
 * disk with a GPT holding one root partition (x86-64) at 1 MiB, 32 MiB,
 * formatted ext4 and opened for writing with the builder's ext4 writer.
 * The caller writes its files and calls ext4_close().
 */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <libfdisk/libfdisk.h>
#include <stdlib.h>
#include <unistd.h>

#include "builder/image/fs-ext4.h"
#include "lib/basic/macro.h"

#define ROOT_DISK_MIB (1024ULL * 1024ULL)

static inline int root_disk_make(const char *path, struct ext4 **ret)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)(40 * ROOT_DISK_MIB)) < 0)
		return -errno;
	struct fdisk_context *cxt = fdisk_new_context();
	fdisk_disable_dialogs(cxt, 1);
	int r = fdisk_assign_device(cxt, path, 0);
	if (r >= 0)
		r = fdisk_create_disklabel(cxt, "gpt");
	struct fdisk_partition *pa = fdisk_new_partition();
	struct fdisk_parttype *t = fdisk_label_parse_parttype(
		fdisk_get_label(cxt, NULL), "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709");
	fdisk_partition_set_start(pa, 2048);
	fdisk_partition_set_size(pa, 32 * ROOT_DISK_MIB / 512);
	fdisk_partition_set_partno(pa, 0);
	fdisk_partition_set_type(pa, t);
	if (r >= 0)
		r = fdisk_add_partition(cxt, pa, NULL);
	fdisk_unref_partition(pa);
	fdisk_unref_parttype(t);
	if (r >= 0)
		r = fdisk_write_disklabel(cxt);
	fdisk_deassign_device(cxt, 1);
	fdisk_unref_context(cxt);
	if (r < 0)
		return r;

	char *err = NULL;
	r = ext4_format(path, ROOT_DISK_MIB, 32 * ROOT_DISK_MIB,
			"0b5ad1b2-83f4-4dbe-8b56-2a1f0d6b3e10", "root", 0, NULL, &err);
	if (r >= 0)
		r = ext4_open(path, ROOT_DISK_MIB, true, 0, ret, &err);
	free(err);
	return r;
}
