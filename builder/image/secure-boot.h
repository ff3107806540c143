/* SPDX-License-Identifier: MIT */
/*
 * secure-boot.h - the Secure Boot chain of an image, checked offline: shim
 * (signed by Microsoft's UEFI CA, in the firmware's db), the GRUB it starts
 * and the kernel GRUB starts (signed by the distribution's CA, which shim
 * carries). Each must carry a signature; the CA each signature needs is
 * named, and a file whose every signature needs a CA that has expired is
 * warned about.
 */
#pragma once

#include <stddef.h>
#include <time.h>

#include "lib/trust/pe-signature.h"

struct sb_file {
	const char *role; /* "shim", "GRUB", "kernel" */
	const char *name; /* the file, as the user knows it */
	const void *buf;
	size_t len;
	const char *fix; /* what to do when it is not signed */
};

/* "'CA 1' (expired 2026-06-27) or 'CA 2'": the CAs the signatures need.
 * NULL when out of memory. */
char *sb_describe_cas(const struct pe_signature *s, size_t n, time_t now);

/* Checks each file. Returns 0 with a line per file added to *notes and a
 * warning per file that depends only on expired CAs added to *warnings, or
 * -EPERM naming an unsigned file (-EBADMSG: not a PE image) in *reterr_msg. */
int sb_check(const struct sb_file *files, size_t n, time_t now, char ***notes, char ***warnings,
	     char **reterr_msg);
