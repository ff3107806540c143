/* SPDX-License-Identifier: MIT */
/*
 * deb.h - reading a Debian binary package's control fields with libarchive
 * (the .deb is an ar archive: debian-binary, control.tar.*, data.tar.*),
 * without dpkg and without trusting the file: every size is bounded, and a
 * package that is not a well-formed .deb is refused.
 *
 * A .deb carries no signature of its own: trust comes from the signed
 * catalog (length and SHA-256 of the file).
 */
#pragma once

#include <stdint.h>

#include "lib/trust/catalog.h"

#define DEB_MAX_SIZE_DEFAULT (UINT64_C(4) << 30) /* 4 GiB */
#define DEB_CONTROL_MAX (1u << 20)		 /* control.tar.* and control */

/* Opens path beneath dir_fd (AT_FDCWD: a plain path), reads control.tar.*
 * and its ./control, and returns Package, Version, Architecture, Provides
 * and Pre-Depends + Depends (one relation each). max_size 0 means
 * DEB_MAX_SIZE_DEFAULT. Errors: -EFBIG (too large), -EBADMSG (not a .deb,
 * truncated, corrupt, or a control file without the required fields), or
 * what opening the file gives; *reterr_msg names the file and the fault. */
int deb_read_at(int dir_fd, const char *path, uint64_t max_size, struct catalog_deb **ret,
		char **reterr_msg);

/* The same file's ./control as text (NUL-terminated, at most
 * DEB_CONTROL_MAX bytes), unparsed; the same errors. */
int deb_read_control_at(int dir_fd, const char *path, uint64_t max_size, char **ret,
			char **reterr_msg);

/* Parses the text of a control file (deb822, one stanza) into ret. */
int deb_control_parse(const char *text, struct catalog_deb **ret, char **reterr_msg);
