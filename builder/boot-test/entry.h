/* SPDX-License-Identifier: MIT */
/*
 * entry.h - the boot loader entry a disk image would boot: the EFI
 * system partition found through the GPT, systemd-boot's loader.conf and
 * default entry read with mtools, the kernel and initrd copied out. Works on
 * any image format qemu-img reads, without mounting anything.
 */
#pragma once

#include <stdint.h>

struct boot_entry {
	char *id;      /* entry file name, e.g. "enlighten.conf" */
	char *title;   /* its title, or NULL */
	char *kernel;  /* path of the kernel copied out */
	char *initrd;  /* path of its initrds (concatenated), or NULL */
	char *options; /* the kernel command line of the entry ("" when none) */
};

/* Reads image (of format, as qemu-img names it) and copies the default
 * entry's kernel and initrd into dir. Returns 0, -ENOENT when the image has
 * no ESP or no systemd-boot entry, -EBADMSG for a malformed GPT or entry,
 * or another -errno; *reterr_msg (may be NULL) then says what in words. */
int boot_entry_extract(const char *image, const char *format, const char *dir,
		       struct boot_entry **ret, char **reterr_msg);
void boot_entry_free(struct boot_entry *e);

/* Whether the command line names the first serial port as a console. */
int boot_entry_has_serial_console(const char *options);

/* Parses a GPT from the first sectors of a disk (buf, n bytes) and returns
 * the first ESP's first sector and sector count (512-byte sectors).
 * -EBADMSG: no GPT; -ENOENT: no ESP; -ENOSPC: the entries lie beyond n
 * (*ret_need then says how many bytes are needed). */
int gpt_find_esp(const uint8_t *buf, size_t n, uint64_t *ret_first, uint64_t *ret_count,
		 size_t *ret_need);
