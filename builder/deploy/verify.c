/* SPDX-License-Identifier: MIT */
/*
 * verify.c - after the copy (and its read-back, copy.c), for one target: the
 * holes made zeros where the target does not guarantee it, then the
 * partition table finished: the backup GPT
 * header, the protective MBR and the primary header written last, the
 * backup moved to the end of a larger disk (libfdisk), and read back.
 * Until that last write the target holds no partition table, so an
 * interrupted deploy never leaves a disk that looks deployed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libfdisk/libfdisk.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/deploy/deploy.h"
#include "lib/basic/macro.h"

/* Zeros between the mapped ranges, on a block device (a file target was
 * emptied and sized, so its holes read as zeros already). */
int deploy_zero_holes(struct deploy_source *s, struct deploy_target *t)
{
	const struct bmap *b = s->bmap;
	uint64_t at = 0;
	if (t->zeroed)
		return 0;
	for (size_t i = 0; i <= b->n_ranges; i++) {
		uint64_t next =
			i < b->n_ranges ? bmap_range_offset(b, &b->ranges[i]) : b->image_size;
		int r = deploy_zero(t, at, next - at);
		if (r < 0)
			return deploy_target_fail(
				t, r, "cannot zero '%s' at bytes %" PRIu64 "-%" PRIu64 ": %s",
				t->path, at, next, strerror(-r));
		if (i < b->n_ranges)
			at = next + bmap_range_length(b, &b->ranges[i]);
	}
	if (fdatasync(t->fd) < 0)
		return deploy_target_fail(t, -errno, "cannot flush '%s': %m", t->path);
	return 0;
}

int deploy_pread(int fd, uint8_t *buf, size_t n, uint64_t off)
{
	for (size_t done = 0; done < n;) {
		ssize_t k = pread(fd, buf + done, n - done, (off_t)(off + done));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EIO;
		done += (size_t)k;
	}
	return 0;
}

/* Writes n bytes at off through an aligned buffer (the target may be O_DIRECT). */
static int write_aligned(struct deploy_target *t, const uint8_t *p, size_t n, uint64_t off)
{
	uint8_t *buf = NULL;
	if (posix_memalign((void **)&buf, 4096, MAX(n, (size_t)4096)) != 0)
		return -ENOMEM;
	memcpy(buf, p, n);
	ssize_t k = pwrite(t->fd, buf, n, (off_t)off);
	int r = k == (ssize_t)n ? 0 : k < 0 ? -errno : -ENOSPC;
	free(buf);
	return r;
}

/* On a disk larger than the image: the backup GPT moved to its end, the
 * primary header told so (libfdisk, as sfdisk --relocate gpt-bak-std). */
static int relocate_backup(struct deploy_target *t, uint64_t *ret_alt)
{
	struct fdisk_context *cxt = fdisk_new_context();
	if (!cxt)
		return -ENOMEM;
	fdisk_disable_dialogs(cxt, 1);
	int r = fdisk_assign_device(cxt, t->path, 0);
	if (r >= 0 && !fdisk_is_labeltype(cxt, FDISK_DISKLABEL_GPT))
		r = -EBADMSG;
	if (r >= 0) {
		fdisk_label_set_changed(fdisk_get_label(cxt, NULL), 1);
		r = fdisk_write_disklabel(cxt);
	}
	if (r >= 0)
		*ret_alt = (uint64_t)fdisk_get_nsectors(cxt) - 1;
	int q = fdisk_deassign_device(cxt, 0);
	fdisk_unref_context(cxt);
	return r < 0 ? r : q;
}

/* The partition table as written: the head as the image has it, or, after
 * a relocation, with a primary header that points at the disk's last LBA. */
static int check_head(struct deploy_target *t, const struct deploy_deferred *d, unsigned sector,
		      bool relocated, uint64_t alt_lba)
{
	uint8_t *buf = NULL;
	if (!t->direct)
		(void)posix_fadvise(t->fd, 0, 0, POSIX_FADV_DONTNEED);
	if (posix_memalign((void **)&buf, 4096, MAX(d->head_len, (uint64_t)4096)) != 0)
		return -ENOMEM;
	int r = deploy_pread(t->fd, buf, (size_t)MAX(d->head_len, (uint64_t)4096) / 4096 * 4096, 0);
	if (r >= 0 && !relocated && memcmp(buf, d->head, d->head_len) != 0)
		r = -EIO;
	if (r >= 0 && relocated) {
		uint64_t alt = 0;
		memcpy(&alt, buf + sector + 32, sizeof(alt)); /* little endian here (x86) */
		if (memcmp(buf + sector, "EFI PART", 8) != 0 || alt != alt_lba)
			r = -EIO;
	}
	free(buf);
	return r;
}

int deploy_finish(struct deploy_source *s, struct deploy_target *t, const struct deploy_deferred *d)
{
	uint64_t alt = 0;
	bool relocate = s->sector_size && t->block && t->size > s->bmap->image_size;
	int r = 0;

	if (d->tail_len)
		r = write_aligned(t, d->tail, d->tail_len, d->tail_off);
	if (r >= 0) /* the head last: from here the disk has a partition table */
		r = write_aligned(t, d->head, d->head_len, 0);
	if (r >= 0 && fdatasync(t->fd) < 0)
		r = -errno;
	if (r < 0)
		return deploy_target_fail(t, r, "cannot write the partition table of '%s': %s",
					  t->path, strerror(-r));
	if (relocate) {
		r = relocate_backup(t, &alt);
		if (r < 0)
			return deploy_target_fail(
				t, r, "cannot move the backup GPT of '%s' to its end: %s", t->path,
				strerror(-r));
	}
	r = check_head(t, d, s->sector_size, relocate, alt);
	if (r < 0)
		return deploy_target_fail(t, r,
					  "read back from '%s', the partition table differs "
					  "from the image's",
					  t->path);
	t->result = TARGET_DEPLOYED;
	return 0;
}
