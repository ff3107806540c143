/* SPDX-License-Identifier: MIT */
/*
 * entry.h - the boot loader entry a disk image would boot: the EFI
 * system partition found through the GPT, systemd-boot's loader.conf and
 * default entry read with mtools, the kernel and initrd copied out. Works on
 * any image format qemu-img reads, without mounting anything.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct boot_entry {
	char *id;	     /* entry file name, e.g. "enlighten.conf" */
	char *title;	     /* its title, or NULL */
	bool is_default;     /* systemd-boot starts it as the disk is */
	char *kernel;	     /* path of the kernel copied out, or NULL (an `efi` entry) */
	char *initrd;	     /* path of its initrds (concatenated), or NULL */
	char *options;	     /* the kernel command line of the entry ("" when none) */
	char *linux_path;    /* the `linux` line: the kernel's path in the ESP (in the root
			      * for GRUB: on_root), or NULL */
	char **initrd_paths; /* the `initrd` lines, or NULL */
	bool on_root;	     /* those paths are in the root filesystem, not the ESP */
	char *efi;	     /* the `efi` line: an EFI program's path in the ESP, or NULL */
	char *xen_cfg;	     /* a Xen entry: the path of the xen.cfg beside xen.efi */
	char *xen_cfg_text;  /* and its text */
	/* a GRUB entry: the root's grubenv (its text, and where its block lies
	 * in the image), in which next_entry makes it the one booted */
	char *grubenv;
	size_t grubenv_size;
	uint64_t grubenv_offset;
};

enum boot_entry_kind {
	BOOT_ENTRY_PLAIN, /* the default entry, or the newest that starts a kernel when the
			   * default is an `efi` one (Xen): the plain kernel */
	BOOT_ENTRY_XEN,	  /* the newest entry whose `efi` line starts xen*.efi */
};

/* Reads image (of format, as qemu-img names it) and picks the entry of
 * kind; for a plain entry copies its kernel and initrd into dir. An entry
 * with an `efi` line has no kernel to copy: it can only boot through the
 * firmware. Returns 0, -ENOENT when the image has no ESP, no systemd-boot
 * entry or no Xen entry, -EBADMSG for a malformed GPT or entry, or another
 * -errno; *reterr_msg (may be NULL) then says what in words. */
int boot_entry_extract(const char *image, const char *format, const char *dir,
		       enum boot_entry_kind kind, struct boot_entry **ret, char **reterr_msg);
void boot_entry_free(struct boot_entry *e);

/* Makes e the entry the disk's loader starts on image, a qcow2 file
 * written in place (boot-test's overlay): loader.conf's `default` names it
 * (systemd-boot), or grubenv's next_entry as `grub-reboot` sets it (GRUB: an
 * entry with grubenv_size), and for a
 * Xen entry each of xen_add ("word" or "key=value", NULL-terminated, may be
 * NULL) that Xen's options lack is added to them in its xen.cfg, and each of
 * dom0_add to dom0's kernel line. Only the changed blocks of the ESP are
 * written back (with qemu-io). */
int boot_entry_make_default(const char *image, const char *dir, const struct boot_entry *e,
			    char *const *xen_add, char *const *dom0_add, char **reterr_msg);

/* For a GRUB menu entry that chain-loads efi (a path on the ESP): e's efi,
 * and for xen*.efi its xen.cfg and text, read from image's ESP. Returns 0,
 * or -errno with *reterr_msg. */
int boot_entry_fill_efi(const char *image, const char *format, const char *dir, const char *efi,
			struct boot_entry *e, char **reterr_msg);

/* Whether efi (a path) names a Xen EFI program: xen*.efi. */
bool boot_efi_is_xen(const char *efi);

/* Whether the command line names the first serial port as a console. */
int boot_entry_has_serial_console(const char *options);

/* The same lookup, for the first partition of the given type GUID (as
 * stored on disk, mixed endian). */
int gpt_find_type(const uint8_t *buf, size_t n, const uint8_t type[16], uint64_t *ret_first,
		  uint64_t *ret_count, size_t *ret_need);

/* Copies count blocks of bs bytes from skip blocks into the image (of
 * format) to the raw file out (qemu-img dd). */
int boot_image_dd(const char *image, const char *format, const char *out, uint64_t bs,
		  uint64_t skip, uint64_t count, char **reterr_msg);

/* Runs a tool; its stdout into *ret_out when asked. A non-zero exit gives
 * -EIO with the tool's stderr in *reterr_msg. */
int boot_run_tool(char *const argv[], char **ret_out, char **reterr_msg);

/* For a disk that boots through GRUB (docs/boot-loaders.md): the root
 * partition (GPT type root x86-64) copied out sparsely, its
 * /boot/grub/grub.cfg (or /boot/grub2/) read. BOOT_ENTRY_PLAIN: the default
 * menu entry's kernel and initrd copied into dir, symlinks such as
 * /vmlinuz followed; id is "grub.cfg", title the entry's. BOOT_ENTRY_XEN:
 * the first entry that chain-loads xen*.efi, its xen.cfg read from the
 * ESP, and the grubenv beside grub.cfg located (grubenv_*), so that
 * boot_entry_make_default() can set next_entry to its id. Returns 0,
 * -ENOENT when the disk has no root partition, no grub.cfg, no such entry
 * or no grubenv for a Xen entry, or another -errno, with *reterr_msg
 * saying what. */
int boot_entry_extract_grub(const char *image, const char *format, const char *dir,
			    enum boot_entry_kind kind, struct boot_entry **ret, char **reterr_msg);

/* The root partition (GPT type root x86-64) of image copied out sparsely
 * into dir (a scratch directory; the copy is unlinked once open) and opened
 * read-only with the builder's ext4 reader (builder/image/fs-ext4.h): for
 * reading files of a disk whose guest is powered off. Close it with
 * ext4_abort(). Returns 0, -ENOENT when there is no root partition, or
 * another -errno, with *reterr_msg saying what. */
struct ext4;
int boot_root_open(const char *image, const char *format, const char *dir, struct ext4 **ret,
		   char **reterr_msg);

/* boot_entry_extract(), and when the disk has no systemd-boot entry and
 * grub is true, boot_entry_extract_grub(). */
int boot_entry_find(const char *image, const char *format, const char *dir,
		    enum boot_entry_kind kind, bool grub, struct boot_entry **ret,
		    char **reterr_msg);

/* Parses a GPT from the first sectors of a disk (buf, n bytes) and returns
 * the first ESP's first sector and sector count (512-byte sectors).
 * -EBADMSG: no GPT; -ENOENT: no ESP; -ENOSPC: the entries lie beyond n
 * (*ret_need then says how many bytes are needed). */
int gpt_find_esp(const uint8_t *buf, size_t n, uint64_t *ret_first, uint64_t *ret_count,
		 size_t *ret_need);

/* loader.conf's text old (may be NULL) with `default` set to id, its other
 * lines kept. NULL: out of memory. */
char *loader_conf_with_default(const char *old, const char *id);

/* xen.cfg's text old with each of add ("word" or "key=value", skipped when
 * the line has that key already) appended to every options= line, and each
 * of add_dom0 to every kernel= line. NULL: out of memory. */
char *xen_cfg_with(const char *old, char *const *add, char *const *add_dom0);
