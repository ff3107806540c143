/* SPDX-License-Identifier: MIT */
/*
 * partition.h - the partition table of an image as a table of rows: each
 * kind of partition (the BIOS boot partition, the ESP, the Microsoft
 * Reserved Partition, the Windows volume, the root) is one struct in its
 * own part-NAME.c, listed in disk order in partitions.c. Adding a kind of
 * partition is adding a file and a row.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct build;
struct image_slot;
struct recipe;

/* When a row's writer runs; within a phase, rows run in disk order. */
enum partition_phase {
	PARTITION_PHASE_FIRST,	   /* before the root: what the root's build.json records */
	PARTITION_PHASE_ROOT,	   /* the root, and the boot files its base holds */
	PARTITION_PHASE_BOOT,	   /* what boots the root's kernel */
	PARTITION_PHASE_AFTER_GPT, /* what needs the partition table written */
	PARTITION_PHASE_MAX,
};

struct partition_kind {
	const char *name; /* GPT partition name; its GUID is derived from "partition-NAME" */
	const char *type; /* GPT type GUID */
	const char *fs;	  /* the manifest's filesystem: "vfat", "ext4", "ntfs", "none" */
	/* filesystem UUID derived from the recipe as "NAME-filesystem" */
	bool fs_uuid;
	bool (*wanted)(const struct recipe *r);
	/* the size, from the recipe; 0: the rest of the disk (the last row) */
	uint64_t (*size)(const struct recipe *r);
	const char *(*label)(const struct recipe *r);
	enum partition_phase phase;
	/* fills the slot; NULL: nothing to write (the MSR). Returns 0, or
	 * -errno with the build's message set. */
	int (*write)(struct build *b, struct image_slot *slot);
};

extern const struct partition_kind partition_bios, partition_esp, partition_msr, partition_windows,
	partition_root;

/* The recipe's slots in disk order, 1 MiB aligned, each with its kind. */
void partitions_layout(struct build *b);

/* Each slot's PARTUUID and the disk's GUID, from the seed of every input. */
void partitions_derive_uuids(struct build *b, const uint8_t *seed);

/* Runs the writers of one phase, in disk order. */
int partitions_write(struct build *b, enum partition_phase phase);
