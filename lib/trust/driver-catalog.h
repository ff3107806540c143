/* SPDX-License-Identifier: MIT */
/*
 * driver-catalog.h - a Windows driver package's catalog (.cat): PKCS#7
 * SignedData whose content is a certificate trust list (szOID_CTL) with one
 * member per file of the package, each with its digest (SHA-1 or SHA-256;
 * of the whole file, or the Authenticode digest of a PE image) and usually
 * its name. The builder checks what it can check offline: the structure,
 * that the signature matches the content, and that every file of the
 * package is listed with its digest. Whether the signer is one Windows
 * trusts is Windows's check at install time (docs/payload-packages.md).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/basic/macro.h"

#define DRIVER_CATALOG_MAX (16u * 1024 * 1024)
#define DRIVER_CATALOG_MEMBERS_MAX 4096

enum driver_digest_kind {
	DRIVER_DIGEST_FLAT, /* of the whole file (INF, CAT data) */
	DRIVER_DIGEST_PE,   /* Authenticode digest of a PE image (.sys, .dll) */
};

struct driver_catalog_member {
	char *file; /* the member's File name (UTF-8), or NULL: listed by digest alone */
	enum driver_digest_kind kind;
	int md_nid; /* NID_sha1 or NID_sha256 */
	uint8_t digest[32];
	size_t digest_len;
};

struct driver_catalog {
	struct driver_catalog_member *members;
	size_t n_members;
};

/* Parses a catalog and checks its signature against its content (not the
 * signer's chain). Returns 0, or -EBADMSG with a sentence in *reterr_msg
 * saying what is wrong (not PKCS#7, not signed data, not a trust list, a
 * signature that does not match, a malformed member). */
int driver_catalog_parse(const void *buf, size_t len, struct driver_catalog **ret,
			 char **reterr_msg);
/* The trust list alone (DER), without envelope or signature: for the fuzz
 * target, which could not get past a signature. */
int driver_catalog_parse_trust_list(const void *buf, size_t len, struct driver_catalog **ret,
				    char **reterr_msg);
struct driver_catalog *driver_catalog_free(struct driver_catalog *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct driver_catalog *, driver_catalog_free);
#define _cleanup_driver_catalog_ _cleanup_(driver_catalog_freep)

/* Checks files (names relative to dir_fd, the package folder) against the
 * catalog: each must be listed, by name (case-insensitive) or by digest
 * alone, with a matching digest. Returns 0, or -EBADMSG with the file named
 * in *reterr_msg, or -errno when a file cannot be read. */
int driver_catalog_check_files(const struct driver_catalog *c, int dir_fd, char *const *files,
			       char **reterr_msg);
