/* SPDX-License-Identifier: MIT */
/*
 * cmd-portal.c - `enlighten portal publish`: options and the secret key,
 * then the portal (builder/portal/publish.c).
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "builder/portal/publish.h"
#include "builder/verbs.h"
#include "lib/basic/cli.h"
#include "lib/basic/log.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"
#include "lib/trust/minisign.h"

static int publish_help(void)
{
	printf("Usage: enlighten portal publish --key SECRET --out DIR [OPTIONS...] "
	       "PAYLOAD_DIR...\n"
	       "\n"
	       "Make a download portal in DIR: the payloads of each PAYLOAD_DIR (indexed by\n"
	       "'enlighten payload index'), a signed catalog with a higher version than the\n"
	       "portal had, and index.html. Any web server can serve DIR as it is.\n"
	       "\n"
	       "Options:\n"
	       "      --key SECRET        minisign secret key file that signs the catalog\n"
	       "      --out DIR           the portal tree (created; re-publishing updates it)\n"
	       "      --url URL           the portal's public address, for the page's commands\n"
	       "      --title TEXT        the page title (default: " PORTAL_DEFAULT_TITLE ")\n"
	       "      --valid-days N      the catalog expires N days after it is issued (default: "
	       "365)\n"
	       "      --agent FILE        offer FILE (the agent or a package of it) on the page,\n"
	       "                          signed with the key; may be repeated\n"
	       "  -h, --help              show this help\n"
	       "\n"
	       "SOURCE_DATE_EPOCH, when set, is the issue time.\n");
	return EXIT_OK;
}

static int publish_main(int argc, char *argv[])
{
	static const struct option options[] = { { "help", no_argument, NULL, 'h' },
						 { "key", required_argument, NULL, 'k' },
						 { "out", required_argument, NULL, 'o' },
						 { "url", required_argument, NULL, 'u' },
						 { "title", required_argument, NULL, 't' },
						 { "valid-days", required_argument, NULL, 'd' },
						 { "agent", required_argument, NULL, 'a' },
						 {} };
	struct publish_options pb = { .valid_days = 365, .datadir = cli_datadir() };
	_cleanup_seckey_ struct minisign_seckey sk = {};
	_cleanup_free_ char *why = NULL;
	_cleanup_strv_free_ char **agents = NULL;
	const char *key = NULL;
	uint64_t version = 0;
	int ch, r;

	while ((ch = cli_getopt(argc, argv, "h", options, "enlighten portal publish")) >= 0)
		switch (ch) {
		case 'h':
			return publish_help();
		case 'k':
			key = optarg;
			break;
		case 'o':
			pb.out = optarg;
			break;
		case 'u':
			if (!startswith(optarg, "https://") && !startswith(optarg, "http://") &&
			    !startswith(optarg, "file://")) {
				log_error("--url '%s' is not an https://, http:// or file:// URL",
					  optarg);
				return EXIT_USAGE;
			}
			pb.url = optarg;
			break;
		case 't':
			pb.title = optarg;
			break;
		case 'a':
			if (strv_extend(&agents, optarg) < 0)
				return log_oom(), EXIT_NO;
			break;
		case 'd':
			if (parse_u64(optarg, 10, &pb.valid_days) < 0 || pb.valid_days < 1 ||
			    pb.valid_days > 3650) {
				log_error("--valid-days '%s': give a number from 1 to 3650",
					  optarg);
				return EXIT_USAGE;
			}
			break;
		default:
			return EXIT_USAGE;
		}
	if (!key || !pb.out) {
		log_error("publish needs --key SECRET and --out DIR");
		return EXIT_USAGE;
	}
	if (optind >= argc) {
		log_error("no payload directory given");
		return EXIT_USAGE;
	}

	r = minisign_seckey_load_at(AT_FDCWD, key, &sk, &why);
	if (r < 0)
		return log_error_errno(r, "secret key '%s': %s", key, why ? why : strerror(-r)),
		       EXIT_NO;
	_cleanup_strv_free_ char **dirs = NULL;
	for (int i = optind; i < argc; i++)
		if (strv_extend(&dirs, argv[i]) < 0)
			return log_oom(), EXIT_NO;
	pb.key = &sk;
	pb.dirs = dirs;
	pb.agents = agents;
	size_t n = 0;
	_cleanup_free_ char *msg = NULL;
	r = portal_publish(&pb, &version, &n, &msg);
	if (r < 0)
		return log_error_errno(r, msg ? "%s" : "cannot publish: %m", msg), EXIT_NO;
	printf("published catalog version %" PRIu64 " with %zu payloads in '%s'\n", version, n,
	       pb.out);
	return EXIT_OK;
}

static const struct verb portal_verbs[] = {
	{ "publish", "make the download portal: payloads, signed catalog, index.html",
	  publish_main },
};

static int portal_help(void)
{
	printf("Usage: enlighten portal publish --key SECRET --out DIR PAYLOAD_DIR...\n"
	       "\n"
	       "Verbs:\n");
	for (size_t i = 0; i < ELEMENTSOF(portal_verbs); i++)
		printf("  %-10s %s\n", portal_verbs[i].name, portal_verbs[i].summary);
	printf("\n'enlighten portal VERB --help' shows a verb's options.\n");
	return EXIT_OK;
}

int cmd_portal(int argc, char *argv[])
{
	if (argc < 2) {
		portal_help();
		return EXIT_USAGE;
	}
	if (streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help"))
		return portal_help();
	return verb_dispatch("enlighten portal", portal_verbs, ELEMENTSOF(portal_verbs), argc - 1,
			     argv + 1);
}
