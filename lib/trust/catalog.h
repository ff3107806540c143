/* SPDX-License-Identifier: MIT */
/*
 * catalog.h - the signed payload catalog (docs/catalog-format.md): a JSON
 * file listing every payload with its length and SHA-256, and a detached
 * minisign signature catalog.json.minisig beside it.
 *
 * Typical use (first boot, portal, image builder):
 *
 *     struct minisign_pubkey pk;
 *     r = minisign_pubkey_load_at(AT_FDCWD, "/etc/enlighten/keys/x.pub", &pk, &err);
 *     _cleanup_catalog_ struct catalog *c = NULL;
 *     r = catalog_load_verified(repo_fd, &pk, &(struct catalog_load_opts){}, &c, &err);
 *     r = catalog_check_rollback(c, state->version, state->sha256, &err);
 *     for (size_t i = 0; i < c->n_payloads; i++)
 *             r = catalog_verify_payload(repo_fd, &c->payloads[i], &err);
 *
 * Every function returns 0 or -errno, and where it takes reterr_msg it puts
 * there (malloc'ed, caller frees) a sentence naming the thing at fault:
 *   -EBADMSG       malformed or inconsistent catalog (parse), or a payload
 *                  whose length or sha256 differs (verify)
 *   -E2BIG         catalog larger than CATALOG_MAX_SIZE
 *   -ENOKEY, -EKEYREJECTED  the signature is by another key, or does not verify
 *   -ESTALE        the catalog has expired, or says it was issued more than
 *                  CATALOG_MAX_CLOCK_SKEW after the clock
 *   -EPERM         rollback: older than, or a different catalog with the same
 *                  version as, the one last seen
 *   -ENOENT        catalog, signature or payload file missing
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/basic/hash.h"
#include "lib/trust/minisign.h"

#define CATALOG_SCHEMA 1
#define CATALOG_FILE "catalog.json"
#define CATALOG_SIG_FILE "catalog.json.minisig"
#define CATALOG_MAX_SIZE (16u << 20) /* refused before parsing */
#define CATALOG_MAX_PAYLOADS 65536
#define CATALOG_MAX_LIST 4096		   /* entries in provides, hardware_ids, ... */
#define CATALOG_MAX_STRING 4096		   /* bytes in any one string */
#define CATALOG_MAX_CLOCK_SKEW (24 * 3600) /* 'issued' ahead of the clock */

/* Header data of an RPM payload (filled by `enlighten payload index`). */
struct catalog_rpm {
	char *name;
	uint32_t epoch; /* 0 when absent */
	bool has_epoch;
	char *version;
	char *release;
	char *arch;
	char **provides; /* NULL-terminated, never NULL */
	char **requires;
};

/* Control data of a Debian package payload (filled by `enlighten payload
 * index` from the package's control file). */
struct catalog_deb {
	char *name;
	char *version;	 /* [epoch:]upstream[-revision], as dpkg writes it */
	char *arch;	 /* "all", "amd64", ... */
	char **provides; /* NULL-terminated, never NULL */
	char **depends;	 /* Pre-Depends and Depends, one relation each */
};

void catalog_deb_free(struct catalog_deb *d);

/* Data of a Windows driver package, from its INF (see lib/basic/inf.h). */
struct catalog_inf {
	char *class;
	char *provider;
	char *driver_version; /* "1.2.3.4" */
	char *driver_date;    /* "MM/DD/YYYY" as the INF writes it; may be NULL */
	char *catalog_file;   /* may be NULL */
	char **architectures; /* "amd64", "x86", "arm64" */
	char **hardware_ids;
};

struct catalog_payload {
	char *name;
	char *version;
	char *os; /* "linux" or "windows" */
	char **profiles;
	char *arch;
	char *path; /* relative to the catalog's directory, checked */
	uint64_t length;
	uint8_t sha256[SHA256_DIGEST_SIZE];
	struct catalog_rpm *rpm; /* or NULL */
	struct catalog_deb *deb; /* or NULL */
	struct catalog_inf *inf; /* or NULL (at most one of the three) */
};

struct catalog {
	unsigned schema;
	char *product;
	char *channel;
	uint64_t version; /* monotonic; rollback protection compares it */
	time_t issued;
	time_t expires;
	struct catalog_payload *payloads;
	size_t n_payloads;
	/* SHA-256 of the catalog bytes as parsed (zero for a catalog built in
	 * memory): what a rollback check remembers besides the version. */
	uint8_t sha256[SHA256_DIGEST_SIZE];
};

/* The payload's format: "rpm", "deb", "inf" (from which object it has),
 * else "file". */
const char *catalog_payload_format(const struct catalog_payload *p);

/* Whether s is a word as the catalog's product, channel and names are:
 * letters, digits and "._+-~^:", not empty. */
bool catalog_is_word(const char *s);

/* Whether s can be a payload's path: relative, one spelling per file (no
 * ".", "..", "//", backslash), no control character. */
bool catalog_is_path(const char *s);

/* Frees an inf object not (yet) attached to a payload (catalog_rpm_free
 * is in lib/trust/rpm.h). */
void catalog_inf_free(struct catalog_inf *i);

struct inf_driver;
/* The inf object from an INF's driver facts (lib/basic/inf.h, inf_driver_info). */
int catalog_inf_from_driver(const struct inf_driver *d, struct catalog_inf **ret);

void catalog_free(struct catalog *c);
static inline void catalog_freep(struct catalog **c)
{
	catalog_free(*c);
}
#define _cleanup_catalog_ __attribute__((__cleanup__(catalog_freep)))

/* An empty catalog (schema 1, no payloads) for writers to fill. */
int catalog_new(struct catalog **ret);
/* Frees the members of p (not p itself). */
void catalog_payload_done(struct catalog_payload *p);
/* Appends *p, taking ownership of its members (p is zeroed); -E2BIG past
 * CATALOG_MAX_PAYLOADS, -EEXIST for a path already present. */
int catalog_add_payload(struct catalog *c, struct catalog_payload *p);

/* Parses and checks a catalog: size cap, depth cap, unknown keys refused,
 * every field's type and range, payload paths relative and unique. */
int catalog_parse(const char *buf, size_t len, struct catalog **ret, char **reterr_msg);

/* The JSON object, keys in a stable order. */
int catalog_to_json(const struct catalog *c, json_object **ret);
/* Writes path beneath dir_fd (AT_FDCWD: a plain path) atomically, pretty. */
int catalog_write_at(int dir_fd, const char *path, const struct catalog *c);

/* "2026-11-24T12:00:00Z" <-> time_t (UTC only, exactly this form, years 1970 to
 * 9999; -EINVAL for another form, -ERANGE for another year). */
int catalog_time_parse(const char *s, time_t *ret);
int catalog_time_format(time_t t, char out[static 21]);

struct catalog_load_opts {
	bool allow_expired; /* the clock is not trusted: no expiry, no 'issued' check */
	time_t now;	    /* 0: the current time */
};

/* Reads CATALOG_FILE and CATALOG_SIG_FILE beneath dir_fd, checks the size,
 * the signature with pk, parses, then checks 'issued' and 'expires' against
 * the clock. */
int catalog_load_verified(int dir_fd, const struct minisign_pubkey *pk,
			  const struct catalog_load_opts *opts, struct catalog **ret,
			  char **reterr_msg);

/* Opens the payload's path beneath dir_fd and checks its length and sha256,
 * reading the file once and never past the signed length. */
int catalog_verify_payload(int dir_fd, const struct catalog_payload *p, char **reterr_msg);

/* The same in two halves, for a caller that verifies while it copies (the
 * image builder): catalog_payload_open() opens p beneath dir_fd and checks
 * that it is a regular file of the signed length, reading no byte; it
 * returns the descriptor (O_CLOEXEC) or -errno. The caller copies it with
 * copy_stream() (copy.h), max p->length, into a sha256; then
 * catalog_payload_check() takes the copy's return r, the digest and the
 * byte count n, and gives 0 or -EBADMSG (another length or digest) or the
 * copy's error, each with the payload named. */
int catalog_payload_open(int dir_fd, const struct catalog_payload *p, char **reterr_msg);
int catalog_payload_check(const struct catalog_payload *p, int r,
			  const uint8_t digest[SHA256_DIGEST_SIZE], uint64_t n, char **reterr_msg);

/* Rollback protection. last_sha256 may be NULL (only the version is known).
 * A lower version, or the same version with other bytes, gives -EPERM. */
int catalog_check_rollback(const struct catalog *c, uint64_t last_version,
			   const uint8_t *last_sha256, char **reterr_msg);

/* Finds a payload by path; NULL if none. */
const struct catalog_payload *catalog_find_path(const struct catalog *c, const char *path);
