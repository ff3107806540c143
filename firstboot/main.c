/* SPDX-License-Identifier: MIT */
/*
 * main.c - enlighten-firstboot: detect, plan, activate, record, report.
 *
 * The fast path (profile unchanged, last run complete) reads the
 * configuration, runs the detector and reads state.json, nothing more: no
 * librpm, no catalog, no profile matrix.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "firstboot/config.h"
#include "firstboot/report.h"
#include "firstboot/sources.h"
#include "lib/apply.h"
#include "lib/cli.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/plan.h"
#include "lib/profile.h"
#include "lib/rpmtx.h"
#include "lib/state.h"
#include "lib/string-util.h"

#define MATRIX_IN_ROOT "usr/share/enlighten/payloads/profiles"

static const char *arg_root = "/";
static const char *arg_cpuid_file;
static const char *arg_profile;
static bool arg_plan;
static bool arg_quiet;

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
	       "  -q, --quiet         print errors only\n"
	       "  -v, --verbose       print each step\n"
	       "  -h, --help          show this help\n"
	       "  -V, --version       show the version\n"
	       "\n"
	       "Exit status: 0 when the system runs the right profile, 1 when activation\n"
	       "failed (the system is left as it was), 2 on usage or configuration errors.\n");
	return EXIT_OK;
}

static uint64_t now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static char *root_join(const char *rel)
{
	return strjoin(streq(arg_root, "/") ? "" : arg_root, "/", rel);
}

struct run {
	int root_fd;
	struct fb_config config;
	struct fb_verdict verdict;
	const char *target; /* profile to converge on */
	bool forced;
	uint64_t started;
};

static void summary(const struct run *run, bool changed, const char *previous, char *const *changes,
		    const char *error)
{
	struct report rep = {
		.hypervisor = run->verdict.hypervisor,
		.role = run->verdict.role,
		.profile = run->target,
		.previous = previous,
		.forced = run->forced,
		.changed = changed,
		.verdict = run->verdict.json,
		.changes = changes,
		.error = error,
		.duration_usec = now_usec() - run->started,
	};
	int r;

	if (changed || error) {
		r = report_write(run->root_fd, &rep);
		if (r < 0)
			log_warning_errno(r, "cannot write '/%s': %m", REPORT_FILE);
	}
	if (error)
		return;
	if (streq(rep.hypervisor, "microsoft")) {
		r = report_kvp(run->root_fd, &rep);
		if (r < 0)
			log_warning_errno(r, "cannot write the KVP pool '/%s': %m", KVP_POOL_FILE);
	}
	_cleanup_free_ char *line = report_summary_line(&rep);
	if (!line) {
		log_oom();
		return;
	}
	if (!arg_quiet) {
		printf("%s\n", line);
		fflush(stdout);
	}
	/* The console too, when the journal has stdout: the unit sends
	 * stdout to journal+console already. */
}

static const char *did_you_mean(const struct profile_set *set, const char *name)
{
	const char *best = NULL;
	size_t bd = 4;
	for (size_t i = 0; i < profile_set_size(set); i++) {
		const char *n = profile_name(profile_set_get(set, i));
		size_t d = string_distance(name, n);
		if (d < bd) {
			bd = d;
			best = n;
		}
	}
	return best;
}

static int load_matrix(struct profile_set **ret)
{
	_cleanup_free_ char *in_root = root_join(MATRIX_IN_ROOT);
	_cleanup_free_ char *installed = strjoin(cli_datadir(), "/payloads/profiles");
	_cleanup_free_ char *err = NULL;
	if (!in_root || !installed)
		return log_oom();
	const char *dir = access(in_root, F_OK) == 0 ? in_root : installed;
	int r = profile_set_load(dir, ret, &err);
	if (r < 0)
		return log_error_errno(r, "cannot load the profile matrix '%s': %s", dir, err ? err : "%m");
	return 0;
}

/* Plans the target profile from the matrix, the repository and the rpmdb. */
static int make_plan(struct run *run, const struct state *st, struct plan **ret)
{
	_cleanup_profile_set_ struct profile_set *set = NULL;
	_cleanup_strv_free_ char **installed = NULL;
	_cleanup_free_ char *err = NULL;
	struct plan_payload *payloads = NULL;
	size_t n_payloads = 0;
	int r;

	r = load_matrix(&set);
	if (r < 0)
		return r;
	const struct profile *prof = profile_set_find(set, run->target);
	if (!prof) {
		const char *m = did_you_mean(set, run->target);
		log_error("unknown profile '%s'%s%s%s; 'enlighten-detect --profile' names the detected one", run->target,
			  m ? " (did you mean '" : "", m ? m : "", m ? "'?)" : "");
		return -EINVAL;
	}
	r = fb_repo_load(run->root_fd, &run->config, &payloads, &n_payloads, &err);
	if (r < 0)
		return log_error_errno(r, "%s", err ? err : "cannot load the repository: %m");
	r = rpmtx_installed(arg_root, &installed, &err);
	if (r < 0) {
		fb_payloads_free(payloads, n_payloads);
		return log_error_errno(r, "%s", err ? err : "cannot read the rpm database: %m");
	}
	struct plan_input in = {
		.root_fd = run->root_fd,
		.root = arg_root,
		.profile = prof,
		.profiles = set,
		.payloads = payloads,
		.n_payloads = n_payloads,
		.installed = installed,
		.previous = st ? st->profile : NULL,
		.forced = run->forced,
	};
	r = plan_build(&in, ret, &err);
	fb_payloads_free(payloads, n_payloads);
	if (r < 0)
		return log_error_errno(r, "cannot plan profile '%s': %s", run->target, err ? err : "%m");
	return 0;
}

static void opts_init(const struct run *run, struct apply_opts *o)
{
	const char *abort_after = getenv("ENLIGHTEN_TEST_ABORT_AFTER");
	uint64_t v;
	*o = (struct apply_opts){
		.root = arg_root,
		.root_fd = run->root_fd,
		.verify = run->config.verify,
		.initrd_tool = run->config.initrd_tool,
		.abort_after = abort_after && parse_u64(abort_after, 10, &v) >= 0 ? (long)v : -1,
	};
}

static int converge(struct run *run)
{
	_cleanup_state_ struct state *st = NULL;
	_cleanup_plan_ struct plan *plan = NULL;
	_cleanup_free_ char *err = NULL, *previous = NULL;
	_cleanup_strv_free_ char **changes = NULL;
	_cleanup_close_ int lock = -EBADF;
	struct apply_opts o;
	bool changed = false;
	int r;

	r = state_load(run->root_fd, &st, &err);
	if (r == -EBADMSG) {
		log_warning("%s; treating the system as unknown and planning from scratch", err);
		free(TAKE_PTR(err));
	} else if (r < 0 && r != -ENOENT)
		return log_error_errno(r, "cannot read '/%s': %m", STATE_FILE);

	/* The fast path. */
	if (!arg_plan && state_converged(st, run->target)) {
		log_debug("profile '%s' is active and complete; nothing to do", run->target);
		summary(run, false, st->profile, NULL, NULL);
		return EXIT_OK;
	}

	if (arg_plan) {
		r = make_plan(run, st, &plan);
		if (r < 0)
			return r == -EINVAL ? EXIT_USAGE : EXIT_NO;
		_cleanup_json_ json_object *j = plan_to_json(plan);
		if (!j)
			return log_oom(), EXIT_USAGE;
		r = json_write_fd(STDOUT_FILENO, j, true);
		return r < 0 ? EXIT_USAGE : EXIT_OK;
	}

	lock = state_lock(run->root_fd);
	if (lock == -EBUSY)
		return log_error("another enlighten run holds the lock; try again when it is done"), EXIT_NO;
	if (lock < 0)
		return log_error_errno(lock, "cannot take the lock: %m"), EXIT_NO;
	/* Read again under the lock: the other run may have finished. */
	state_free(TAKE_PTR(st));
	r = state_load(run->root_fd, &st, &err);
	if (r < 0) {
		if (r != -ENOENT && r != -EBADMSG)
			return log_error_errno(r, "cannot read '/%s': %m", STATE_FILE), EXIT_NO;
		free(TAKE_PTR(err));
		st = state_new();
		if (!st)
			return log_oom(), EXIT_USAGE;
	}
	previous = st->profile ? strdup(st->profile) : NULL;
	opts_init(run, &o);

	if (st->journal) {
		struct apply_result res = {};
		log_info("finishing the run that was interrupted");
		r = apply_resume(st, &o, &res, &err);
		if (r < 0) {
			log_error_errno(r, "%s", err ? err : "resuming the interrupted run failed: %m");
			summary(run, false, previous, NULL, err ? err : "resuming the interrupted run failed");
			return EXIT_NO;
		}
		changed = res.changed;
		changes = TAKE_PTR(res.changes);
		apply_result_done(&res);
	}

	r = make_plan(run, st, &plan);
	if (r < 0) {
		summary(run, false, previous, NULL, "planning failed; see the log");
		return r == -EINVAL ? EXIT_USAGE : EXIT_NO;
	}
	if (plan->n_steps == 0 && state_converged(st, run->target) && st->forced == run->forced) {
		summary(run, changed, previous, changes, NULL);
		return EXIT_OK;
	}
	for (size_t i = 0; i < plan->n_steps; i++) {
		_cleanup_free_ char *d = plan_step_describe(&plan->steps[i]);
		log_info("step %zu/%zu: %s", i + 1, plan->n_steps, d ? d : "?");
	}
	struct apply_result res = {};
	r = apply_plan(st, plan, &o, &res, &err);
	if (r < 0) {
		log_error_errno(r, "activating profile '%s' failed, the system is as it was: %s", run->target,
				err ? err : "%m");
		summary(run, false, previous, NULL, err ? err : "activation failed");
		return EXIT_NO;
	}
	for (char **c = res.changes; c && *c; c++)
		if (strv_extend(&changes, *c) < 0)
			return log_oom(), EXIT_USAGE;
	changed = changed || res.changed;
	apply_result_done(&res);
	summary(run, changed, previous, changes, NULL);
	return EXIT_OK;
}

int main(int argc, char *argv[])
{
	enum { ARG_ROOT = 0x100, ARG_CPUID, ARG_PROFILE, ARG_PLAN };
	static const struct option options[] = {
		{ "root", required_argument, NULL, ARG_ROOT },
		{ "cpuid-file", required_argument, NULL, ARG_CPUID },
		{ "profile", required_argument, NULL, ARG_PROFILE },
		{ "plan", no_argument, NULL, ARG_PLAN },
		{ "dry-run", no_argument, NULL, ARG_PLAN },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	struct run run = { .root_fd = -EBADF, .started = now_usec() };
	_cleanup_free_ char *err = NULL;
	int c, r, level = LOG_NOTICE;

	log_set_program("enlighten-firstboot");
	while ((c = getopt_long(argc, argv, "qvhV", options, NULL)) >= 0)
		switch (c) {
		case 'h':
			return help();
		case 'V':
			return cli_version("enlighten-firstboot");
		case ARG_ROOT:
			arg_root = optarg;
			break;
		case ARG_CPUID:
			arg_cpuid_file = optarg;
			break;
		case ARG_PROFILE:
			arg_profile = optarg;
			break;
		case ARG_PLAN:
			arg_plan = true;
			break;
		case 'q':
			arg_quiet = true;
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
	_cleanup_free_ char *root_abs = realpath(arg_root, NULL);
	if (!root_abs)
		return log_error_errno(errno, "cannot open the root '%s': %m", arg_root), EXIT_USAGE;
	arg_root = root_abs;
	run.root_fd = open(arg_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (run.root_fd < 0)
		return log_error_errno(errno, "cannot open the root '%s': %m", arg_root), EXIT_USAGE;

	r = fb_config_load(run.root_fd, &run.config, &err);
	if (r >= 0)
		r = fb_config_cmdline(run.root_fd, &run.config, &err);
	if (r < 0) {
		log_error_errno(r, "%s", err ? err : "cannot read the configuration: %m");
		goto usage;
	}
	if (arg_profile) {
		free(run.config.profile);
		run.config.profile = strdup(arg_profile);
		run.config.profile_source = "--profile";
	}
	if (run.config.disable && !arg_profile) {
		log_notice("disabled by %s; nothing done", run.config.disable_source);
		goto done;
	}

	r = fb_detect(streq(arg_root, "/") ? NULL : arg_root, arg_cpuid_file, &run.verdict, &err);
	if (r < 0) {
		log_error_errno(r, "%s", err ? err : "detection failed: %m");
		goto usage;
	}
	run.forced = run.config.profile != NULL;
	run.target = run.forced ? run.config.profile : run.verdict.profile;
	if (!run.target) {
		log_error("the detector names no profile; force one with --profile or enlighten.profile=");
		goto usage;
	}
	if (run.forced)
		log_info("profile '%s' forced by %s", run.target, run.config.profile_source);

	r = converge(&run);
	fb_verdict_done(&run.verdict);
	fb_config_done(&run.config);
	safe_close(run.root_fd);
	return r < 0 ? EXIT_NO : r;
done:
	fb_config_done(&run.config);
	safe_close(run.root_fd);
	return EXIT_OK;
usage:
	fb_verdict_done(&run.verdict);
	fb_config_done(&run.config);
	safe_close(run.root_fd);
	return EXIT_USAGE;
}
