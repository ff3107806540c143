/* SPDX-License-Identifier: MIT */
/*
 * installer.h - the installer medium (Formats=installer): a hybrid ISO
 * (installer.c) that boots the base's kernel, with the base's initrd and
 * an initramfs segment of our own (installer-initrd.c) that writes the
 * image on the medium to the target disk with `enlighten deploy --pick`.
 * See docs/installer.md.
 */
#pragma once

#include <time.h>

struct build;
struct atomic_file;

/* What goes into the installer's own initramfs segment. */
struct installer_initrd {
	const char *init;    /* the /init script (templates/installer/init.sh) */
	const char *conf;    /* /enlighten/installer.conf, shell assignments */
	const char *busybox; /* a static busybox */
	const char *program; /* this enlighten */
	const char *interp;  /* its program interpreter, or NULL */
	char **libs;	     /* the libraries it needs (installer_closure()) */
	/* kernel modules as /enlighten/modules/NAME: names and open files */
	const char *const *module_names;
	const int *module_fds;
	unsigned n_modules;
	time_t now;
};

/* The program's PT_INTERP and the paths of every library it needs,
 * resolved in the host's standard library directories. */
int installer_closure(const char *program, char **ret_interp, char ***ret_libs, char **reterr_msg);
/* The path of a static busybox, or -ENOENT / -ENOEXEC naming busybox-static. */
int installer_busybox(char **ret, char **reterr_msg);
/* Writes the segment, a zstd-compressed newc cpio archive, to out_fd. */
int installer_initrd_write(const struct installer_initrd *in, int out_fd, char **reterr_msg);

/* The tools the medium is made with are there (xorriso, mtools, GRUB's
 * modules, a static busybox): checked before the long part of a build. */
int installer_check_tools(char **reterr_msg);

/* Makes the medium into f (NAME.iso under its temporary name) from the
 * build's raw image, its block map, kernel and initrd. */
int installer_make(struct build *b, struct atomic_file *f);
