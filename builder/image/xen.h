/* SPDX-License-Identifier: MIT */
/*
 * xen.h - the image's Xen entry: xen.efi taken out of the hypervisor
 * package among the signed payloads, the dom0 kernel's Xen support checked
 * from its config, and the xen.cfg that the ESP carries beside xen.efi
 * (docs/recipe-format.md, [Xen]).
 */
#pragma once

#include <stdint.h>

#include "lib/trust/catalog.h"

#define XEN_EFI_MAX (64u << 20)		 /* xen.efi is about 3 MiB */
#define XEN_KERNEL_CONFIG_MAX (1u << 20) /* boot/config-V is about 260 KiB */

struct xen_efi {
	int fd;	      /* a memfd holding xen.efi, not close-on-exec (mcopy reads it) */
	char *member; /* its path in the package, "boot/xen-4.17-amd64.efi" */
	const struct catalog_payload *payload;
};

void xen_efi_done(struct xen_efi *x);

/* Finds the package named package (a .deb's or RPM's name) in cat, checks
 * its length and SHA-256 once more on the descriptor it then reads, and
 * copies the newest xen*.efi it holds (boot/xen-V.efi on Debian,
 * usr/lib64/efi/xen*.efi on SUSE) into a memfd. Errors: -ENOENT (no such
 * package, or no xen.efi in it), -EBADMSG (not a readable package),
 * -EFBIG; *reterr_msg says which and what to do. */
int xen_efi_from_payload(int repo_fd, const struct catalog *cat, const char *package,
			 struct xen_efi *ret, char **reterr_msg);

/* 1 when the kernel config text (boot/config-V) builds in Xen dom0 support
 * (CONFIG_XEN_DOM0=y), 0 when not. */
int xen_kernel_config_has_dom0(const char *config);

struct xen_cfg_opts {
	const char *section;	 /* the image name */
	uint64_t dom0_memory;	 /* bytes; 0: not given */
	uint32_t dom0_cpus;	 /* 0: not given */
	const char *options;	 /* more hypervisor options, or NULL */
	const char *cmdline;	 /* the dom0 kernel's command line */
	const char *xen_cmdline; /* added to it for dom0, or NULL */
};

/* xen.cfg for xen.efi: one section, the kernel and initrd as "linux" and
 * "initrd" beside xen.efi. Returns NULL when memory is short. */
char *xen_cfg_text(const struct xen_cfg_opts *o);
