/* SPDX-License-Identifier: MIT */
/*
 * live.c - makes an activation take effect in the boot that did it
 * (agent.h, agent_live): on the running system (root "/", systemd as
 * init), after the plan was applied to the tree, it reloads systemd's
 * units when their files changed, loads the profile's modules, unloads blacklisted modules nobody
 * uses, and starts the profile's services without waiting for them (the
 * agent runs early in boot: a service ordered after it starts when it
 * is done). What needs a reboot is said, not done: a changed kernel
 * command line. Each outcome is one line for the report.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "firstboot/agent.h"
#include "lib/activate/plan.h"
#include "lib/activate/profile.h"
#include "lib/basic/fs.h"
#include "lib/basic/log.h"
#include "lib/basic/spawn.h"
#include "lib/basic/string-util.h"

#define ARGV_MODULES_MAX 64 /* a profile lists a dozen */
#define ARGV_UNITS_MAX 64

/* Runs argv; 0 when it exited 0, else -EIO with its first line of stderr in
 * *ret_why (may be NULL). */
static int run(const char *const *argv, char **ret_why)
{
	struct spawn_result res = {};
	int r = spawn_run((char *const *)argv, NULL, &res);
	if (r >= 0 && res.exit_status != 0) {
		if (ret_why && res.err) {
			res.err[strcspn(res.err, "\n")] = '\0';
			*ret_why = strdup(strstrip(res.err));
		}
		r = -EIO;
	}
	spawn_result_done(&res);
	return r;
}

static int note(char ***changes, const char *fmt, ...) _printf_(2, 3);
static int note(char ***changes, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = strv_extendv(changes, fmt, ap);
	va_end(ap);
	if (r >= 0) /* on the console, with the kernel's time stamp */
		log_notice("%s", (*changes)[strv_length(*changes) - 1]);
	return r;
}

/* A module is loaded when /sys/module/NAME exists ('-' and '_' alike). */
static bool module_loaded(int root_fd, const char *name, bool *ret_in_use)
{
	char path[128], dashless[64];
	size_t n = strlen(name);
	if (n >= sizeof(dashless))
		return false;
	for (size_t i = 0; i <= n; i++)
		dashless[i] = name[i] == '-' ? '_' : name[i];
	snprintf(path, sizeof(path), "sys/module/%s/refcnt", dashless);
	_cleanup_free_ char *refcnt = NULL;
	if (fs_read_line_at(root_fd, path, 32, &refcnt) < 0) {
		snprintf(path, sizeof(path), "sys/module/%s", dashless);
		_cleanup_close_ int fd = fs_open_beneath(root_fd, path, O_PATH, 0);
		if (ret_in_use)
			*ret_in_use = true; /* built in: cannot go */
		return fd >= 0;
	}
	if (ret_in_use)
		*ret_in_use = !streq(strstrip(refcnt), "0");
	return true;
}

/* Whether the running kernel has NAME built in (modules.builtin, where
 * a module is a path ending in NAME.ko, '-' and '_' alike). */
static bool module_builtin(int root_fd, const char *name)
{
	struct utsname u;
	char path[256];
	_cleanup_free_ char *text = NULL;
	if (uname(&u) < 0)
		return false;
	snprintf(path, sizeof(path), "lib/modules/%s/modules.builtin", u.release);
	if (fs_read_file_at(root_fd, path, 4u << 20, &text, NULL) < 0)
		return false;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char *base = strrchr(l, '/');
		base = base ? base + 1 : l;
		if (!endswith(base, ".ko"))
			continue;
		base[strlen(base) - 3] = '\0';
		size_t i = 0;
		for (; base[i] && name[i]; i++)
			if (base[i] != name[i] && !(strchr("-_", base[i]) && strchr("-_", name[i])))
				break;
		if (!base[i] && !name[i])
			return true;
	}
	return false;
}

/* modprobe's line about NAME in err (it quotes the name, '-' as '_'), or
 * NULL. */
static char *modprobe_line(const char *err, const char *name)
{
	char quoted[80];
	size_t n = strlen(name);
	if (!err || n + 3 > sizeof(quoted))
		return NULL;
	quoted[0] = '\'';
	for (size_t i = 0; i < n; i++)
		quoted[i + 1] = name[i] == '-' ? '_' : name[i];
	quoted[n + 1] = '\'';
	quoted[n + 2] = '\0';
	const char *hit = strstr(err, quoted);
	if (!hit)
		return NULL;
	const char *start = hit;
	while (start > err && start[-1] != '\n')
		start--;
	char *line = strndup(start, strcspn(start, "\n"));
	if (line) {
		char *t = strstrip(line);
		memmove(line, t, strlen(t) + 1);
	}
	return line;
}

/* The profile's modules not loaded yet go to one 'modprobe -a': one start
 * of modprobe and one read of its indexes, where one run per module cost
 * 0.2-1.2 s each under TCG. Each is then loaded when /sys/module says so
 * (or modprobe succeeded for all, a module built in without parameters
 * having no directory there) or built into the kernel; else not loaded,
 * with modprobe's line about it or, as modprobe -q says nothing about a
 * driver without its device, "no such device here". */
static int modules_load(int root_fd, const struct profile *prof, char ***changes)
{
	const char *argv[ARGV_MODULES_MAX + 4] = { "modprobe", "-a", "-q" };
	size_t k = 3;
	int r = 0;
	for (char *const *m = profile_get(prof, PROFILE_LINUX_MODULES); *m; m++)
		if (!module_loaded(root_fd, *m, NULL) && k < ARGV_MODULES_MAX + 3)
			argv[k++] = *m;
	if (k == 3)
		return 0;
	argv[k] = NULL;
	struct spawn_result res = {};
	int sr = spawn_run((char *const *)argv, NULL, &res);
	bool all_ok = sr >= 0 && res.exit_status == 0;
	for (size_t i = 3; r >= 0 && i < k; i++) {
		if (all_ok || module_loaded(root_fd, argv[i], NULL) ||
		    module_builtin(root_fd, argv[i])) {
			r = note(changes, "module %s: loaded", argv[i]);
			continue;
		}
		_cleanup_free_ char *why = modprobe_line(res.err, argv[i]);
		r = note(changes, "module %s: not loaded (%s)", argv[i],
			 why && *why ? why : "no such device here");
	}
	spawn_result_done(&res);
	return r;
}

static int modules_now(int root_fd, const struct profile *prof, char ***changes)
{
	int r = modules_load(root_fd, prof, changes);
	for (char *const *m = profile_get(prof, PROFILE_LINUX_BLACKLIST); r >= 0 && *m; m++) {
		bool in_use = false;
		if (!module_loaded(root_fd, *m, &in_use))
			continue;
		if (!in_use &&
		    run((const char *const[]){ "modprobe", "-r", "-q", *m, NULL }, NULL) >= 0)
			r = note(changes, "module %s: unloaded (blacklisted)", *m);
		else
			r = note(changes, "module %s: blacklisted, still in use until reboot", *m);
	}
	return r;
}

/* systemd's unit directories (/lib is /usr/lib on a merged /usr) and the
 * System V scripts its generator reads (the last). A
 * package adding, replacing or removing a file there moves the directory's
 * mtime (dpkg and rpm rename each file into place). */
static const char *const unit_dirs[AGENT_UNIT_DIRS] = {
	"etc/systemd/system",
	"usr/lib/systemd/system",
	"lib/systemd/system",
	"etc/init.d",
};
#define INITD AGENT_UNIT_DIRS - 1

/* "NAME KIND MTIME" for each entry of the directory, KIND f (regular
 * file), l (link) or d (directory); NULL when it cannot be listed. */
static char **dir_entries(int root_fd, const char *dir)
{
	_cleanup_close_ int fd = fs_open_beneath(root_fd, dir, O_RDONLY | O_DIRECTORY, 0);
	_cleanup_strv_free_ char **names = NULL, **out = NULL;
	if (fd < 0 || fs_list_dir(fd, NULL, &(struct fs_list_opts){ .hidden = true }, &names) < 0)
		return NULL;
	STRV_FOREACH(n, names)
	{
		struct stat st;
		if (fstatat(fd, *n, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		char kind = S_ISREG(st.st_mode) ? 'f' : S_ISLNK(st.st_mode) ? 'l' : 'd';
		if (kind == 'd' && (endswith(*n, ".wants") || endswith(*n, ".requires")))
			continue; /* enablement: the agent starts what it enables */
		if (strv_extendf(&out, "%s %c %lld.%09ld", *n, kind, (long long)st.st_mtim.tv_sec,
				 st.st_mtim.tv_nsec) < 0)
			return NULL;
	}
	return TAKE_PTR(out);
}

void agent_units_stamp(const struct agent *a, struct agent_units_stamp *ret)
{
	*ret = (struct agent_units_stamp){};
	for (size_t i = 0; i < AGENT_UNIT_DIRS; i++) {
		struct stat st;
		if (fstatat(a->root_fd, unit_dirs[i], &st, 0) >= 0)
			ret->mtime[i] = st.st_mtim;
		ret->entries[i] = dir_entries(a->root_fd, unit_dirs[i]);
	}
}

void agent_units_stamp_done(struct agent_units_stamp *s)
{
	for (size_t i = 0; i < AGENT_UNIT_DIRS; i++)
		s->entries[i] = strv_free(s->entries[i]);
}

/* Whether the entry ("NAME KIND MTIME") is a System V script with a
 * native unit of its name, which systemd's generator leaves alone. */
static bool initd_shadowed(const struct agent_units_stamp *now, const char *entry)
{
	_cleanup_free_ char *prefix = strndup(entry, strcspn(entry, " "));
	_cleanup_free_ char *unit = prefix ? strjoin(prefix, ".service f ") : NULL;
	for (size_t i = 0; unit && i < INITD; i++)
		STRV_FOREACH(e, now->entries[i])
	if (startswith(*e, unit))
		return true;
	return false;
}

/* Whether unit_dirs[i] changed in a way systemd sees only after a reload:
 * an entry it had changed or gone, or one added that is not a plain unit
 * file (a drop-in directory, an alias link); in /etc/init.d, a script
 * added, changed or gone that has no native unit. A unit file added needs
 * no reload: systemd looks a unit it does not know up on disk again when
 * it is asked for it and the directories changed. */
static bool dir_needs_reload(const struct agent_units_stamp *before,
			     const struct agent_units_stamp *now, size_t i)
{
	char *const *b = before->entries[i], *const *n = now->entries[i];
	if (!b || !n)
		return true; /* not listed: the safe answer */
	STRV_FOREACH(e, b)
	if (!strv_contains(n, *e) && !(i == INITD && initd_shadowed(now, *e)))
		return true;
	STRV_FOREACH(e, n)
	if (!strv_contains(b, *e) &&
	    (i == INITD ? !initd_shadowed(now, *e) : (*e)[strcspn(*e, " ") + 1] != 'f'))
		return true;
	return false;
}

/* A reload is what makes systemd see, in this boot, a unit file changed or
 * removed, a drop-in, a System V script, or a unit disabled (its wants link
 * gone); a unit merely enabled or added needs none: the agent starts it
 * itself. */
static bool reload_needed(const struct agent *a, const struct plan *plan,
			  const struct agent_units_stamp *before)
{
	bool needed = false;
	for (size_t i = 0; i < plan->n_steps; i++)
		if (plan->steps[i].kind == STEP_DISABLE_UNIT)
			return true;
	struct agent_units_stamp now;
	agent_units_stamp(a, &now);
	for (size_t i = 0; i < AGENT_UNIT_DIRS && !needed; i++) {
		if (now.mtime[i].tv_sec == before->mtime[i].tv_sec &&
		    now.mtime[i].tv_nsec == before->mtime[i].tv_nsec)
			continue;
		needed = dir_needs_reload(before, &now, i);
	}
	agent_units_stamp_done(&now);
	return needed;
}

/* The profile's services queued in one 'systemctl start --no-block': one
 * transaction, where one per service made systemd pull sysinit.target's
 * wants in again each time (its modprobe@ units, 1.3 s a service under
 * TCG while the agent runs before sysinit.target). When systemd refuses
 * that transaction, each service is asked alone, to say which one. */
static int services_start(char *const *units, char ***changes)
{
	const char *argv[ARGV_UNITS_MAX + 4] = { "systemctl", "start", "--no-block" };
	size_t k = 3;
	int r = 0;
	for (char *const *u = units; u && *u && k < ARGV_UNITS_MAX + 3; u++)
		argv[k++] = *u;
	if (k == 3)
		return 0;
	argv[k] = NULL;
	bool all_ok = run(argv, NULL) >= 0;
	for (size_t i = 3; r >= 0 && i < k; i++) {
		_cleanup_free_ char *why = NULL;
		if (all_ok ||
		    run((const char *const[]){ "systemctl", "start", "--no-block", argv[i], NULL },
			&why) >= 0)
			r = note(changes, "service %s: start queued", argv[i]);
		else
			r = note(changes, "service %s: not started (%s)", argv[i], why ? why : "?");
	}
	return r;
}

int agent_live(struct agent *a, const struct plan *plan, const struct profile *prof,
	       const char *family, const struct agent_units_stamp *before, char ***changes,
	       bool *ret_reboot)
{
	_cleanup_close_ int sd = fs_open_beneath(a->root_fd, "run/systemd/system", O_PATH, 0);
	bool reboot = false;
	int r;

	*ret_reboot = false;
	if (!streq(a->root, "/") || sd < 0)
		return 0; /* a tree, not the running system: the next boot does it */
	log_notice("profile %s: %zu steps applied in %.1f ms", a->target, plan->n_steps,
		   (double)(agent_now_usec() - a->started) / 1000.0);
	for (size_t i = 0; i < plan->n_steps; i++)
		reboot = reboot || plan->steps[i].kind == STEP_KERNEL_ARGS;
	if (reload_needed(a, plan, before)) {
		_cleanup_free_ char *why = NULL;
		if (run((const char *const[]){ "systemctl", "daemon-reload", NULL }, &why) < 0)
			log_warning("systemctl daemon-reload failed: %s", why ? why : "?");
	}
	r = modules_now(a->root_fd, prof, changes);
	if (r >= 0)
		r = services_start(profile_get_for(prof, family, PROFILE_LINUX_SERVICES), changes);
	if (r >= 0 && reboot)
		r = note(changes, "reboot needed: the kernel command line changed");
	log_notice("profile %s: in effect %.1f ms after the agent started", a->target,
		   (double)(agent_now_usec() - a->started) / 1000.0);
	*ret_reboot = reboot;
	return r;
}
