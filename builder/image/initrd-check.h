/* SPDX-License-Identifier: MIT */
/*
 * initrd-check.h - the universal initrd check: does the base's initrd carry
 * the boot-critical storage drivers of every profile the image stages?
 */
#pragma once

#include <stddef.h>

struct profile_set;

/* Strings point into the profile set. */
struct initrd_missing {
	const char *driver;
	const char *profile;
	char *const *hypervisors; /* [Match] Hypervisor=: what would not boot */
};

/* Reads the initrd in fd (cpio, compressed or not, possibly after an early
 * uncompressed cpio such as microcode) and checks InitrdModules= of the
 * profiles named (NULL or empty: every profile of the set). builtin is the
 * kernel's modules.builtin text from the base (may be NULL; the initrd's own
 * copy is used as well). Fills ret (caller frees) with what is missing,
 * *ret_n entries. Returns 0, -EBADMSG when the initrd cannot be read
 * (message in *reterr_msg), -EFBIG when it unpacks to more than 2 GiB or
 * needs more than 128 MiB to decompress (the limit in *reterr_msg),
 * -EINVAL for a profile the set lacks. */
int initrd_check_drivers(int fd, const char *builtin, const struct profile_set *set,
			 char *const *profiles, struct initrd_missing **ret, size_t *ret_n,
			 char **reterr_msg);

/* The names the check found in the initrd, for tests: module names
 * normalised (dashes to underscores, no .ko suffix). */
int initrd_list_modules(int fd, char ***ret, char **reterr_msg);
