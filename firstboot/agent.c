/* SPDX-License-Identifier: MIT */
/*
 * agent.c - options, configuration, detection and reporting, shared by the
 * light and the heavy half of the agent.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "firstboot/agent.h"
#include "firstboot/choose.h"
#include "firstboot/report.h"
#include "lib/activate/paths.h"
#include "lib/activate/state.h"
#include "lib/basic/cli.h"
#include "lib/basic/log.h"
#include "lib/basic/string-util.h"

static int help(void)
{
	printf("Usage: enlighten-firstboot [OPTIONS...]\n"
	       "\n"
	       "Activate the integration components that match the hypervisor found at boot.\n"
	       "\n"
	       "  --root DIR          act on the system tree under DIR instead of /\n"
	       "  --cpuid-file FILE   take CPUID from a table instead of the instruction\n"
	       "  --profile NAME      activate NAME whatever is detected\n"
	       "  --plan, --dry-run   print the plan as JSON and change nothing\n"
	       "  --grow-root         only grow the root partition and filesystem to fill\n"
	       "                      the disk (done at each boot before activating)\n"
	       "  -q, --quiet         print errors only\n"
	       "  -v, --verbose       print each step\n"
	       "  -h, --help          show this help\n"
	       "  -V, --version       show the version\n"
	       "\n"
	       "Exit status: 0 when the system runs the right profile, 1 when activation\n"
	       "failed (the system is left as it was), 2 on usage or configuration errors.\n");
	return EXIT_OK;
}

uint64_t agent_now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void agent_summary(struct agent *a, bool changed, const char *previous, char *const *changes,
		   const char *error)
{
	struct report rep = {
		.hypervisor = a->verdict.hypervisor,
		.role = a->verdict.role,
		.profile = a->target,
		.previous = previous,
		.forced = a->forced,
		.changed = changed,
		.reboot = a->reboot_needed,
		.verdict = changed || error ? fb_verdict_json(&a->verdict) : NULL,
		.changes = changes,
		.error = error,
		.duration_usec = agent_now_usec() - a->started,
	};
	int r;

	if (changed || error) {
		r = report_write(a->root_fd, &rep);
		if (r < 0)
			log_warning_errno(r, "cannot write '/%s': %m", IMAGE_REPORT_FILE);
	}
	if (error)
		return;
	if (streq(rep.hypervisor, "microsoft")) {
		r = report_kvp(a->root_fd, &rep);
		if (r < 0)
			log_warning_errno(r, "cannot write the KVP pool '/%s': %m", KVP_POOL_FILE);
	}
	_cleanup_free_ char *line = report_summary_line(&rep);
	if (!line) {
		log_oom();
		return;
	}
	/* stdout: the unit sends it to the journal and the console */
	if (!a->quiet) {
		printf("%s\n", line);
		fflush(stdout);
	}
}

void agent_log_forced(const struct agent *a)
{
	if (a->forced)
		log_info("profile '%s' forced by %s", a->target, a->config.profile_source);
}

bool agent_fast_path(struct agent *a)
{
	_cleanup_state_ struct state *st = NULL;
	if (a->plan || state_load(a->root_fd, &st, NULL) < 0 || !state_converged(st, a->target) ||
	    st->forced != a->forced)
		return false;
	agent_log_forced(a);
	log_debug("profile '%s' is active and complete; nothing to do", a->target);
	agent_summary(a, false, st->profile, NULL, NULL);
	return true;
}

void agent_done(struct agent *a)
{
	fb_verdict_done(&a->verdict);
	fb_config_done(&a->config);
	safe_close(a->root_fd);
	a->root_fd = -EBADF;
	free(a->root_abs);
	a->root_abs = NULL;
}

int agent_init(struct agent *a, int argc, char *argv[])
{
	enum { ARG_ROOT = 0x100, ARG_CPUID, ARG_PROFILE, ARG_PLAN, ARG_GROW };
	static const struct option options[] = {
		{ "root", required_argument, NULL, ARG_ROOT },
		{ "cpuid-file", required_argument, NULL, ARG_CPUID },
		{ "profile", required_argument, NULL, ARG_PROFILE },
		{ "plan", no_argument, NULL, ARG_PLAN },
		{ "dry-run", no_argument, NULL, ARG_PLAN },
		{ "grow-root", no_argument, NULL, ARG_GROW },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	_cleanup_free_ char *err = NULL;
	const char *root = "/";
	int c, r, level = LOG_NOTICE;

	*a = (struct agent){ .root_fd = -EBADF, .started = agent_now_usec() };
	log_set_program("enlighten-firstboot");
	while ((c = cli_getopt(argc, argv, "qvhV", options, "enlighten-firstboot")) >= 0)
		switch (c) {
		case 'h':
			return help();
		case 'V':
			return cli_version("enlighten-firstboot");
		case ARG_ROOT:
			root = optarg;
			break;
		case ARG_CPUID:
			a->cpuid_file = optarg;
			break;
		case ARG_PROFILE:
			a->profile_opt = optarg;
			break;
		case ARG_PLAN:
			a->plan = true;
			break;
		case ARG_GROW:
			a->grow_only = true;
			break;
		case 'q':
			a->quiet = true;
			level = LOG_ERR;
			break;
		case 'v':
			level = LOG_DEBUG;
			break;
		default:
			return EXIT_USAGE;
		}
	if (optind < argc) {
		log_error("unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	log_set_max_level(level);

	/* librpm wants the root as an absolute path */
	a->root_abs = realpath(root, NULL);
	if (!a->root_abs)
		return log_error_errno(errno, "cannot open the root '%s': %m", root), EXIT_USAGE;
	a->root = a->root_abs;
	a->root_fd = open(a->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a->root_fd < 0)
		return log_error_errno(errno, "cannot open the root '%s': %m", root), EXIT_USAGE;

	struct fb_choose_opts co = {
		.root = a->root,
		.profile_opt = a->profile_opt,
		.detect_always = true, /* the summary and the report carry the verdict */
		.check_root = true,
		/* Test hook: take --root for a running system's root, so that the
		 * tests can put the agent in a container without being in one. */
		.live = getenv("ENLIGHTEN_TEST_LIVE_ROOT"),
		.cpuid_file = a->cpuid_file,
	};
	r = fb_choose(a->root_fd, &co, &a->config, &a->verdict, &a->target, &a->forced, &err);
	if (r < 0)
		return log_error_errno(r, err ? "%s" : "cannot choose a profile: %m", err),
		       EXIT_USAGE;
	switch (r) {
	case FB_CHOICE_DISABLED:
		log_notice("disabled by %s; nothing done", a->config.disable_source);
		return EXIT_OK;
	case FB_CHOICE_CONTAINER:
		log_notice("running in a container ('%s'); nothing done (force a profile with "
			   "--profile or enlighten.profile= to act anyway)",
			   a->verdict.container);
		return EXIT_OK;
	case FB_CHOICE_NONE:
		log_error("the detector names no profile; force one with --profile or "
			  "enlighten.profile=");
		return EXIT_USAGE;
	}
	return -1;
}
