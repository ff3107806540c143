/* SPDX-License-Identifier: MIT */
/*
 * rpm.h - reading an RPM's header and checking its signatures with librpm,
 * against a keyring made from one armored public key file (not the rpmdb
 * of any root), with signature verification required.
 *
 * Debian's rpm verifies digests only by default; here the verification
 * level is set explicitly to RPMSIG_SIGNATURE_TYPE | RPMSIG_DIGEST_TYPE,
 * so an unsigned package, a signature by a key not in the keyring, a bad
 * signature, a bad header or payload digest and a truncated file all fail.
 * Any result but RPMRC_OK is a failure, and reterr_msg gets the reason
 * librpm gave, e.g.
 *   rpm 'linux/x.rpm': Header V4 EdDSA/SHA256 Signature, key ID c04c8381: NOKEY
 *
 * librpm keeps process-wide state (macros, log callback): these functions
 * are not thread-safe.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/basic/macro.h"
#include "lib/trust/catalog.h"

#define RPM_MAX_SIZE_DEFAULT (UINT64_C(4) << 30) /* 4 GiB */
#define RPM_KEY_MAX_SIZE (256 * 1024)

struct rpm_keyring;

/* dir_fd AT_FDCWD takes path as a plain path (the caller's own, not from an
 * input); any other dir_fd resolves it beneath that directory. */

/* Loads the armored public key(s) of one file (gpg --armor --export) into
 * a keyring, subkeys included. -EBADMSG when the file holds no key. */
int rpm_keyring_load_at(int dir_fd, const char *path, struct rpm_keyring **ret, char **reterr_msg);
/* The keys the rpm database under root trusts (its gpg-pubkey entries, as
 * `rpmkeys --root ROOT --import` puts them there; the database of
 * usr/lib/sysimage/rpm, else var/lib/rpm). An empty keyring when root has
 * no database. */
int rpm_keyring_load_root(const char *root, struct rpm_keyring **ret, char **reterr_msg);
/* Adds the keys of one armored file; -EBADMSG when it holds none, -EFBIG
 * past RPM_KEY_MAX_SIZE. */
int rpm_keyring_add_at(struct rpm_keyring *k, int dir_fd, const char *path, char **reterr_msg);
void rpm_keyring_free(struct rpm_keyring *k);

/* Calls fn with the binary packets of each public key block of an armored
 * text; fn returns 1 (taken), 0 (skipped) or -errno (stops). Returns the
 * number taken, or fn's error. */
typedef int (*rpm_key_fn)(const uint8_t *pkt, size_t len, void *userdata);
int rpm_armor_keys(const char *armor, rpm_key_fn fn, void *userdata);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rpm_keyring *, rpm_keyring_free);
#define _cleanup_rpm_keyring_ _cleanup_(rpm_keyring_freep)

struct rpm_read_opts {
	/* Check every digest and signature against this keyring; NULL reads
	 * the header without any trust (only for listing, never to install). */
	const struct rpm_keyring *keyring;
	uint64_t max_size; /* 0: RPM_MAX_SIZE_DEFAULT; larger files -EFBIG */
};

/* Opens path beneath dir_fd (fs_open_beneath), verifies the whole package
 * (when opts->keyring is set), and returns its header data: name, epoch,
 * version, release, arch, provides and requires (rpmlib() requirements
 * left out). Errors: -EFBIG (too large), -EBADMSG (not an RPM, truncated,
 * corrupt), -EKEYREJECTED (unsigned, unknown key or bad signature), or what
 * opening the file gives. */
int rpm_read_at(int dir_fd, const char *path, const struct rpm_read_opts *opts,
		struct catalog_rpm **ret, char **reterr_msg);

void catalog_rpm_free(struct catalog_rpm *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct catalog_rpm *, catalog_rpm_free);
#define _cleanup_catalog_rpm_ _cleanup_(catalog_rpm_freep)
