/* SPDX-License-Identifier: MIT */
/*
 * initrd-check.h - the universal initrd check: does the base's initrd carry
 * the boot-critical storage drivers of every profile the image stages?
 */
#pragma once

#include <stddef.h>

struct initrd_missing {
	const char *driver;
	const char *profile;
	const char *hypervisor; /* for the message: what would not boot */
};

/* Reads the initrd in fd (cpio, compressed or not, possibly after an early
 * uncompressed cpio such as microcode) and checks the drivers of profiles
 * (NULL or empty: every known profile). builtin is the kernel's
 * modules.builtin text from the base (may be NULL; the initrd's own copy is
 * used as well). Fills ret (caller frees) with what is missing, *ret_n
 * entries. Returns 0, -EBADMSG when the initrd cannot be read (message in
 * *reterr_msg), -EINVAL for an unknown profile name (in *reterr_msg). */
int initrd_check_drivers(int fd, const char *builtin, char *const *profiles,
			 struct initrd_missing **ret, size_t *ret_n, char **reterr_msg);

/* The names the check found in the initrd, for tests: module names
 * normalised (dashes to underscores, no .ko suffix). */
int initrd_list_modules(int fd, char ***ret, char **reterr_msg);
