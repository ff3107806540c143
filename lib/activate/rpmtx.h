/* SPDX-License-Identifier: MIT */
/*
 * rpmtx.h - one librpm transaction (install and erase together) on the
 * rpm database of a root tree, with signatures and digests required.
 *
 * The transaction is checked (dependencies), ordered and run as a test
 * (RPMTRANS_FLAG_TEST) before the real run, so input problems (a bad
 * signature, a missing dependency, a file conflict) leave the rpmdb as it
 * was; librpm's messages come back in *reterr_msg, never on stderr.
 *
 * The database is the root's own: usr/lib/sysimage/rpm, else var/lib/rpm.
 */
#pragma once

#include <stdbool.h>

enum rpmtx_verify {
	RPMTX_VERIFY_SIGNATURE, /* signature and digests required (default) */
	RPMTX_VERIFY_DIGEST,	/* digests required, signatures when present */
};

/* Names of the packages installed in the root's rpmdb (sorted, unique).
 * -ENOENT with a message when the root has no rpm database. */
int rpmtx_installed(const char *root, char ***ret_names, char **reterr_msg);

/* Of names, those the rpmdb lists as installed but with a file it put
 * there missing from the tree (a transaction cut short by a full disk, a
 * file deleted): the database's word is not trusted for them. *ret_broken
 * may be NULL (none). */
int rpmtx_broken(const char *root, char *const *names, char ***ret_broken, char **reterr_msg);

/* The image's package-signing keys (the recipe's PackageKeys=), armored,
 * one or more per *.asc file in IMAGE_RPM_KEYS_DIR: imported into the
 * root's rpm database before each transaction, so the packages signed with
 * them verify. */
#define RPMTX_MAX_KEY_FILES 64

/* Installs the package files (host paths; upgrading an older version) and
 * erases the named packages, in one transaction, after importing the keys
 * of IMAGE_RPM_KEYS_DIR beneath root (a key already there is kept). Returns 0, or -EPROTO with
 * the problem set's text (dependencies, conflicts, verification) when the
 * check or the test run fails (nothing changed), or -EIO when the real run
 * failed part way. */
int rpmtx_run(const char *root, char *const *install_files, char *const *erase_names,
	      enum rpmtx_verify verify, char **reterr_msg);

/* After a transaction killed part way and run again: removes the
 * temporary files librpm leaves beside a package's files when it is
 * killed while unpacking ("PATH;XXXXXXXX", XXXXXXXX the transaction id in
 * hex), for the named installed packages. Returns the number removed. */
int rpmtx_remove_leftovers(const char *root, char *const *names);
