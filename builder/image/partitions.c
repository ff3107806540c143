/* SPDX-License-Identifier: MIT */
/*
 * partitions.c - the table of partition kinds in disk order, and what the
 * build does with it: the layout of the slots, their GUIDs, and the
 * writers run phase by phase (partition.h).
 */
#include "builder/image/build-private.h"

/* [BIOS boot,] ESP, [MSR, Windows,] root. The dual disk follows
 * Microsoft's order for GPT; the BIOS boot partition, where it is, comes
 * first, as KIWI and the Debian installer put it. */
static const struct partition_kind *const partition_table[] = {
	&partition_bios, &partition_esp, &partition_msr, &partition_windows, &partition_root,
};

void partitions_layout(struct build *b)
{
	const struct recipe *r = b->recipe;
	uint64_t start = MIB;
	unsigned n = 0;

	for (size_t i = 0; i < ELEMENTSOF(partition_table) && n < SLOTS_MAX; i++) {
		const struct partition_kind *k = partition_table[i];
		if (k->wanted && !k->wanted(r))
			continue;
		uint64_t size = k->size ? k->size(r) : 0;
		struct image_slot *s = &b->slots[n];
		*s = (struct image_slot){
			.name = k->name,
			.type = k->type,
			.label = k->label(r),
			.offset = start,
			.size = size ? size : r->size - MIB - start, /* the backup GPT's MiB */
		};
		if (k->fs_uuid) {
			/* from the recipe: they are needed before the inputs are read */
			_cleanup_free_ char *seed = strjoin(k->name, "-filesystem");
			uuid_derive(r->hash, seed ? seed : k->name, s->fs_uuid);
		}
		b->kinds[n++] = k;
		start += s->size;
	}
	b->n_slots = n;
	for (unsigned i = 0; i < n; i++) {
		struct image_slot **p = b->kinds[i] == &partition_bios	    ? &b->bios
					: b->kinds[i] == &partition_esp	    ? &b->esp
					: b->kinds[i] == &partition_msr	    ? &b->msr
					: b->kinds[i] == &partition_windows ? &b->windows_slot
									    : &b->root;
		*p = &b->slots[i];
	}
}

void partitions_derive_uuids(struct build *b, const uint8_t *seed)
{
	uuid_derive(seed, "disk", b->disk_uuid);
	for (unsigned i = 0; i < b->n_slots; i++) {
		char label[64];
		snprintf(label, sizeof(label), "partition-%s", b->slots[i].name);
		uuid_derive(seed, label, b->slots[i].uuid);
	}
}

int partitions_write(struct build *b, enum partition_phase phase)
{
	for (unsigned i = 0; i < b->n_slots; i++) {
		if (b->kinds[i]->phase != phase || !b->kinds[i]->write)
			continue;
		int k = b->kinds[i]->write(b, &b->slots[i]);
		if (k < 0)
			return k;
	}
	return 0;
}
