/* SPDX-License-Identifier: MIT */
/*
 * cmd-install.c - `enlighten install`: on a running system, detect where it
 * runs, fetch what that profile needs from the portal into the local
 * repository (/var/lib/enlighten/repo: the signed catalog and the verified
 * payloads at their paths), then activate it with the first-boot agent.
 *
 * The portal only replaces the image's repository as the package source:
 * planning, the transaction, the state record and the report are the
 * agent's (lib/activate/plan.h, lib/activate/apply.h, lib/activate/state.h through
 * enlighten-firstboot), so the next boot's agent finds the system converged
 * and agrees with what install did.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/portal/client.h"
#include "builder/verbs.h"
#include "firstboot/choose.h"
#include "lib/activate/paths.h"
#include "lib/basic/cli.h"
#include "lib/basic/log.h"
#include "lib/basic/macro.h"
#include "lib/basic/spawn.h"
#include "lib/basic/string-util.h"

#ifndef SBINDIR
#define SBINDIR "/usr/sbin"
#endif
#define AGENT "enlighten-firstboot"

static int help(void)
{
	printf("Usage: enlighten install --portal URL [--mirror URL]... [--dry-run] [--root DIR]\n"
	       "                         [--profile P] [OPTIONS...]\n"
	       "\n"
	       "Detect the hypervisor, fetch the integration components its profile needs from\n"
	       "the portal (verified against the signed catalog) into the local repository, and\n"
	       "activate them as the first-boot agent does.\n"
	       "\n"
	       "Options:\n"
	       "      --dry-run             fetch and verify, print the plan, activate nothing\n"
	       "      --root DIR            act on the system tree under DIR instead of /\n"
	       "      --profile P           install profile P whatever is detected, until the\n"
	       "                            next boot (pin it in firstboot.conf to keep "
	       "it)\n" PORTAL_CLIENT_HELP "  -h, --help                show this help\n"
	       "\n"
	       "Public keys default to ROOT/etc/enlighten/keys/*.pub and the catalog state to\n"
	       "ROOT/var/lib/enlighten; product and channel to Product= and Channel= in\n"
	       "ROOT/etc/enlighten/firstboot.conf.\n");
	return EXIT_OK;
}

/* Runs the agent on root; its exit status is ours. */
static int agent_run(const char *root, const char *profile, bool plan)
{
	char *argv[8];
	size_t n = 0;
	struct spawn_opts so = { .stdin_fd = -1,
				 .stdout_fd = STDOUT_FILENO,
				 .inherit_stderr = true };
	struct spawn_result res = {};
	int r;

	argv[n++] = (char *)AGENT;
	argv[n++] = (char *)"--root";
	argv[n++] = (char *)root;
	if (profile) {
		argv[n++] = (char *)"--profile";
		argv[n++] = (char *)profile;
	}
	if (plan)
		argv[n++] = (char *)"--plan";
	argv[n] = NULL;

	fflush(stdout);
	r = spawn_run(argv, &so, &res);
	if (r == -ENOENT) { /* not in PATH: where make install put it */
		argv[0] = (char *)SBINDIR "/" AGENT;
		r = spawn_run(argv, &so, &res);
	}
	if (r < 0)
		return log_error_errno(r, "cannot run '%s': %m", AGENT), EXIT_USAGE;
	int status = res.exit_status;
	spawn_result_done(&res);
	if (status > EXIT_USAGE)
		return log_error("'%s' failed with status %d", AGENT, status), EXIT_NO;
	return status;
}

/* The profile to install: --profile, else what the agent's configuration
 * forces (firstboot.conf, kernel command line), else the detector's. */
/* --profile holds until the next boot, whose agent detects again, unless
 * firstboot.conf or the kernel command line pins that same profile. */
static void warn_unpinned(int root_fd, const char *profile)
{
	_cleanup_(fb_config_done) struct fb_config cfg = {};
	if (fb_config_load(root_fd, &cfg, NULL) >= 0 &&
	    fb_config_cmdline(root_fd, &cfg, NULL) >= 0 && cfg.profile &&
	    streq(cfg.profile, profile))
		return;
	log_warning("--profile '%s' holds until the next boot, whose agent detects again and "
		    "activates what it detects; to keep '%s', pin it: 'Profile=%s' in the "
		    "[Firstboot] section of /%s",
		    profile, profile, profile, IMAGE_FIRSTBOOT_CONF);
}

/* As the agent chooses (firstboot/choose.h), said as it goes. Returns 1
 * with *ret, 0 when there is nothing to do, or -errno. */
static int profile_choose(int root_fd, const char *root, const char *arg_profile, char **ret)
{
	_cleanup_(fb_config_done) struct fb_config cfg = {};
	_cleanup_(fb_verdict_done) struct fb_verdict v = {};
	_cleanup_free_ char *why = NULL;
	const char *profile = NULL;
	bool forced = false;

	int r = fb_choose(root_fd,
			  &(struct fb_choose_opts){ .root = root, .profile_opt = arg_profile },
			  &cfg, &v, &profile, &forced, &why);
	if (r < 0)
		return log_error_errno(r, why ? "%s" : "cannot choose a profile: %m", why);
	switch (r) {
	case FB_CHOICE_DISABLED:
		log_notice("disabled by %s; nothing done", cfg.disable_source);
		return 0;
	case FB_CHOICE_CONTAINER:
		log_notice("running in a container ('%s'); nothing done (force a profile with "
			   "--profile to act anyway)",
			   v.container);
		return 0;
	case FB_CHOICE_NONE:
		return log_error_errno(ENOENT,
				       "the detector names no profile (hypervisor '%s', role "
				       "'%s'); choose one with --profile",
				       v.hypervisor, v.role);
	}
	if (forced && !arg_profile)
		log_info("profile '%s' from %s", profile, cfg.profile_source);
	else if (!forced)
		log_info("detected hypervisor '%s', role '%s': profile '%s'", v.hypervisor, v.role,
			 profile);
	*ret = strdup(profile);
	return *ret ? 1 : log_oom();
}

int cmd_install(int argc, char *argv[])
{
	static const struct option options[] = { { "help", no_argument, NULL, 'h' },
						 { "dry-run", no_argument, NULL, 'n' },
						 { "root", required_argument, NULL, 'r' },
						 { "profile", required_argument, NULL, 'p' },
						 PORTAL_CLIENT_OPTIONS,
						 {} };
	_cleanup_(portal_client_done) struct portal_client pc = PORTAL_CLIENT_INIT;
	_cleanup_free_ char *root = NULL, *profile = NULL, *keys = NULL, *state = NULL,
			    *repo = NULL, *why = NULL;
	const char *arg_root = "/", *arg_profile = NULL;
	bool dry_run = false;
	int c, r;

	while ((c = cli_getopt(argc, argv, "h", options, "enlighten install")) >= 0) {
		switch (c) {
		case 'h':
			return help();
		case 'n':
			dry_run = true;
			continue;
		case 'r':
			arg_root = optarg;
			continue;
		case 'p':
			arg_profile = optarg;
			continue;
		}
		r = portal_client_option(&pc, c, optarg, &why);
		if (r < 0 && why)
			log_error_errno(r, "%s", why);
		if (r < 0)
			return EXIT_USAGE;
	}
	if (optind < argc) {
		log_error("unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	root = realpath(arg_root, NULL);
	if (!root)
		return log_error_errno(errno, "cannot open the root '%s': %m", arg_root),
		       EXIT_USAGE;
	_cleanup_close_ int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return log_error_errno(errno, "cannot open the root '%s': %m", root), EXIT_USAGE;
	const char *prefix = streq(root, "/") ? "" : root;
	keys = strjoin(prefix, "/" IMAGE_KEYS_DIR);
	state = strjoin(prefix, "/" IMAGE_STATE_DIR);
	repo = strjoin(prefix, "/" IMAGE_REPO_DIR);
	if (!keys || !state || !repo)
		return log_oom(), EXIT_USAGE;
	if (!pc.keys_dir)
		pc.keys_dir = keys;
	if (!pc.state_dir)
		pc.state_dir = state;
	/* the product and channel the system follows: the options, else
	 * firstboot.conf, else the defaults */
	_cleanup_(fb_config_done) struct fb_config cfg = {};
	if (fb_config_load(root_fd, &cfg, &why) < 0)
		return log_error("%s", why ? why : "cannot read the configuration"), EXIT_USAGE;
	const struct {
		const char **opt;
		const char *conf;
		const char *option, *key;
	} pins[] = {
		{ &pc.product, cfg.product, "product", "Product" },
		{ &pc.channel, cfg.channel, "channel", "Channel" },
	};
	for (size_t i = 0; i < ELEMENTSOF(pins); i++) {
		if (!*pins[i].opt)
			*pins[i].opt = pins[i].conf;
		else if (pins[i].conf && !streq(*pins[i].opt, pins[i].conf))
			return log_error("--%s '%s' differs from '%s=%s' in '/%s', which the "
					 "first-boot agent follows too; change it there",
					 pins[i].option, *pins[i].opt, pins[i].key, pins[i].conf,
					 IMAGE_FIRSTBOOT_CONF),
			       EXIT_USAGE;
	}
	r = portal_client_ready(&pc, &why);
	if (r < 0)
		return log_error_errno(r, "%s", why), EXIT_USAGE;

	r = profile_choose(root_fd, root, arg_profile, &profile);
	if (r < 0)
		return EXIT_USAGE;
	if (r == 0)
		return EXIT_OK;

	if (portal_catalog_logged(&pc) < 0)
		return EXIT_NO;
	_cleanup_free_ const struct catalog_payload **sel = NULL;
	size_t n;
	if (portal_client_select(&pc, profile, "linux", &sel, &n, NULL) < 0)
		return log_oom(), EXIT_USAGE;
	log_info("profile '%s': %zu package(s) from the portal", profile, n);
	if (portal_fetch_logged(&pc, sel, n, repo) < 0)
		return EXIT_NO;

	/* the agent again, with the portal's packages in its repository; it
	 * detects as we did unless the profile came from --profile */
	r = agent_run(root, arg_profile, dry_run);
	if (r == EXIT_OK && arg_profile && !dry_run)
		warn_unpinned(root_fd, arg_profile);
	return r;
}
