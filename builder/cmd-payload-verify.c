/* SPDX-License-Identifier: MIT */
/*
 * cmd-payload-verify.c - `enlighten payload verify --pubkey FILE DIR`: the
 * catalog's signature, then its expiry, then the length and sha256 of every
 * payload (each read once). Exit 0 only when all of it holds; every failing
 * payload is reported, not just the first.
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "builder/verbs.h"
#include "lib/basic/cli.h"
#include "lib/basic/log.h"
#include "lib/trust/catalog.h"
#include "lib/trust/minisign.h"

static int verify_help(void)
{
	printf("Usage: enlighten payload verify --pubkey FILE [--allow-expired] DIR\n"
	       "\n"
	       "Check DIR/catalog.json: its signature (DIR/catalog.json.minisig) by the\n"
	       "public key, its expiry, then the length and sha256 of every payload.\n"
	       "Exits 0 when everything matches, 1 when anything does not.\n"
	       "\n"
	       "Options:\n"
	       "  -p, --pubkey FILE     minisign public key\n"
	       "      --allow-expired   accept a catalog past its expiry time\n"
	       "  -h, --help            show this help\n");
	return EXIT_OK;
}

int cmd_payload_verify(int argc, char *argv[])
{
	enum { ARG_ALLOW_EXPIRED = 0x100 };
	static const struct option options[] = { { "pubkey", required_argument, NULL, 'p' },
						 { "allow-expired", no_argument, NULL,
						   ARG_ALLOW_EXPIRED },
						 { "help", no_argument, NULL, 'h' },
						 {} };
	struct catalog_load_opts opts = {};
	const char *pubfile = NULL;
	int c, r;

	while ((c = cli_getopt(argc, argv, "p:h", options, "enlighten payload verify")) >= 0)
		switch (c) {
		case 'p':
			pubfile = optarg;
			break;
		case ARG_ALLOW_EXPIRED:
			opts.allow_expired = true;
			break;
		case 'h':
			return verify_help();
		default:
			return EXIT_USAGE;
		}
	if (!pubfile || optind + 1 != argc) {
		log_error("usage: enlighten payload verify --pubkey FILE DIR");
		return EXIT_USAGE;
	}
	const char *dir = argv[optind];

	struct minisign_pubkey pk;
	_cleanup_free_ char *err = NULL;
	_cleanup_catalog_ struct catalog *cat = NULL;

	r = minisign_pubkey_load_at(AT_FDCWD, pubfile, &pk, &err);
	if (r < 0)
		return log_error("%s", err ? err : "cannot load the public key"), EXIT_USAGE;
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return log_error_errno(errno, "cannot open directory '%s': %m", dir), EXIT_NO;

	r = catalog_load_verified(dfd, &pk, &opts, &cat, &err);
	if (r < 0)
		return log_error("'%s': %s", dir, err ? err : "catalog not valid"), EXIT_NO;

	size_t bad = 0;
	for (size_t i = 0; i < cat->n_payloads; i++) {
		r = catalog_verify_payload(dfd, &cat->payloads[i], &err);
		if (r < 0) {
			log_error("%s", err ? err : "payload does not match");
			bad++;
		}
	}
	if (bad > 0) {
		log_error("'%s': %zu of %zu payloads do not match the catalog", dir, bad,
			  cat->n_payloads);
		return EXIT_NO;
	}
	char expires[21] = "?";
	(void)catalog_time_format(cat->expires, expires);
	printf("catalog '%s' version %" PRIu64 ": signature good, expires %s, %zu payloads "
	       "verified\n",
	       dir, cat->version, expires, cat->n_payloads);
	return EXIT_OK;
}
