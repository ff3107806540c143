/* SPDX-License-Identifier: MIT */
/*
 * loader-grub.h - GRUB 2 as the image's boot loader, made without root and without
 * grub-install's device probing: grub-mkimage builds the EFI image from the
 * module directory of Debian's grub-efi-amd64-bin, with an early
 * configuration that finds the root filesystem by its UUID, and for BIOS
 * core.img (from grub-pc-bin) in the BIOS boot partition with boot.img's
 * code in the MBR, as grub-bios-setup writes them; grub.cfg on the
 * root boots the kernel that the distribution's own kernel links name, so a
 * kernel update by its package manager is what boots next.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct ext4;

#define GRUB_EFI_DIR "/usr/lib/grub/x86_64-efi"
#define GRUB_PC_DIR "/usr/lib/grub/i386-pc"

/* What grub.cfg boots. */
struct grub_config {
	const char *title;	   /* the menu entry's title (the image's name) */
	const char *root_fs_uuid;  /* the root filesystem, searched for by UUID */
	const char *cmdline;	   /* full kernel command line, root= included */
	const char *kernel;	   /* the kernel the build picked, "boot/vmlinuz-V" */
	const char *initrd;	   /* its initrd, "boot/initrd.img-V" */
	bool kernel_pinned;	   /* Kernel= named it: no link is followed */
	const char *windows_title; /* a dual disk: an entry for the Windows Boot Manager */
	const char *xen_efi;	   /* [Xen]: xen.efi on the ESP ("/NAME/V/xen.efi"), or NULL */
	bool xen_default;	   /* its entry is the default under UEFI */
};

/* What grub_install_config() chose, for the build's notes. */
struct grub_choice {
	char *prefix;	   /* GRUB's directory on the root: "boot/grub" or "boot/grub2" */
	char *kernel_link; /* the link the entry boots ("vmlinuz", "boot/vmlinuz"), or NULL */
	bool mkconfig;	   /* the base has update-grub or grub2-mkconfig */
};
void grub_choice_done(struct grub_choice *c);

/* Writes PREFIX/grub.cfg into the root: one entry for the kernel the
 * distribution's links name (Debian's /vmlinuz and /initrd.img, SLES's
 * /boot/vmlinuz and /boot/initrd), one for the previous kernel where the base
 * keeps that link, or the picked kernel itself when the base has no links or
 * Kernel= pins one. When the base has its own grub-mkconfig, the kernel
 * command line also goes to /etc/default/grub.d/ so that its regenerated
 * grub.cfg keeps it. Returns 0 and fills *ret, or -errno with *reterr_msg. */
int grub_install_config(struct ext4 *e, const struct grub_config *c, struct grub_choice *ret,
			char **reterr_msg);

/* Runs grub-mkimage for format ("x86_64-efi") from the module directory dir,
 * with an early configuration that sets root to the filesystem with
 * root_fs_uuid and prefix to its /PREFIX, into out_fd. Returns 0, or -errno
 * with *reterr_msg naming what is missing or what grub-mkimage said. */
int grub_mkimage(const char *format, const char *dir, const char *prefix, const char *root_fs_uuid,
		 int out_fd, char **reterr_msg);

/* The same with the early configuration given as text, and modules beyond
 * the usual ones (extra: NULL-terminated, may be NULL). */
int grub_mkimage_early(const char *format, const char *dir, const char *prefix, const char *early,
		       char *const *extra, int out_fd, char **reterr_msg);

/* GRUB for BIOS, into the image file at path once its GPT is written:
 * core.img (grub-mkimage -O i386-pc, the same early configuration) into the
 * BIOS boot partition at offset (size bytes), its first sector's block list
 * pointing at the rest of it, and boot.img's code into the MBR pointing at
 * core.img, the MBR's disk signature and partition table kept. Returns 0,
 * or -errno with *reterr_msg (-EFBIG: core.img does not fit). */
int grub_install_bios(const char *path, uint64_t offset, uint64_t size, const char *prefix,
		      const char *root_fs_uuid, char **reterr_msg);

/* The signed GRUB's configuration on the ESP (EFI/debian/grub.cfg, where
 * Debian's grubx64.efi.signed looks: its built-in prefix is /EFI/debian):
 * the early configuration above, then configfile PREFIX/grub.cfg. NULL when
 * out of memory. */
char *grub_signed_stub(const char *prefix, const char *root_fs_uuid);

#define GRUB_SIGNED_CONFIG "EFI/debian/grub.cfg"
