/* SPDX-License-Identifier: MIT */
/*
 * image.h - one disk image being built: a sparse raw file and the partition
 * slots that the writers (GPT, ext4, FAT) fill. Identifiers are derived
 * from a seed (the recipe's and the inputs' hashes), so the same inputs
 * give the same bytes.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "lib/basic/hash.h"

#define UUID_STRING_SIZE 37
#define SECTOR_SIZE 512
#define MIB (1024ULL * 1024)

/* GPT partition types (Discoverable Partitions Specification). */
#define GPT_TYPE_ESP "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
#define GPT_TYPE_ROOT_X86_64 "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"
/* The BIOS boot partition: GRUB's core.img, no filesystem. */
#define GPT_TYPE_BIOS_BOOT "21686148-6449-6E6F-744E-656564454649"
/* Microsoft Reserved Partition and Microsoft basic data (the NTFS volume). */
#define GPT_TYPE_MSR "E3C9E316-0B5C-4DB8-817D-F92DF00215AE"
#define GPT_TYPE_MS_BASIC_DATA "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"

struct image_slot {
	const char *name;  /* GPT partition name */
	const char *type;  /* GPT type GUID */
	const char *label; /* filesystem label */
	uint64_t offset;   /* bytes from the start of the disk */
	uint64_t size;
	char uuid[UUID_STRING_SIZE];	/* PARTUUID */
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
	/* GRUB: its EFI image (readable, not close-on-exec) goes in as the
	 * removable-media loader, and nothing else of the Linux side: its kernel
	 * stays on the root; -1: systemd-boot with the entry below */
	int grub_fd;
	/* GRUB under Secure Boot: shim as the removable-media loader, the
	 * signed GRUB beside it as grubx64.efi, MokManager (NULL: none) as
	 * mmx64.efi, and the signed GRUB's configuration stub in EFI/debian/;
	 * NULL: not Secure Boot */
	const char *shim, *signed_grub, *mok_manager, *grub_stub;
	int kernel_fd; /* readable fds, not close-on-exec (mcopy reads /dev/fd/N) */
	int initrd_fd;
	const char *kernel_version; /* "6.1.0-56-amd64", for the entry title */
	const char *title;
	const char *cmdline; /* full command line, root= included */
	const char *entry_name;
	const char *systemd_boot; /* path of systemd-bootx64.efi */
	time_t now;
	/* a dual disk: a host directory holding EFI/Microsoft/Boot (the Windows
	 * Boot Manager), copied in with a loader entry for it; NULL: Linux only */
	const char *windows_boot_dir;
	const char *windows_title;
	/* a Xen entry (builder/image/xen.h): xen.efi (xen_efi_fd, readable, not
	 * close-on-exec) and its xen.cfg beside the kernel; NULL xen_cfg: none */
	const char *xen_cfg;
	int xen_efi_fd;
	bool xen_default; /* the loader's default entry */
};

/* The environment of the tools a build runs (mtools, xorriso): ours
 * without the caller's SOURCE_DATE_EPOCH and mtools settings, with
 * SOURCE_DATE_EPOCH=now (in epoch), so that every date they write is the
 * build's; *ret_envp (freed by the caller) points into environ and epoch. */
#define TOOL_ENV_EPOCH_SIZE 64
int tool_env(time_t now, char epoch[TOOL_ENV_EPOCH_SIZE], char ***ret_envp);

/* Formats the slot as FAT32 and installs systemd-boot with one entry, and
 * one more for the Windows Boot Manager when the content has it; or GRUB's
 * EFI image (and the Windows Boot Manager's files). */
int fat_write(const char *path, const struct image_slot *slot, const struct esp_content *c,
	      char **reterr_msg);
