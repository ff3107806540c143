/* SPDX-License-Identifier: MIT */
/*
 * recipe.h - an image recipe: INI in the style of systemd/mkosi, read with
 * lib/basic/ini.h. Keys are rows in a table (docs/recipe-format.md lists them);
 * Include= pulls in another file relative to the including one, for SKU
 * variants. Unknown keys and bad values give an error naming the file, the
 * line and, where one is close, the key that was meant.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/basic/hash.h"
#include "lib/basic/macro.h"

/* The Microsoft Reserved Partition a GPT disk with Windows carries. */
#define RECIPE_MSR_SIZE (16ULL * 1024 * 1024)
#define RECIPE_MAX_PATHS 64 /* in a list of paths: PackageKeys=, Overlays= */
/* The BIOS boot partition GRUB's core.img goes in (Firmware=bios). */
#define RECIPE_BIOS_BOOT_SIZE (1024ULL * 1024)

/* Firmware= bits: what the disk boots under. */
enum {
	FIRMWARE_UEFI = 1 << 0,
	FIRMWARE_BIOS = 1 << 1,
};

enum initrd_check {
	INITRD_CHECK_YES,  /* missing boot-critical driver: error */
	INITRD_CHECK_WARN, /* missing: warning only */
	INITRD_CHECK_NO,   /* not checked */
};

enum boot_loader {
	LOADER_SYSTEMD_BOOT,
	LOADER_GRUB,
	_LOADER_MAX,
};

struct recipe {
	char *path; /* the top file as given */

	/* [Image] */
	char *name;
	uint64_t size;
	char **formats; /* raw qcow2 vhdx vhd vmdk */

	/* [Partitions] */
	uint64_t esp_size;
	char *esp_label;
	char *root_label;

	/* [Base] paths are resolved against the file that named them */
	char *tarball;
	char *kernel; /* path inside the tarball, NULL: newest boot/vmlinuz-* */
	char *initrd; /* likewise, NULL: boot/initrd.img-* or boot/initramfs-* */
	enum initrd_check initrd_check;
	char **overlays; /* directories or tarballs laid over the base, in order */

	/* [Payloads] */
	char *payload_source;
	char *public_key;
	bool public_key_is_demo; /* PublicKeyIsDemo=: a throwaway key, for demos only */
	bool demo;		 /* [Image] Demo=: a demo image, never shipped */
	char **profiles;
	char **package_keys; /* the OEM's armored package-signing keys (RPM) */

	/* [Agent] */
	char *agent_binary; /* NULL: the enlighten-firstboot installed beside enlighten */

	/* [Boot] */
	char *cmdline;
	enum boot_loader loader;
	char *systemd_boot; /* systemd-bootx64.efi */
	unsigned firmware;  /* FIRMWARE_* bits */
	bool secure_boot;   /* shim -> signed GRUB -> signed kernel */
	char *shim;	    /* shimx64.efi.signed */
	char *signed_grub;  /* grubx64.efi.signed */

	/* [System] */
	char *hostname;
	char *locale;
	char *timezone;
	bool generalize; /* leave one machine's identity out (default yes) */
	bool grow_root;	 /* [Partitions] GrowRoot=: the agent grows the root (default yes) */

	/* [Windows] (docs/windows-image.md); no InstallWim=: a Linux-only disk */
	char *win_wim;		  /* the OEM's install.wim */
	char *win_image;	  /* ImageIndex= or Edition= (image name); NULL: 1 */
	uint64_t win_size;	  /* the NTFS partition */
	char **win_drivers;	  /* "PROFILE=PATH", PATH resolved */
	char **win_boot_critical; /* service names; ids from their packages' INFs */
	char *win_unattend;	  /* NULL: the installed template */
	char *win_agent;	  /* enlighten-firstboot.exe; NULL: found beside us or installed */

	/* [Xen] (docs/recipe-format.md); no Hypervisor=: no Xen entry */
	char *xen_hypervisor;	  /* the payload package that carries xen.efi */
	bool xen_default;	  /* the loader starts Xen by default (default yes) */
	bool xen_set;		  /* some [Xen] key was given */
	uint64_t xen_dom0_memory; /* 0: Xen's own choice */
	uint32_t xen_dom0_cpus;	  /* 0: Xen's own choice */
	char *xen_options;	  /* more hypervisor options */
	char *xen_cmdline;	  /* added to the dom0 kernel's command line */

	/* sha256 over every file read, in the order read */
	uint8_t hash[SHA256_DIGEST_SIZE];
};

/* Loads path and its includes. Returns 0, or -errno with *reterr_msg set to a
 * message for the user (file, line, what is wrong, what to do). */
int recipe_load(const char *path, struct recipe **ret, char **reterr_msg);
struct recipe *recipe_free(struct recipe *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct recipe *, recipe_free);
#define _cleanup_recipe_ _cleanup_(recipe_freep)

const char *initrd_check_to_string(enum initrd_check c);
const char *boot_loader_to_string(enum boot_loader l);
enum boot_loader boot_loader_from_string(const char *s);
enum initrd_check initrd_check_from_string(const char *s);
