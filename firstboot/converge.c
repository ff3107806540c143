/* SPDX-License-Identifier: MIT */
/*
 * converge.c - the heavy half of the agent: load the profile matrix and the
 * verified catalog, read the rpmdb, plan, apply (resuming an interrupted
 * run first), record and report.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firstboot/agent.h"
#include "firstboot/report.h"
#include "lib/activate/apply.h"
#include "lib/activate/paths.h"
#include "lib/activate/plan.h"
#include "lib/activate/profile.h"
#include "lib/activate/rpmtx.h"
#include "lib/activate/state.h"
#include "lib/basic/cli.h"
#include "lib/activate/dpkgtx.h"
#include "lib/basic/fs.h"
#include "lib/basic/json.h"
#include "lib/basic/log.h"
#include "lib/basic/string-util.h"

static const char *did_you_mean(const struct profile_set *set, const char *name)
{
	struct suggestion sg = SUGGESTION_INIT(name);
	for (size_t i = 0; i < profile_set_size(set); i++)
		suggestion_add(&sg, profile_name(profile_set_get(set, i)));
	return sg.best;
}

static int load_matrix(const struct agent *a, struct profile_set **ret)
{
	_cleanup_free_ char *in_root =
		strjoin(streq(a->root, "/") ? "" : a->root, "/" IMAGE_PROFILES_DIR);
	_cleanup_free_ char *installed = strjoin(cli_datadir(), "/payloads/profiles");
	_cleanup_free_ char *err = NULL;
	if (!in_root || !installed)
		return log_oom();
	const char *dir = access(in_root, F_OK) == 0 ? in_root : installed;
	int r = profile_set_load(dir, ret, &err);
	if (r < 0)
		return log_error_errno(r, "cannot load the profile matrix '%s': %s", dir,
				       err ? err : strerror(-r));
	return 0;
}

/* The distribution family whose package and unit names the matrix uses:
 * "debian" where dpkg installs, "suse" where os-release says SUSE, else
 * NULL (the [Linux] names). */
static const char *family_of(int root_fd, enum plan_pkg_manager manager)
{
	if (manager == PLAN_PKG_DPKG)
		return "debian";
	static const char *const files[] = { "etc/os-release", "usr/lib/os-release" };
	for (size_t i = 0; i < ELEMENTSOF(files); i++) {
		_cleanup_free_ char *text = NULL;
		if (fs_read_file_at(root_fd, files[i], 64 * 1024, &text, NULL) < 0)
			continue;
		return strstr(text, "suse") || strstr(text, "SUSE") ? "suse" : NULL;
	}
	return NULL;
}

/* Plans the target profile from the matrix, the repository and the rpmdb. */
static int make_plan(struct agent *run, const struct state *st, struct plan **ret)
{
	_cleanup_profile_set_ struct profile_set *set = NULL;
	_cleanup_strv_free_ char **installed = NULL, **closure = NULL;
	_cleanup_free_ char *err = NULL;
	struct plan_payload *payloads = NULL;
	size_t n_payloads = 0;
	int r;

	r = load_matrix(run, &set);
	if (r < 0)
		return r;
	const struct profile *prof = profile_set_find(set, run->target);
	if (!prof) {
		const char *m = did_you_mean(set, run->target);
		log_error("unknown profile '%s'%s%s%s; 'enlighten-detect --profile' names the "
			  "detected one",
			  run->target, m ? " (did you mean '" : "", m ? m : "", m ? "'?)" : "");
		return -EINVAL;
	}
	/* The target's own package manager: dpkg where the root has its
	 * database, else rpm. */
	enum plan_pkg_manager manager =
		dpkgtx_root_has_db(run->root_fd) > 0 ? PLAN_PKG_DPKG : PLAN_PKG_RPM;
	uint8_t catalog_sha256[SHA256_DIGEST_SIZE];
	r = fb_repo_load(run->root_fd, &run->config, manager, &payloads, &n_payloads,
			 catalog_sha256, &err);
	if (r < 0)
		return log_error_errno(r, err ? "%s" : "cannot load the repository: %m", err);
	r = fb_repo_closure(run->root_fd, &run->config, run->target, catalog_sha256, payloads,
			    &n_payloads, &closure, &err);
	if (r >= 0)
		r = manager == PLAN_PKG_DPKG ? dpkgtx_installed(run->root_fd, &installed, &err)
					     : rpmtx_installed(run->root, &installed, &err);
	/* the database's word is checked for the packages the repository
	 * serves: one listed with files missing is installed again */
	_cleanup_strv_free_ char **served = NULL, **broken = NULL;
	for (size_t i = 0; r >= 0 && i < n_payloads; i++)
		if (strv_contains(installed, payloads[i].name) &&
		    !strv_contains(served, payloads[i].name) &&
		    strv_extend(&served, payloads[i].name) < 0)
			r = -ENOMEM;
	if (r >= 0)
		r = manager == PLAN_PKG_DPKG ? dpkgtx_broken(run->root_fd, served, &broken)
					     : rpmtx_broken(run->root, served, &broken, &err);
	STRV_FOREACH(b, broken)
	log_warning("package '%s' is installed by the package database's word, but files of it "
		    "are missing: installing it again",
		    *b);
	if (r < 0) {
		fb_payloads_free(payloads, n_payloads);
		return log_error_errno(r, err ? "%s" : "cannot read the package database: %m", err);
	}
	struct plan_input in = {
		.root_fd = run->root_fd,
		.root = run->root,
		.profile = prof,
		.profiles = set,
		.payloads = payloads,
		.n_payloads = n_payloads,
		.installed = installed,
		.broken = broken,
		.closure = closure,
		.manager = manager,
		.family = family_of(run->root_fd, manager),
		.previous = st ? st->profile : NULL,
		.forced = run->forced,
	};
	r = plan_build(&in, ret, &err);
	fb_payloads_free(payloads, n_payloads);
	if (r < 0)
		return log_error_errno(r, "cannot plan profile '%s': %s", run->target,
				       err ? err : strerror(-r));
	return 0;
}

/* After a successful apply on the running system: the same profile's
 * modules and services now (live.c). */
static int live_after(struct agent *run, const struct plan *plan,
		      const struct agent_units_stamp *before, char ***changes)
{
	_cleanup_profile_set_ struct profile_set *set = NULL;
	if (load_matrix(run, &set) < 0)
		return 0; /* planning loaded it a moment ago; nothing more to do */
	const struct profile *prof = profile_set_find(set, run->target);
	if (!prof)
		return 0;
	enum plan_pkg_manager manager =
		dpkgtx_root_has_db(run->root_fd) > 0 ? PLAN_PKG_DPKG : PLAN_PKG_RPM;
	return agent_live(run, plan, prof, family_of(run->root_fd, manager), before, changes,
			  &run->reboot_needed);
}

static void opts_init(const struct agent *run, struct apply_opts *o)
{
	const char *abort_after = getenv("ENLIGHTEN_TEST_ABORT_AFTER");
	uint64_t v;
	*o = (struct apply_opts){
		.root = run->root,
		.root_fd = run->root_fd,
		.verify = run->config.verify,
		.initrd_tool = run->config.initrd_tool,
		.abort_after = abort_after && parse_u64(abort_after, 10, &v) >= 0 ? (long)v : -1,
	};
}

int agent_converge(struct agent *run)
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
		return log_error_errno(r, "cannot read '/%s': %m", IMAGE_STATE_FILE), EXIT_NO;

	/* Run directly (not through enlighten-firstboot), the fast path is
	 * still the first thing. */
	if (agent_fast_path(run))
		return EXIT_OK;
	agent_log_forced(run);

	if (run->plan) {
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
		return log_error("another enlighten run holds the lock; try again when it is done"),
		       EXIT_NO;
	if (lock < 0)
		return log_error_errno(lock, "cannot take the lock: %m"), EXIT_NO;
	/* Read again under the lock: the other run may have finished. */
	state_free(TAKE_PTR(st));
	r = state_load(run->root_fd, &st, &err);
	if (r < 0) {
		if (r != -ENOENT && r != -EBADMSG)
			return log_error_errno(r, "cannot read '/%s': %m", IMAGE_STATE_FILE),
			       EXIT_NO;
		free(TAKE_PTR(err));
		st = state_new();
		if (!st)
			return log_oom(), EXIT_USAGE;
	}
	previous = st->profile ? strdup(st->profile) : NULL;
	opts_init(run, &o);
	/* before anything changes, a resumed run too */
	_cleanup_(agent_units_stamp_done) struct agent_units_stamp units;
	agent_units_stamp(run, &units);

	if (st->journal) {
		struct apply_result res = {};
		log_info("finishing the run that was interrupted");
		r = apply_resume(st, &o, &res, &err);
		if (r < 0) {
			log_error_errno(r, "%s",
					err ? err : "resuming the interrupted run failed: %m");
			agent_summary(run, false, previous, NULL,
				      err ? err : "resuming the interrupted run failed");
			return EXIT_NO;
		}
		changed = res.changed;
		changes = TAKE_PTR(res.changes);
		apply_result_done(&res);
	}

	r = make_plan(run, st, &plan);
	if (r < 0) {
		agent_summary(run, false, previous, NULL, "planning failed; see the log");
		return r == -EINVAL ? EXIT_USAGE : EXIT_NO;
	}
	if (plan->n_steps == 0 && state_converged(st, run->target) && st->forced == run->forced) {
		agent_summary(run, changed, previous, changes, NULL);
		return EXIT_OK;
	}
	for (size_t i = 0; i < plan->n_steps; i++) {
		_cleanup_free_ char *d = plan_step_describe(&plan->steps[i]);
		log_info("step %zu/%zu: %s", i + 1, plan->n_steps, d ? d : "?");
	}
	struct apply_result res = {};
	r = apply_plan(st, plan, &o, &res, &err);
	if (r < 0) {
		log_error_errno(r, "activating profile '%s' failed%s: %s", run->target,
				res.undo_failed ? "" : ", the system is as it was",
				err ? err : strerror(-r));
		agent_summary(run, false, previous, NULL, err ? err : "activation failed");
		return EXIT_NO;
	}
	for (char **c = res.changes; c && *c; c++)
		if (strv_extend(&changes, *c) < 0)
			return log_oom(), EXIT_USAGE;
	changed = changed || res.changed;
	apply_result_done(&res);
	if (live_after(run, plan, &units, &changes) < 0)
		return log_oom(), EXIT_USAGE;
	agent_summary(run, changed, previous, changes, NULL);
	return EXIT_OK;
}
