/* SPDX-License-Identifier: MIT */
/*
 * plan-win.c - the plan over a profile's [Windows] section: what to do, in
 * which order, as data (it is the journal's content while it runs).
 *
 * Order: what can be undone first (drivers into the store, boot-critical
 * start types, installers, services, features), the removal of the other
 * hypervisors' tools last, once the new profile is in: a failure before it
 * rolls back everything, and a removal is never undone. Every file the
 * plan needs is looked up while planning, so a missing driver folder or
 * installer fails the run before it changes anything.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <windows.h>

#include "firstboot/windows/winagent.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/string-util.h"

static const char *const step_kind_table[_STEP_KIND_MAX] = {
	[STEP_DRIVER] = "driver",   [STEP_BOOT] = "boot-critical", [STEP_INSTALLER] = "installer",
	[STEP_SERVICE] = "service", [STEP_DISABLE] = "disable",	   [STEP_FEATURE] = "feature",
	[STEP_REMOVE] = "remove",
};
DEFINE_STRING_TABLE_LOOKUP(step_kind, enum step_kind);

static bool is_file(const char *path)
{
	DWORD a = GetFileAttributesA(path);
	return a != INVALID_FILE_ATTRIBUTES && !(a & FILE_ATTRIBUTE_DIRECTORY);
}

static int add(struct plan *p, enum step_kind kind, const char *arg, const char *args)
{
	if (p->n >= WIN_PLAN_MAX)
		return -E2BIG;
	char *a = strdup(arg), *b = args ? strdup(args) : NULL;
	if (!a || (args && !b)) {
		free(a);
		free(b);
		return -ENOMEM;
	}
	p->steps[p->n++] = (struct step){ .kind = kind, .arg = a, .args = b };
	return 0;
}

/* DIR\PROFILE\<package>\INF: the builder's layout (builder/win-drivers.c). */
static int find_driver(const char *root, const char *profile, const char *inf, char **ret)
{
	_cleanup_free_ char *pattern = strjoin(root, "\\", profile, "\\*");
	WIN32_FIND_DATAA fd;
	if (!pattern)
		return -ENOMEM;
	HANDLE h = FindFirstFileA(pattern, &fd);
	if (h == INVALID_HANDLE_VALUE)
		return -ENOENT;
	int r = -ENOENT;
	do {
		if (!(fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) || fd.cFileName[0] == '.')
			continue;
		_cleanup_free_ char *path =
			strjoin(root, "\\", profile, "\\", fd.cFileName, "\\", inf);
		if (!path) {
			r = -ENOMEM;
			break;
		}
		if (is_file(path)) {
			*ret = TAKE_PTR(path);
			r = 0;
			break;
		}
	} while (FindNextFileA(h, &fd));
	FindClose(h);
	return r;
}

static int plan_drivers(const struct profile *new, const struct plan_paths *pp, struct plan *p,
			char **reterr_msg)
{
	char *const *infs = profile_get(new, PROFILE_WINDOWS_DRIVERS);
	for (size_t i = 0; infs[i]; i++) {
		_cleanup_free_ char *path = NULL;
		int r = find_driver(pp->drivers, profile_name(new), infs[i], &path);
		if (r == -ENOENT)
			return errmsg_set(
				reterr_msg, r,
				"driver '%s' of profile '%s' is not in '%s\\%s\\<package>': "
				"stage its package with enlighten build, or take it out "
				"of the matrix",
				infs[i], profile_name(new), pp->drivers, profile_name(new));
		if (r >= 0)
			r = add(p, STEP_DRIVER, path, NULL);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Installers= lines: "FILE [ARGUMENTS]", FILE in the installers folder. */
static int plan_installers(const struct profile *new, const struct plan_paths *pp, struct plan *p,
			   char **reterr_msg)
{
	char *const *lines = profile_get(new, PROFILE_WINDOWS_INSTALLERS);
	for (size_t i = 0; lines[i]; i++) {
		size_t n = strcspn(lines[i], " \t");
		_cleanup_free_ char *file = strndup(lines[i], n);
		if (!file)
			return -ENOMEM;
		_cleanup_free_ char *path = strjoin(pp->installers, "\\", file);
		if (!path)
			return -ENOMEM;
		if (!is_file(path))
			return errmsg_set(reterr_msg, -ENOENT,
					  "installer '%s' of profile '%s' is not in '%s': put it "
					  "there in the image, or take it out of the matrix",
					  file, profile_name(new), pp->installers);
		const char *args = lines[i] + n;
		args += strspn(args, " \t");
		int r = add(p, STEP_INSTALLER, path, *args ? args : NULL);
		if (r < 0)
			return r;
	}
	return 0;
}

static int plan_words(const struct profile *new, enum profile_key key, enum step_kind kind,
		      struct plan *p)
{
	char *const *l = profile_get(new, key);
	for (size_t i = 0; l[i]; i++) {
		int r = add(p, kind, l[i], NULL);
		if (r < 0)
			return r;
	}
	return 0;
}

int plan_build(const struct profile *old, const struct profile *new, const struct plan_paths *pp,
	       struct plan *ret, char **reterr_msg)
{
	struct plan p = {};
	int r;

	p.to = strdup(profile_name(new));
	p.from = old ? strdup(profile_name(old)) : NULL;
	if (!p.to || (old && !p.from)) {
		r = -ENOMEM;
		goto fail;
	}
	if ((r = plan_drivers(new, pp, &p, reterr_msg)) < 0 ||
	    (r = plan_words(new, PROFILE_WINDOWS_BOOT_CRITICAL, STEP_BOOT, &p)) < 0 ||
	    (r = plan_installers(new, pp, &p, reterr_msg)) < 0 ||
	    (r = plan_words(new, PROFILE_WINDOWS_SERVICES, STEP_SERVICE, &p)) < 0)
		goto fail;
	/* the services of the profile we leave, unless the new one keeps them */
	char *const *gone = old ? profile_get(old, PROFILE_WINDOWS_SERVICES) : NULL;
	for (size_t i = 0; gone && gone[i]; i++)
		if (!strv_contains(profile_get(new, PROFILE_WINDOWS_SERVICES), gone[i]) &&
		    !strv_contains(profile_get(new, PROFILE_WINDOWS_BOOT_CRITICAL), gone[i]) &&
		    (r = add(&p, STEP_DISABLE, gone[i], NULL)) < 0)
			goto fail;
	if ((r = plan_words(new, PROFILE_WINDOWS_FEATURES, STEP_FEATURE, &p)) < 0 ||
	    (r = plan_words(new, PROFILE_WINDOWS_REMOVE, STEP_REMOVE, &p)) < 0)
		goto fail;
	*ret = p;
	return 0;
fail:
	if (r == -E2BIG)
		r = errmsg_set(reterr_msg, r, "profile '%s' makes a plan of more than %d steps",
			       profile_name(new), WIN_PLAN_MAX);
	plan_done(&p);
	return r;
}

void plan_done(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->steps[i].arg);
		free(p->steps[i].args);
	}
	free(p->from);
	free(p->to);
	*p = (struct plan){};
}

void plan_to_json(const struct plan *p, struct jbuf *b)
{
	jbuf_puts(b, "{\"from\":");
	jbuf_str(b, p->from);
	jbuf_puts(b, ",\"to\":");
	jbuf_str(b, p->to);
	jbuf_puts(b, ",\"steps\":[");
	for (size_t i = 0; i < p->n; i++) {
		jbuf_printf(b, "%s{\"kind\":", i ? "," : "");
		jbuf_str(b, step_kind_to_string(p->steps[i].kind));
		jbuf_puts(b, ",\"arg\":");
		jbuf_str(b, p->steps[i].arg);
		jbuf_puts(b, ",\"args\":");
		jbuf_str(b, p->steps[i].args);
		jbuf_puts(b, "}");
	}
	jbuf_puts(b, "]}");
}
