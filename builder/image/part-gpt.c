/* SPDX-License-Identifier: MIT */
/*
 * part-gpt.c - the partition table writer: GPT through libfdisk on the raw
 * image file, with a protective MBR, 1 MiB aligned slots and the derived
 * disk and partition GUIDs. Also the GUID derivation itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libfdisk/libfdisk.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/image/image.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/macro.h"

void uuid_derive(const uint8_t seed[SHA256_DIGEST_SIZE], const char *label,
		 char ret[UUID_STRING_SIZE])
{
	size_t n = strlen(label);
	uint8_t buf[SHA256_DIGEST_SIZE + 256], d[SHA256_DIGEST_SIZE];
	n = MIN(n, sizeof(buf) - SHA256_DIGEST_SIZE);
	memcpy(buf, seed, SHA256_DIGEST_SIZE);
	memcpy(buf + SHA256_DIGEST_SIZE, label, n);
	if (sha256_buffer(buf, SHA256_DIGEST_SIZE + n, d) < 0)
		memset(d, 0, sizeof(d));
	d[6] = (d[6] & 0x0f) | 0x50; /* version 5: name-based, SHA */
	d[8] = (d[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	snprintf(ret, UUID_STRING_SIZE,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", d[0], d[1],
		 d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14],
		 d[15]);
}

static int fail(char **reterr_msg, int r, const char *what, const char *path)
{
	return errmsg_errno(reterr_msg, r < 0 ? r : -EIO, "cannot %s on '%s': %m", what, path);
}

int gpt_write(const char *path, uint64_t disk_size _unused_, const char *disk_uuid,
	      const struct image_slot *slots, unsigned n_slots, char **reterr_msg)
{
	struct fdisk_context *cxt = fdisk_new_context();
	int r;

	if (!cxt)
		return -ENOMEM;
	r = fdisk_assign_device(cxt, path, 0);
	if (r < 0) {
		fdisk_unref_context(cxt);
		return fail(reterr_msg, r, "open the disk", path);
	}
	fdisk_disable_dialogs(cxt, 1);
	r = fdisk_create_disklabel(cxt, "gpt");
	if (r < 0)
		goto out_fail_label;
	r = fdisk_set_disklabel_id_from_string(cxt, disk_uuid);
	if (r < 0)
		goto out_fail_label;

	struct fdisk_label *lb = fdisk_get_label(cxt, NULL);
	for (unsigned i = 0; i < n_slots; i++) {
		const struct image_slot *s = &slots[i];
		struct fdisk_partition *pa = fdisk_new_partition();
		struct fdisk_parttype *type = fdisk_label_parse_parttype(lb, s->type);
		if (!pa || !type) {
			fdisk_unref_partition(pa);
			fdisk_unref_parttype(type);
			r = -ENOMEM;
			goto out_fail_part;
		}
		fdisk_partition_set_partno(pa, i);
		fdisk_partition_set_start(pa, s->offset / SECTOR_SIZE);
		fdisk_partition_set_size(pa, s->size / SECTOR_SIZE);
		fdisk_partition_set_type(pa, type);
		fdisk_partition_set_name(pa, s->name);
		fdisk_partition_set_uuid(pa, s->uuid);
		r = fdisk_add_partition(cxt, pa, NULL);
		fdisk_unref_partition(pa);
		fdisk_unref_parttype(type);
		if (r < 0)
			goto out_fail_part;
	}
	r = fdisk_write_disklabel(cxt);
	if (r < 0) {
		fdisk_unref_context(cxt);
		return fail(reterr_msg, r, "write the partition table", path);
	}
	r = fdisk_deassign_device(cxt, 0);
	fdisk_unref_context(cxt);
	if (r < 0)
		return fail(reterr_msg, r, "write the partition table", path);
	return 0;

out_fail_label:
	fdisk_unref_context(cxt);
	return fail(reterr_msg, r, "create a GPT", path);
out_fail_part:
	fdisk_unref_context(cxt);
	return fail(reterr_msg, r, "add a partition", path);
}
