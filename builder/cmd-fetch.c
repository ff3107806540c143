/* SPDX-License-Identifier: MIT */
/*
 * cmd-fetch.c - `enlighten fetch`: download payloads from a portal into a
 * directory, verified against the signed catalog, which lands beside them.
 */
#include <getopt.h>
#include <stdio.h>

#include "builder/portal/client.h"
#include "builder/verbs.h"
#include "lib/basic/cli.h"
#include "lib/basic/log.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

static int help(void)
{
	printf("Usage: enlighten fetch --portal URL [--mirror URL]... [--profile P | --all] [--os "
	       "OS]\n"
	       "                       --dest DIR [OPTIONS...]\n"
	       "\n"
	       "Download payloads from a portal into DIR, each checked against the signed\n"
	       "catalog (length and sha256) before it appears there.\n"
	       "\n"
	       "Options:\n"
	       "      --profile P           the payloads profile P needs\n"
	       "      --all                 every payload\n"
	       "      --os OS               only payloads for OS (linux, windows)\n"
	       "      --dest DIR            where the payloads and the catalog "
	       "go\n" PORTAL_CLIENT_HELP "  -h, --help                show this help\n");
	return EXIT_OK;
}

int cmd_fetch(int argc, char *argv[])
{
	static const struct option options[] = { { "help", no_argument, NULL, 'h' },
						 { "profile", required_argument, NULL, 'p' },
						 { "all", no_argument, NULL, 'a' },
						 { "os", required_argument, NULL, 'o' },
						 { "dest", required_argument, NULL, 'd' },
						 PORTAL_CLIENT_OPTIONS,
						 {} };
	_cleanup_(portal_client_done) struct portal_client pc = PORTAL_CLIENT_INIT;
	const char *profile = NULL, *os = NULL, *dest = NULL;
	bool all = false;
	int c;

	while ((c = cli_getopt(argc, argv, "h", options, "enlighten fetch")) >= 0) {
		switch (c) {
		case 'h':
			return help();
		case 'p':
			profile = optarg;
			continue;
		case 'a':
			all = true;
			continue;
		case 'o':
			os = optarg;
			continue;
		case 'd':
			dest = optarg;
			continue;
		}
		if (portal_client_option(&pc, c, optarg) < 0)
			return EXIT_USAGE;
	}
	if (optind < argc) {
		log_error("unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (!dest) {
		log_error("no destination given; use --dest DIR");
		return EXIT_USAGE;
	}
	if (!!profile == all) {
		log_error("say what to fetch: --profile P or --all");
		return EXIT_USAGE;
	}
	if (os && !streq(os, "linux") && !streq(os, "windows")) {
		log_error("unknown --os '%s'; use 'linux' or 'windows'", os);
		return EXIT_USAGE;
	}
	if (portal_client_ready(&pc) < 0)
		return EXIT_USAGE;
	if (portal_client_catalog(&pc) < 0)
		return EXIT_NO;

	_cleanup_free_ const struct catalog_payload **sel = NULL;
	size_t n;
	if (portal_client_select(&pc, profile, os, &sel, &n) < 0)
		return EXIT_USAGE;
	if (n == 0) {
		log_error("the catalog has no payload for %s%s%s%s", profile ? "profile '" : "all",
			  profile ?: "", profile ? "'" : "",
			  os ? (streq(os, "linux") ? " on linux" : " on windows") : "");
		return EXIT_NO;
	}
	return portal_client_fetch(&pc, sel, n, dest) < 0 ? EXIT_NO : EXIT_OK;
}
