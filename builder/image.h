/* SPDX-License-Identifier: MIT */
/*
 * image.h - one disk image being built: a sparse raw file and the partition
 * slots that the writers (GPT, ext4, FAT) fill. Identifiers are derived
 * from a seed (the recipe's and the inputs' hashes), so the same inputs
 * give the same bytes.
 */
#pragma once

#include <stdint.h>
#include <time.h>

#include "lib/hash.h"

#define UUID_STRING_SIZE 37
#define SECTOR_SIZE 512
#define MIB (1024ULL * 1024)

/* GPT partition types (Discoverable Partitions Specification). */
#define GPT_TYPE_ESP "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
#define GPT_TYPE_ROOT_X86_64 "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"

struct image_slot {
	const char *name;  /* GPT partition name */
	const char *type;  /* GPT type GUID */
	const char *label; /* filesystem label */
	uint64_t offset;   /* bytes from the start of the disk */
	uint64_t size;
	char uuid[UUID_STRING_SIZE];    /* PARTUUID */
	char fs_uuid[UUID_STRING_SIZE]; /* filesystem UUID (or FAT serial source) */
};

/* UUIDv5-like: SHA-256 of seed and label, version and variant bits set. */
void uuid_derive(const uint8_t seed[SHA256_DIGEST_SIZE], const char *label,
		 char ret[UUID_STRING_SIZE]);

/* Writes a GPT with the slots (protective MBR, 1 MiB alignment). */
int gpt_write(const char *path, uint64_t disk_size, const char *disk_uuid,
	      const struct image_slot *slots, unsigned n_slots, char **reterr_msg);

/* Boot files for the ESP, taken from the base tarball. */
struct esp_content {
	int kernel_fd; /* readable fds, not close-on-exec (mcopy reads /dev/fd/N) */
	int initrd_fd;
	const char *kernel_version; /* "6.1.0-56-amd64", for the entry title */
	const char *title;
	const char *cmdline; /* full command line, root= included */
	const char *entry_name;
	const char *systemd_boot; /* path of systemd-bootx64.efi */
	time_t now;
};

/* Formats the slot as FAT32 and installs systemd-boot with one entry. */
int fat_write(const char *path, const struct image_slot *slot, const struct esp_content *c,
	      char **reterr_msg);
