/* SPDX-License-Identifier: MIT */
/*
 * part-bios.c - the BIOS boot partition's row, where the recipe boots
 * BIOS firmware too: no filesystem, GRUB's core.img written into it once
 * the partition table is there (loader-grub.c).
 */
#include "builder/image/build-private.h"

static bool bios_wanted(const struct recipe *r)
{
	return r->firmware & FIRMWARE_BIOS;
}

static uint64_t bios_size(const struct recipe *r _unused_)
{
	return RECIPE_BIOS_BOOT_SIZE;
}

static const char *bios_label(const struct recipe *r _unused_)
{
	return "bios";
}

static int bios_write(struct build *b, struct image_slot *slot)
{
	_cleanup_free_ char *msg = NULL;
	int k = grub_install_bios(b->raw_path, slot->offset, slot->size, b->grub.prefix,
				  b->root->fs_uuid, &msg);
	if (k < 0)
		return errmsg_errno(b->err, k, "%s", msg ? msg : strerror(-k));
	return 0;
}

const struct partition_kind partition_bios = {
	.name = "bios",
	.type = GPT_TYPE_BIOS_BOOT,
	.fs = "none",
	.wanted = bios_wanted,
	.size = bios_size,
	.label = bios_label,
	.phase = PARTITION_PHASE_AFTER_GPT,
	.write = bios_write,
};
