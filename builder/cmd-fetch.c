/* SPDX-License-Identifier: MIT */
/*
 * cmd-fetch.c - `enlighten fetch`: download payloads from a portal into a
 * directory, verified against the signed catalog, which lands beside them.
 * Also what the portal client (builder/portal/client.c) says, logged here
 * for `fetch` and `install` alike.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "builder/portal/client.h"
#include "builder/verbs.h"
#include "lib/basic/cli.h"
#include "lib/basic/log.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

int portal_catalog_logged(struct portal_client *pc)
{
	_cleanup_free_ char *msg = NULL;
	int r = portal_client_catalog(pc, &msg);
	STRV_FOREACH(w, pc->warnings)
	log_warning("%s", *w);
	if (r < 0)
		return log_error_errno(r, msg ? "%s" : "cannot get the catalog: %m", msg);
	log_debug("catalog version %" PRIu64 " from '%s', %zu payloads", pc->catalog->version,
		  pc->mirror, pc->catalog->n_payloads);
	return 0;
}

/* A line per file on stdout where no progress bar is drawn (stderr is no
 * terminal) and not quiet; each retry and failure logged. */
static void fetch_event_log(const struct fetch_item *it, enum fetch_event ev, const char *msg,
			    void *userdata _unused_)
{
	bool lines = !isatty(STDERR_FILENO) && log_get_max_level() >= LOG_INFO;
	switch (ev) {
	case FETCH_EVENT_DONE:
	case FETCH_EVENT_CACHED:
		if (lines)
			printf("%s  %s  %" PRIu64 " bytes  sha256 ok\n",
			       ev == FETCH_EVENT_DONE ? "fetched" : "present", it->path,
			       it->length);
		break;
	case FETCH_EVENT_RETRY:
		log_warning("%s; trying again", msg);
		break;
	case FETCH_EVENT_FAILED:
		log_error("%s", msg);
		break;
	}
	if (lines)
		fflush(stdout);
}

int portal_fetch_logged(struct portal_client *pc, const struct catalog_payload *const *sel,
			size_t n_sel, const char *dest)
{
	_cleanup_free_ char *msg = NULL;
	struct portal_fetch_result res;
	pc->fetch.on_event = fetch_event_log;
	int r = portal_client_fetch(pc, sel, n_sel, dest, &res, &msg);
	if (r < 0)
		return log_error_errno(r, msg ? "%s" : "cannot fetch into '%s': %m", msg ?: dest);
	log_info("%u fetched, %u already present, all verified against catalog version %" PRIu64,
		 res.fetched, res.cached, pc->catalog->version);
	return 0;
}

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
	_cleanup_free_ char *msg = NULL;
	const char *profile = NULL, *os = NULL, *dest = NULL;
	bool all = false;
	int c, r;

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
		r = portal_client_option(&pc, c, optarg, &msg);
		if (r < 0 && msg)
			log_error_errno(r, "%s", msg);
		if (r < 0)
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
	r = portal_client_ready(&pc, &msg);
	if (r < 0)
		return log_error_errno(r, "%s", msg), EXIT_USAGE;
	if (portal_catalog_logged(&pc) < 0)
		return EXIT_NO;

	_cleanup_free_ const struct catalog_payload **sel = NULL;
	size_t n;
	if (portal_client_select(&pc, profile, os, &sel, &n, NULL) < 0)
		return log_oom(), EXIT_USAGE;
	if (n == 0) {
		log_error("the catalog has no payload for %s%s%s%s", profile ? "profile '" : "all",
			  profile ?: "", profile ? "'" : "",
			  os ? (streq(os, "linux") ? " on linux" : " on windows") : "");
		return EXIT_NO;
	}
	return portal_fetch_logged(&pc, sel, n, dest) < 0 ? EXIT_NO : EXIT_OK;
}
