/* SPDX-License-Identifier: MIT */
/*
 * cmd-payload-index.c - `enlighten payload index DIR`: options, the catalog's
 * version (one above the existing catalog's, so it only ever goes up), then
 * the indexer (builder/payload/index.c).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "builder/payload/index.h"
#include "builder/verbs.h"
#include "lib/basic/cli.h"
#include "lib/basic/clock.h"
#include "lib/basic/log.h"
#include "lib/basic/string-util.h"

#define INDEX_DEFAULT_EXPIRES_DAYS 365

static int index_help(void)
{
	printf("Usage: enlighten payload index [--product P] [--channel C] [--version N]\n"
	       "                               [--expires DAYS] [--rpm-key FILE] DIR\n"
	       "\n"
	       "Write DIR/catalog.json listing every payload under DIR: name, version, os,\n"
	       "profiles, arch, path, length and sha256, and RPM header or INF data.\n"
	       "The catalog version is one above the existing catalog's; sign the result\n"
	       "with 'enlighten payload sign'.\n"
	       "\n"
	       "Options:\n"
	       "  -p, --product P       product name (default: enlighten)\n"
	       "  -c, --channel C       channel (default: stable)\n"
	       "  -n, --version N       catalog version (default: one above the existing)\n"
	       "  -e, --expires DAYS    days until the catalog expires (default: 365)\n"
	       "  -k, --rpm-key FILE    check every RPM's signature with this armored\n"
	       "                        OpenPGP public key; refuse on any failure\n"
	       "  -h, --help            show this help\n");
	return EXIT_OK;
}

/* SOURCE_DATE_EPOCH when set (reproducible builds), else the clock. */
static int issue_time(time_t *ret)
{
	if (source_date_epoch(ret) < 0)
		return log_error("invalid SOURCE_DATE_EPOCH '%s' (want seconds since 1970)",
				 getenv("SOURCE_DATE_EPOCH")),
		       -EINVAL;
	return 0;
}

int cmd_payload_index(int argc, char *argv[])
{
	static const struct option options[] = { { "product", required_argument, NULL, 'p' },
						 { "channel", required_argument, NULL, 'c' },
						 { "version", required_argument, NULL, 'n' },
						 { "expires", required_argument, NULL, 'e' },
						 { "rpm-key", required_argument, NULL, 'k' },
						 { "help", no_argument, NULL, 'h' },
						 {} };
	const char *product = "enlighten", *channel = "stable", *keyfile = NULL;
	uint64_t version = 0, days = INDEX_DEFAULT_EXPIRES_DAYS;
	int c, r;

	while ((c = cli_getopt(argc, argv, "p:c:n:e:k:h", options, "enlighten payload index")) >= 0)
		switch (c) {
		case 'p':
			product = optarg;
			break;
		case 'c':
			channel = optarg;
			break;
		case 'n':
			if (parse_u64(optarg, 10, &version) < 0 || version == 0 ||
			    version > INT64_MAX)
				return log_error("invalid --version '%s' (want a positive integer)",
						 optarg),
				       EXIT_USAGE;
			break;
		case 'e':
			if (parse_u64(optarg, 10, &days) < 0 || days == 0 || days > 36500)
				return log_error("invalid --expires '%s' (want days, 1 to 36500)",
						 optarg),
				       EXIT_USAGE;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'h':
			return index_help();
		default:
			return EXIT_USAGE;
		}
	if (optind + 1 != argc) {
		log_error("usage: enlighten payload index [OPTIONS] DIR");
		return EXIT_USAGE;
	}
	const char *dir = argv[optind];

	_cleanup_rpm_keyring_ struct rpm_keyring *keyring = NULL;
	_cleanup_profile_set_ struct profile_set *matrix = NULL;
	_cleanup_catalog_ struct catalog *cat = NULL;
	_cleanup_free_ char *err = NULL;
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return log_error_errno(-errno, "cannot open directory '%s': %m", dir), EXIT_USAGE;
	if (keyfile) {
		r = rpm_keyring_load_at(AT_FDCWD, keyfile, &keyring, &err);
		if (r < 0)
			return log_error("%s", err), EXIT_USAGE;
	}
	r = payload_index_load_matrix(cli_datadir(), &matrix, &err);
	if (r < 0)
		return log_error_errno(r, err ? "%s" : "%m", err), EXIT_USAGE;
	if (!matrix)
		log_debug("no profile matrix in '%s/payloads/profiles'", cli_datadir());

	uint64_t old = 0;
	time_t issued = 0;
	r = payload_index_existing_version(dfd, &old, &err);
	if (r < 0)
		return log_error_errno(r, err ? "%s" : "%m", err), EXIT_NO;
	if (issue_time(&issued) < 0)
		return EXIT_NO;
	if (version == 0)
		version = old + 1;
	else if (version <= old)
		return log_error("--version %" PRIu64
				 " is not above the existing catalog's %" PRIu64
				 "; versions only go up",
				 version, old),
		       EXIT_USAGE;

	if (catalog_new(&cat) < 0 || !(cat->product = strdup(product)) ||
	    !(cat->channel = strdup(channel)))
		return log_oom(), EXIT_USAGE;
	cat->version = version;
	cat->issued = issued;
	cat->expires = issued + (time_t)(days * 86400);

	_cleanup_(payload_index_result_done) struct payload_index_result res = {};
	r = payload_index(dfd, dir, keyring, matrix, cat, &res, &err);
	STRV_FOREACH(w, res.warnings)
	log_warning("%s", *w);
	if (r < 0) {
		log_error_errno(r, err ? "%s" : "%m", err);
		log_error("'%s': nothing written", dir);
		return EXIT_NO;
	}
	log_info("'%s/%s': version %" PRIu64 ", %zu payloads%s; sign it with 'enlighten payload "
		 "sign'",
		 dir, CATALOG_FILE, version, cat->n_payloads,
		 res.skipped ? " (some files left out)" : "");
	return EXIT_OK;
}
