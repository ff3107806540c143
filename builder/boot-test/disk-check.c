/* SPDX-License-Identifier: MIT */
/*
 * disk-check.c - boot-test's look at a guest that has no QEMU guest agent
 * (VMware's and bare metal's identities: a virtio channel would show the
 * detector a KVM device), taken from its disk once it has powered off (see
 * checks.h). The root filesystem of the boot's overlay is read with the
 * builder's ext4 reader: the guest's own profile matrix and os-release,
 * report.json, the links that enable the profile's services, the agent's
 * modules-load.d file and dpkg's database, and where the caller read it,
 * the boot entry's command line. Nothing here prints.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/boot-test/checks.h"
#include "builder/boot-test/entry.h"
#include "builder/image/fs-ext4.h"
#include "lib/activate/dpkgtx.h"
#include "lib/activate/paths.h"
#include "lib/activate/plan.h"
#include "lib/activate/profile.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

#define SMALL_MAX (1024u * 1024u)
#define UNIT_DIRS_MAX 512
#define DPKG_STATUS_PATH "/var/lib/dpkg/status"
#define ENABLED_DIR "/etc/systemd/system"

static const char *const unit_dirs[] = {
	"/etc/systemd/system",
	"/usr/lib/systemd/system",
	"/lib/systemd/system",
};

static int read_small(struct ext4 *fs, const char *path, char **ret)
{
	return ext4_read_file_follow(fs, path, SMALL_MAX, ret, NULL);
}

/* The .wants/ or .requires/ directory of /etc/systemd/system holding a link
 * named unit, or NULL. */
static int enabled_by(struct ext4 *fs, char *const *dirs, const char *unit, char **ret)
{
	for (char *const *d = dirs; d && *d; d++) {
		if (!endswith(*d, ".wants") && !endswith(*d, ".requires"))
			continue;
		_cleanup_free_ char *link = strjoin(ENABLED_DIR "/", *d, "/", unit);
		mode_t type;
		if (!link)
			return -ENOMEM;
		if (ext4_lstat_type(fs, link, &type) >= 0) {
			*ret = strdup(*d);
			return *ret ? 1 : -ENOMEM;
		}
	}
	*ret = NULL;
	return 0;
}

/* The unit's file, from the first unit directory that has it. */
static int unit_text(struct ext4 *fs, const char *unit, char **ret)
{
	int r = -ENOENT;
	for (size_t i = 0; i < ELEMENTSOF(unit_dirs) && r == -ENOENT; i++) {
		_cleanup_free_ char *p = strjoin(unit_dirs[i], "/", unit);
		if (!p)
			return -ENOMEM;
		r = read_small(fs, p, ret);
	}
	return r;
}

/* Whether text's [Unit] section pulls unit in (Requires=, Wants=, BindsTo=). */
static bool unit_pulls(const char *text, const char *unit)
{
	static const char *const keys[] = { "Requires=", "Wants=", "BindsTo=" };
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
			if (strncmp(l, keys[i], strlen(keys[i])) != 0)
				continue;
			const char *v = l + strlen(keys[i]);
			size_t n = strcspn(v, "\n"), u = strlen(unit);
			for (const char *w = v; w < v + n; w++)
				if (strncmp(w, unit, u) == 0 && (w == v || w[-1] == ' ') &&
				    (w + u == v + n || w[u] == ' ' || w[u] == '\n'))
					return true;
		}
	return false;
}

/* Each service: enabled by a link, or pulled in by another of the
 * profile's services that is. Not seen running: the disk cannot show it. */
static int check_services(struct ext4 *fs, struct guest_report *r, char *const *services,
			  char *const *dirs)
{
	for (char *const *u = services; *u; u++) {
		_cleanup_free_ char *by = NULL, *text = NULL;
		int k = enabled_by(fs, dirs, *u, &by);
		if (k < 0)
			return k;
		if (k > 0) {
			k = guest_report_add(r, "service", *u, GUEST_OK,
					     "enabled (linked in " ENABLED_DIR "/%s; running "
					     "not seen: read from the disk)",
					     by);
			if (k < 0)
				return k;
			continue;
		}
		const char *puller = NULL;
		for (char *const *o = services; *o && !puller; o++) {
			_cleanup_free_ char *ob = NULL, *ot = NULL;
			if (streq(*o, *u))
				continue;
			if ((k = enabled_by(fs, dirs, *o, &ob)) < 0)
				return k;
			if (k > 0 && unit_text(fs, *o, &ot) >= 0 && unit_pulls(ot, *u))
				puller = *o;
		}
		if (puller)
			k = guest_report_add(r, "service", *u, GUEST_OK,
					     "enabled (pulled in by %s, which is; running not "
					     "seen: read from the disk)",
					     puller);
		else if (unit_text(fs, *u, &text) == -ENOENT)
			k = guest_report_add(r, "service", *u, GUEST_FAIL, "not installed");
		else
			k = guest_report_add(r, "service", *u, GUEST_FAIL,
					     "installed, not enabled");
		if (k < 0)
			return k;
	}
	return 0;
}

/* Each module: named in the agent's modules-load.d file, so systemd loads
 * it at every boot. */
static int check_modules(struct ext4 *fs, struct guest_report *r, char *const *modules)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_strv_free_ char **listed = NULL;
	if (!modules[0])
		return 0;
	int k = read_small(fs, "/" PLAN_MODULES_LOAD_FILE, &text);
	if (k < 0 && k != -ENOENT)
		return k == -ENOMEM ? k : 0;
	for (char *l = text, *next; l; l = next) {
		next = strchr(l, '\n');
		if (next)
			*next++ = '\0';
		l = strstrip(l);
		if (*l && *l != '#' && strv_extend(&listed, l) < 0)
			return -ENOMEM;
	}
	for (char *const *m = modules; *m; m++) {
		if (strv_contains(listed, *m))
			k = guest_report_add(r, "module", *m, GUEST_OK,
					     "listed in /" PLAN_MODULES_LOAD_FILE
					     " (loaded at boot; loaded not seen: read from "
					     "the disk)");
		else
			k = guest_report_add(r, "module", *m, GUEST_FAIL,
					     "not listed in /" PLAN_MODULES_LOAD_FILE);
		if (k < 0)
			return k;
	}
	return 0;
}

/* The profile's kernel arguments on the command line of the disk's boot
 * entry (read by the caller), each as a word of its own. */
static int check_kernel_args(struct guest_report *r, char *const *args, const char *options)
{
	_cleanup_strv_free_ char **words = NULL;
	_cleanup_free_ char *copy = strdup(options);
	char *save = NULL;
	if (!copy)
		return -ENOMEM;
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
		if (strv_extend(&words, w) < 0)
			return -ENOMEM;
	for (char *const *a = args; *a; a++) {
		int k = strv_contains(words, *a)
				? guest_report_add(r, "kernel-arg", *a, GUEST_OK,
						   "on the boot entry's command line")
				: guest_report_add(r, "kernel-arg", *a, GUEST_FAIL,
						   "not on the boot entry's command line '%s'",
						   options);
		if (k < 0)
			return k;
	}
	return 0;
}

/* The profile's packages installed and its removed ones gone, by dpkg's
 * database (a root without one, an RPM system, is not read). */
static int check_packages(struct ext4 *fs, struct guest_report *r, const struct profile *p,
			  const char *family)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_strv_free_ char **installed = NULL;
	int k = ext4_read_file_follow(fs, DPKG_STATUS_PATH, DPKG_STATUS_MAX, &text, NULL);
	if (k == -ENOMEM)
		return k;
	if (k < 0)
		return 0;
	if ((k = dpkg_status_installed(text, &installed)) < 0)
		return k;
	for (char *const *n = profile_get_for(p, family, PROFILE_LINUX_PACKAGES); *n; n++)
		if ((k = guest_report_add(
			     r, "package", *n, strv_contains(installed, *n) ? GUEST_OK : GUEST_FAIL,
			     "%s", strv_contains(installed, *n) ? "installed" : "not installed")) <
		    0)
			return k;
	for (char *const *n = profile_get_for(p, family, PROFILE_LINUX_REMOVE_PACKAGES); *n; n++)
		if (strv_contains(installed, *n) &&
		    (k = guest_report_add(r, "package", *n, GUEST_FAIL,
					  "still installed, though the profile removes it")) < 0)
			return k;
	return 0;
}

static int read_profile(struct ext4 *fs, struct guest_report *r, const char *profile,
			struct profile **ret)
{
	_cleanup_free_ char *path = NULL, *conf = NULL, *err = NULL;
	if (asprintf(&path, "/%s/%s.conf", IMAGE_PROFILES_DIR, profile) < 0)
		return -ENOMEM;
	int k = read_small(fs, path, &conf);
	if (k < 0)
		return k == -ENOMEM
			       ? k
			       : guest_report_problem(r, "cannot read '%s' on the guest's disk: %s",
						      path, strerror(-k));
	if (profile_parse(profile, path, conf, ret, &err) < 0)
		return guest_report_problem(r, "%s", err ?: "the guest's profile does not parse");
	return 0;
}

static int look(struct ext4 *fs, const struct guest_expect *e, struct guest_report *r)
{
	_cleanup_free_ char *os_release = NULL, *report = NULL;
	_cleanup_profile_ struct profile *p = NULL;
	_cleanup_strv_free_ char **dirs = NULL;
	size_t n = 0;
	int k;

	if (ext4_needs_recovery(fs))
		return guest_report_problem(r, "the guest's root was not unmounted cleanly (its "
					       "journal needs recovery): the disk cannot be read "
					       "as the guest left it");
	r->reached = true;
	(void)read_small(fs, "/etc/os-release", &os_release);
	const char *pretty = os_release ? strstr(os_release, "PRETTY_NAME=") : NULL;
	if (pretty) {
		pretty += strlen("PRETTY_NAME=") + (pretty[strlen("PRETTY_NAME=")] == '"');
		if (!(r->os = strndup(pretty, strcspn(pretty, "\"\n"))))
			return -ENOMEM;
	}
	if ((k = read_profile(fs, r, e->profile, &p)) < 0 || !p)
		return k;
	if ((k = ext4_list_dir(fs, ENABLED_DIR, &dirs)) < 0 && k != -ENOENT)
		return k == -ENOMEM ? k : 0;
	if (strv_length(dirs) > UNIT_DIRS_MAX)
		return guest_report_problem(r, "more than %d entries in " ENABLED_DIR,
					    UNIT_DIRS_MAX);
	const char *family = guest_family(os_release);
	if ((k = check_services(fs, r, profile_get_for(p, family, PROFILE_LINUX_SERVICES), dirs)) <
		    0 ||
	    (k = check_modules(fs, r, profile_get(p, PROFILE_LINUX_MODULES))) < 0 ||
	    (k = check_packages(fs, r, p, family)) < 0)
		return k;
	if (e->entry_options && (k = check_kernel_args(r, profile_get(p, PROFILE_LINUX_KERNEL_ARGS),
						       e->entry_options)) < 0)
		return k;
	k = ext4_read_file_follow(fs, "/" IMAGE_REPORT_FILE, SMALL_MAX, &report, &n);
	if (k >= 0 && (k = guest_report_read_json(r, report, n)) < 0)
		return k;
	if (r->report_result && !streq(r->report_result, "complete"))
		guest_report_problem(r, "report.json says the agent's last run %s",
				     r->report_result);
	return k == -ENOMEM ? k : 0;
}

int guest_check_disk(const char *image, const char *format, const char *dir,
		     const struct guest_expect *e, struct guest_report *ret)
{
	struct guest_report r = { .pass = true,
				  .from_disk = true,
				  .agent_seconds = -1,
				  .services_seconds = -1,
				  .userspace_seconds = -1 };
	_cleanup_free_ char *err = NULL;
	struct ext4 *fs = NULL;
	int k = boot_root_open(image, format, dir, &fs, &err);
	if (k == -ENOMEM)
		return k;
	if (k < 0)
		k = guest_report_problem(&r, "cannot read the guest's disk: %s",
					 err ?: strerror(-k));
	else
		k = look(fs, e, &r);
	ext4_abort(fs);
	if (k < 0) {
		guest_report_done(&r);
		return k;
	}
	*ret = r;
	return 0;
}
