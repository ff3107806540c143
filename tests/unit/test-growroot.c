/* SPDX-License-Identifier: MIT */
/*
 * test-growroot.c - the partition table step of growing the root, on disk
 * image files (the kernel and ext4 steps need a booted guest: t7203):
 * a disk made larger gets its backup GPT at its new end and its last
 * partition grown to the last usable sector; a second run writes nothing,
 * and a run after a crash between the two writes finishes the job;
 * a partition that is not the last, and a disk without GPT, are refused and
 * left as they are.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libfdisk/libfdisk.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "firstboot/growroot.h"
#include "lib/basic/macro.h"
#include "tests/unit/tap.h"

#define MIB (1024ULL * 1024ULL)

/* A GPT disk of 'mib' MiB with partitions of these sizes (MiB) from 1 MiB. */
static int make_disk(const char *path, unsigned mib, const unsigned *parts, size_t n)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)(mib * MIB)) < 0)
		return -errno;
	close(fd);
	struct fdisk_context *cxt = fdisk_new_context();
	fdisk_disable_dialogs(cxt, 1);
	int r = fdisk_assign_device(cxt, path, 0);
	if (r >= 0)
		r = fdisk_create_disklabel(cxt, "gpt");
	uint64_t at = 2048;
	for (size_t i = 0; r >= 0 && i < n; i++) {
		struct fdisk_partition *pa = fdisk_new_partition();
		fdisk_partition_set_start(pa, at);
		fdisk_partition_set_size(pa, parts[i] * (MIB / 512));
		fdisk_partition_partno_follow_default(pa, 1);
		r = fdisk_add_partition(cxt, pa, NULL);
		fdisk_unref_partition(pa);
		at += parts[i] * (MIB / 512);
	}
	if (r >= 0)
		r = fdisk_write_disklabel(cxt);
	fdisk_deassign_device(cxt, 1);
	fdisk_unref_context(cxt);
	return r;
}

/* What a crash after the first write leaves: the backup at the end, the
 * partitions as they were. */
static int relocate_only(const char *path)
{
	struct fdisk_context *cxt = fdisk_new_context();
	fdisk_disable_dialogs(cxt, 1);
	int r = fdisk_assign_device(cxt, path, 0);
	if (r >= 0) {
		fdisk_label_set_changed(fdisk_get_label(cxt, NULL), 1);
		r = fdisk_write_disklabel(cxt);
	}
	fdisk_deassign_device(cxt, 1);
	fdisk_unref_context(cxt);
	return r;
}

static uint64_t alternate_lba(const char *path)
{
	uint8_t hdr[512];
	uint64_t alt = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, hdr, sizeof(hdr), 512) != (ssize_t)sizeof(hdr))
		return 0;
	close(fd);
	memcpy(&alt, hdr + 32, sizeof(alt));
	return alt;
}

static bool backup_at(const char *path, uint64_t lba)
{
	char sig[8];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool r = fd >= 0 && pread(fd, sig, 8, (off_t)(lba * 512)) == 8 &&
		 memcmp(sig, "EFI PART", 8) == 0;
	if (fd >= 0)
		close(fd);
	return r;
}

static void grow_file(const char *path, unsigned mib)
{
	if (truncate(path, (off_t)(mib * MIB)) < 0)
		abort();
}

int main(void)
{
	char *msg = NULL;
	uint64_t size = 0;
	unsigned partno = 0;
	bool changed = false;
	struct stat st0, st1;

	tap_tmpdir();

	/* ESP-like, then a root that ends at the image's end (less the backup) */
	static const unsigned parts[] = { 4, 26 };
	ok(make_disk("disk.img", 32, parts, ELEMENTSOF(parts)) == 0, "a 32 MiB GPT disk");
	grow_file("disk.img", 96);
	is_int(alternate_lba("disk.img"), 32 * MIB / 512 - 1,
	       "written to a larger disk, the backup is where the image ended");

	int r = growroot_table("disk.img", 5 * MIB, &size, &partno, &changed, &msg);
	is_int(r, 0, "grown");
	if (r < 0)
		printf("# %s\n", msg);
	ok(changed, "... and written");
	is_int(partno, 2, "... partition 2");
	is_int(alternate_lba("disk.img"), 96 * MIB / 512 - 1,
	       "the primary header points at the disk's last sector");
	ok(backup_at("disk.img", 96 * MIB / 512 - 1), "the backup header is there");
	/* from 5 MiB up to the last usable sector (33 sectors before the end),
	 * the size a multiple of 1 MiB */
	is_int(size, 90 * MIB, "the partition reaches the end, in whole MiB");

	stat("disk.img", &st0);
	uint64_t size2 = 0;
	r = growroot_table("disk.img", 5 * MIB, &size2, &partno, &changed, &msg);
	is_int(r, 0, "run again");
	ok(!changed, "... writes nothing");
	is_int(size2, size, "... and finds the same size");

	/* interrupted between the two writes: the backup moved, the partition
	 * not grown yet; the next run finishes it */
	ok(make_disk("half.img", 32, parts, ELEMENTSOF(parts)) == 0, "another 32 MiB GPT disk");
	grow_file("half.img", 64);
	ok(relocate_only("half.img") == 0, "its backup moved to the end alone");
	r = growroot_table("half.img", 5 * MIB, &size, &partno, &changed, &msg);
	is_int(r, 0, "the next run");
	ok(changed, "... grows the partition");
	is_int(size, 58 * MIB, "... to the end");
	is_int(alternate_lba("half.img"), 64 * MIB / 512 - 1,
	       "... with the backup still at the end");

	/* a root that is not the last partition */
	static const unsigned three[] = { 4, 10, 10 };
	ok(make_disk("mid.img", 32, three, ELEMENTSOF(three)) == 0,
	   "a disk with a partition after the root");
	grow_file("mid.img", 64);
	stat("mid.img", &st0);
	r = growroot_table("mid.img", 5 * MIB, &size, &partno, &changed, &msg);
	is_int(r, -EXDEV, "the root not last is refused");
	ok(msg && strstr(msg, "partition 2 of 'mid.img' is not the last (partition 3 follows)"),
	   "... saying which follows: %s", msg);
	free(msg);
	msg = NULL;
	is_int(alternate_lba("mid.img"), 32 * MIB / 512 - 1, "... and the table is left as it was");

	r = growroot_table("mid.img", 7 * MIB, &size, &partno, &changed, &msg);
	is_int(r, -ENOENT, "no partition starts there");
	free(msg);
	msg = NULL;

	/* no GPT */
	int fd = open("blank.img", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	ok(fd >= 0 && ftruncate(fd, (off_t)(8 * MIB)) == 0, "a blank disk");
	close(fd);
	fstatat(AT_FDCWD, "blank.img", &st0, 0);
	r = growroot_table("blank.img", MIB, &size, &partno, &changed, &msg);
	is_int(r, -EMEDIUMTYPE, "a disk without GPT is refused");
	ok(msg && strstr(msg, "'blank.img' has no GPT partition table"), "... saying so: %s", msg);
	free(msg);
	fstatat(AT_FDCWD, "blank.img", &st1, 0);
	is_int(st1.st_blocks, st0.st_blocks, "... and nothing is written");

	return tap_done();
}
