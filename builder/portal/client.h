/* SPDX-License-Identifier: MIT */
/*
 * client.h - what `enlighten fetch` and `enlighten install` share:
 * the download options, getting a catalog from the portal and trusting it
 * (pinned keys, expiry, rollback state), and fetching the chosen payloads
 * into a local repository (catalog.json, its signature and the payloads at
 * their catalog paths, as /var/lib/enlighten/repo/ holds them).
 */
#pragma once

#include <getopt.h>
#include <stdbool.h>

#include "lib/activate/paths.h"
#include "lib/net/fetch.h"
#include "lib/trust/catalog.h"

/* On the running system: the image's own directories (lib/activate/paths.h) */
#define PORTAL_KEYS_DIR "/" IMAGE_KEYS_DIR
#define PORTAL_STATE_DIR "/" IMAGE_STATE_DIR
#define PORTAL_DEFAULT_PRODUCT "enlighten"
#define PORTAL_DEFAULT_CHANNEL "stable"

struct portal_client {
	char **mirrors;	      /* --portal first, then each --mirror */
	char **pubkeys;	      /* --pubkey files; none: keys_dir/ *.pub */
	const char *keys_dir; /* NULL: PORTAL_KEYS_DIR */
	const char *state_dir;
	/* the only product and channel whose catalog is accepted; NULL:
	 * PORTAL_DEFAULT_PRODUCT, PORTAL_DEFAULT_CHANNEL */
	const char *product, *channel;
	bool allow_expired;
	struct fetch_opts fetch;
	/* the trusted catalog, once portal_client_catalog() succeeded, and the
	 * mirror it came from */
	struct catalog *catalog;
	const char *mirror;
	/* what portal_client_catalog() warns of (an expired catalog used, a
	 * mirror refused), for the caller to log, on success or failure */
	char **warnings;
	char *catalog_buf, *sig_buf;
	size_t catalog_len, sig_len;
};

#define PORTAL_CLIENT_INIT                                                                         \
	{                                                                                          \
		.fetch = {.retries = -1 }                                                          \
	}

/* getopt rows and help lines for the options both verbs take; their values
 * are >= 0x100 so verbs keep the short letters. */
#define PORTAL_CLIENT_OPTIONS                                                                      \
	{ "portal", required_argument, NULL, 0x100 },                                              \
		{ "mirror", required_argument, NULL, 0x101 },                                      \
		{ "pubkey", required_argument, NULL, 0x102 },                                      \
		{ "allow-http", no_argument, NULL, 0x103 },                                        \
		{ "allow-expired", no_argument, NULL, 0x104 },                                     \
		{ "cacert", required_argument, NULL, 0x105 },                                      \
		{ "jobs", required_argument, NULL, 0x106 },                                        \
		{ "state-dir", required_argument, NULL, 0x107 },                                   \
		{ "connect-timeout", required_argument, NULL, 0x108 },                             \
		{ "speed-limit", required_argument, NULL, 0x109 },                                 \
		{ "speed-time", required_argument, NULL, 0x10a },                                  \
		{ "product", required_argument, NULL, 0x10c },                                     \
		{ "channel", required_argument, NULL, 0x10d },                                     \
	{                                                                                          \
		"retries", required_argument, NULL, 0x10b                                          \
	}

#define PORTAL_CLIENT_HELP                                                                         \
	"      --portal URL          the portal (https://, or file:// for a local copy)\n"         \
	"      --mirror URL          another copy of the portal; may be repeated\n"                \
	"      --pubkey FILE         trust this public key (default: " PORTAL_KEYS_DIR "/*.pub)\n" \
	"      --allow-http          also accept plain http:// URLs\n"                             \
	"      --allow-expired       use an expired catalog (logged)\n"                            \
	"      --cacert FILE         CA bundle for https (default: " FETCH_DEFAULT_CAINFO ")\n"    \
	"      --jobs N              transfers at once (default: 8)\n"                             \
	"      --state-dir DIR       where the last catalog seen is kept "                         \
	"(default: " PORTAL_STATE_DIR ")\n"                                                        \
	"      --connect-timeout SEC give up connecting after SEC seconds (default: 30)\n"         \
	"      --speed-limit BYTES   slowest transfer accepted, bytes per second (default: "       \
	"1024)\n"                                                                                  \
	"      --speed-time SEC      ... for SEC seconds in a row (default: 30)\n"                 \
	"      --retries N           attempts after the first for each file (default: 4)\n"

/* Handles one of PORTAL_CLIENT_OPTIONS; -EINVAL with a sentence in
 * *reterr_msg for a bad value, without one for an option that is not one of
 * them (cli_getopt() reported those). */
int portal_client_option(struct portal_client *pc, int c, const char *arg, char **reterr_msg);

/* Checks that a portal was given and the URLs are allowed. */
int portal_client_ready(struct portal_client *pc, char **reterr_msg);

/* Gets catalog.json and its signature from the first mirror that answers,
 * verifies them with the pinned keys, checks product and channel, expiry
 * and rollback, records the version seen; a mirror whose catalog is
 * refused gives way to the next (a line in pc->warnings). Returns 0, or
 * -errno with a sentence in *reterr_msg. */
int portal_client_catalog(struct portal_client *pc, char **reterr_msg);

/* The trusted catalog's payloads for profile (NULL: all) and os (NULL:
 * any), as a malloc'ed array of pointers into it. */
int portal_client_select(struct portal_client *pc, const char *profile, const char *os,
			 const struct catalog_payload ***ret, size_t *ret_n, char **reterr_msg);

/* What portal_client_fetch() did, for the caller's summary line. */
struct portal_fetch_result {
	unsigned fetched, cached, failed;
};

/* Fetches the selected payloads (NULL-terminated array of pointers into
 * pc->catalog) into dest, then writes the catalog and its signature there.
 * A progress bar on a terminal; each file's event (fetched, present, a
 * retry, a failure) goes to the caller's pc->fetch.on_event as it happens.
 * Returns 0, or -errno with a sentence in *reterr_msg; *ret is filled
 * either way. */
int portal_client_fetch(struct portal_client *pc, const struct catalog_payload *const *sel,
			size_t n_sel, const char *dest, struct portal_fetch_result *ret,
			char **reterr_msg);

void portal_client_done(struct portal_client *pc);
