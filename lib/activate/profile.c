/* SPDX-License-Identifier: MIT */
/*
 * profile.c - the profile matrix: parse payloads/profiles/<name>.conf
 * with the INI reader (lib/basic/ini.h), check every key and value against
 * a table, and match a detector verdict to a profile.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/activate/profile.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/ini.h"
#include "lib/basic/string-util.h"

/* What a value may be, checked element by element. */
enum value_kind {
	VALUE_HYPERVISOR,
	VALUE_ROLE,
	VALUE_XEN_MODE,
	VALUE_MODULE,	/* kernel module: [a-z0-9_-] */
	VALUE_MODPROBE, /* "module option=value ..." */
	VALUE_PACKAGE,	/* RPM name */
	VALUE_UNIT,	/* systemd unit name */
	VALUE_KARG,	/* one kernel argument */
	VALUE_INF,	/* name.inf */
	VALUE_WORD,	/* Windows service or feature name */
	VALUE_LINE,	/* free text on one line, no control characters */
};

struct profile {
	char *name;
	char **values[_PROFILE_KEY_MAX];
	unsigned line_set[_PROFILE_KEY_MAX]; /* line of the key, 0 when unset */
};

static int parse_words(struct ini *ini, const char *value, void *field);
static int parse_lines(struct ini *ini, const char *value, void *field);

/* Each key's elements are words of a value, or (LINES) whole lines. */
#define WORDS(k, section, name, kind)                                                              \
	[k] = { section, name, parse_words, offsetof(struct profile, values[k]), kind }
#define LINES(k, section, name, kind)                                                              \
	[k] = { section, name, parse_lines, offsetof(struct profile, values[k]), kind }
static const struct ini_key key_table[_PROFILE_KEY_MAX] = {
	WORDS(PROFILE_MATCH_HYPERVISOR, "Match", "Hypervisor", VALUE_HYPERVISOR),
	WORDS(PROFILE_MATCH_ROLE, "Match", "Role", VALUE_ROLE),
	WORDS(PROFILE_MATCH_XEN_MODE, "Match", "XenMode", VALUE_XEN_MODE),
	WORDS(PROFILE_LINUX_MODULES, "Linux", "Modules", VALUE_MODULE),
	WORDS(PROFILE_LINUX_INITRD_MODULES, "Linux", "InitrdModules", VALUE_MODULE),
	WORDS(PROFILE_LINUX_BLACKLIST, "Linux", "Blacklist", VALUE_MODULE),
	LINES(PROFILE_LINUX_MODPROBE_OPTIONS, "Linux", "ModprobeOptions", VALUE_MODPROBE),
	LINES(PROFILE_LINUX_UDEV_RULES, "Linux", "UdevRules", VALUE_LINE),
	WORDS(PROFILE_LINUX_SERVICES, "Linux", "Services", VALUE_UNIT),
	WORDS(PROFILE_LINUX_DISABLE_SERVICES, "Linux", "DisableServices", VALUE_UNIT),
	WORDS(PROFILE_LINUX_PACKAGES, "Linux", "Packages", VALUE_PACKAGE),
	WORDS(PROFILE_LINUX_REMOVE_PACKAGES, "Linux", "RemovePackages", VALUE_PACKAGE),
	WORDS(PROFILE_LINUX_KERNEL_ARGS, "Linux", "KernelArgs", VALUE_KARG),
	WORDS(PROFILE_LINUX_REMOVE_KERNEL_ARGS, "Linux", "RemoveKernelArgs", VALUE_KARG),
	WORDS(PROFILE_DEBIAN_PACKAGES, "Debian", "Packages", VALUE_PACKAGE),
	WORDS(PROFILE_DEBIAN_SERVICES, "Debian", "Services", VALUE_UNIT),
	WORDS(PROFILE_SUSE_PACKAGES, "SUSE", "Packages", VALUE_PACKAGE),
	WORDS(PROFILE_SUSE_SERVICES, "SUSE", "Services", VALUE_UNIT),
	WORDS(PROFILE_WINDOWS_INBOX_DRIVERS, "Windows", "InBoxDrivers", VALUE_INF),
	WORDS(PROFILE_WINDOWS_DRIVERS, "Windows", "Drivers", VALUE_INF),
	WORDS(PROFILE_WINDOWS_BOOT_CRITICAL, "Windows", "BootCritical", VALUE_WORD),
	WORDS(PROFILE_WINDOWS_SERVICES, "Windows", "Services", VALUE_WORD),
	WORDS(PROFILE_WINDOWS_FEATURES, "Windows", "Features", VALUE_WORD),
	LINES(PROFILE_WINDOWS_INSTALLERS, "Windows", "Installers", VALUE_LINE),
	LINES(PROFILE_WINDOWS_REMOVE, "Windows", "Remove", VALUE_LINE),
};
#undef WORDS
#undef LINES

/* A key appears once; a list goes on over indented lines. */
static const struct ini_syntax profile_syntax = {
	.what = "profile",
	.keys = key_table,
	.n_keys = _PROFILE_KEY_MAX,
	.duplicates = INI_DUPLICATES_REFUSE,
	.max_size = PROFILE_FILE_MAX,
	.max_line = PROFILE_LINE_MAX,
};

/* The detector's names (detect/detect.h, RULES contract 1); the matrix test
 * checks them against the detector's own tables. */
static const char *const hypervisor_names[] = {
	"none",	     "microsoft", "xen", "kvm",	    "qemu",	 "vmware", "oracle",
	"parallels", "bhyve",	  "zvm", "powervm", "acrn",	 "apple",  "uml",
	"qnx",	     "sre",	  "vmm", "virtage", "virtualpc", "prsm",   "vm-other",
};
static const char *const role_names[] = { "none", "guest", "root", "dom0" };
static const char *const xen_mode_names[] = { "none", "pv", "hvm", "pvh" };

struct profile_set {
	struct profile **items;
	size_t n;
};

const char *profile_key_section(enum profile_key k)
{
	return (size_t)k < ELEMENTSOF(key_table) ? key_table[k].section : NULL;
}

const char *profile_key_name(enum profile_key k)
{
	return (size_t)k < ELEMENTSOF(key_table) ? key_table[k].name : NULL;
}

/* ---- parsing ---------------------------------------------------------- */

static bool all_of(const char *s, const char *extra, bool upper)
{
	if (!*s)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      (upper && *p >= 'A' && *p <= 'Z') || strchr(extra, *p)))
			return false;
	return true;
}

static bool in_list(const char *s, const char *const *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (streq(l[i], s))
			return true;
	return false;
}

static int check_name_in(struct ini *ini, const char *what, const char *v, const char *const *names,
			 size_t n)
{
	if (in_list(v, names, n))
		return 0;
	const char *m = suggest_in_strings(v, names, n);
	if (m)
		return ini_fail(ini, "unknown %s '%s' (did you mean '%s'?)", what, v, m);
	return ini_fail(ini, "unknown %s '%s'", what, v);
}

static int check_modprobe(struct ini *ini, const char *v)
{
	size_t n = strcspn(v, " \t");
	_cleanup_free_ char *mod = strndup(v, n);
	if (!mod)
		return -ENOMEM;
	if (!all_of(mod, "_-", false) || !v[n])
		return ini_fail(ini,
				"invalid modprobe options '%s' (want 'module option=value...')", v);
	if (!string_is_safe(v) || strpbrk(v, "\\\"'"))
		return ini_fail(ini, "invalid characters in modprobe options '%s'", v);
	return 0;
}

/* 0 when v is a valid element for kind, else -EINVAL with the message. */
static int check_value(struct ini *ini, enum value_kind kind, const char *v)
{
	switch (kind) {
	case VALUE_HYPERVISOR:
		return check_name_in(ini, "hypervisor", v, hypervisor_names,
				     ELEMENTSOF(hypervisor_names));
	case VALUE_ROLE:
		return check_name_in(ini, "role", v, role_names, ELEMENTSOF(role_names));
	case VALUE_XEN_MODE:
		return check_name_in(ini, "Xen mode", v, xen_mode_names,
				     ELEMENTSOF(xen_mode_names));
	case VALUE_MODULE:
		if (all_of(v, "_-", false))
			return 0;
		return ini_fail(ini, "invalid module name '%s' (want a-z, 0-9, '_', '-')", v);
	case VALUE_MODPROBE:
		return check_modprobe(ini, v);
	case VALUE_PACKAGE:
		if (all_of(v, "._+-", true))
			return 0;
		return ini_fail(ini, "invalid package name '%s'", v);
	case VALUE_UNIT:
		if (all_of(v, ":._@-", true) && strchr(v, '.'))
			return 0;
		return ini_fail(ini, "invalid unit name '%s' (want e.g. 'name.service')", v);
	case VALUE_KARG:
		if (string_is_safe(v) && !strpbrk(v, "\"'\\") && (unsigned char)v[0] < 0x80)
			return 0;
		return ini_fail(ini, "invalid kernel argument '%s'", v);
	case VALUE_INF:
		if (all_of(v, "._-", true) && endswith(v, ".inf"))
			return 0;
		return ini_fail(ini, "invalid driver package '%s' (want 'name.inf')", v);
	case VALUE_WORD:
		if (all_of(v, "._-", true))
			return 0;
		return ini_fail(ini, "invalid name '%s' (want letters, digits, '.', '_', '-')", v);
	case VALUE_LINE:
		if (string_is_safe(v))
			return 0;
		return ini_fail(ini, "control characters in value");
	}
	return ini_fail(ini, "internal error: value kind %d", (int)kind);
}

/* Marks the key as set (its first line), for matching and for the
 * family overrides. */
static void mark_set(struct ini *ini)
{
	struct profile *p = ini_userdata(ini);
	size_t k = (size_t)(ini_key(ini) - key_table);
	if (!p->line_set[k])
		p->line_set[k] = ini_line(ini);
}

static int parse_lines(struct ini *ini, const char *value, void *field)
{
	mark_set(ini);
	if (!*value)
		return 0;
	int r = check_value(ini, ini_key(ini)->arg, value);
	if (r < 0)
		return r;
	return strv_extend(field, value);
}

static int parse_words(struct ini *ini, const char *value, void *field)
{
	char ***list = field;
	mark_set(ini);
	_cleanup_free_ char *copy = strdup(value);
	if (!copy)
		return -ENOMEM;
	for (char *w = copy + strspn(copy, " \t"); *w; w += strspn(w, " \t")) {
		size_t n = strcspn(w, " \t");
		char saved = w[n];
		w[n] = '\0';
		int r = check_value(ini, ini_key(ini)->arg, w);
		if (r < 0)
			return r;
		if (strv_contains(*list, w))
			return ini_fail(ini, "'%s' listed twice in '%s'", w, ini_key(ini)->name);
		if (strv_extend(list, w) < 0)
			return -ENOMEM;
		w[n] = saved;
		w += n;
	}
	return 0;
}

static bool profile_name_valid(const char *name)
{
	return strlen(name) <= 64 && all_of(name, "-", false) && name[0] != '-';
}

int profile_parse(const char *name, const char *file, const char *text, struct profile **ret,
		  char **reterr_msg)
{
	if (!profile_name_valid(name))
		return errmsg_set(reterr_msg, -EINVAL,
				  "profile '%s': invalid profile name '%s' (want a-z, 0-9, '-')",
				  file, name);
	_cleanup_profile_ struct profile *p = calloc(1, sizeof(*p));
	if (!p || !(p->name = strdup(name)))
		return -ENOMEM;
	int r = ini_read(&profile_syntax, file, text, strlen(text), p, p, reterr_msg);
	if (r < 0)
		return r;
	if (!p->line_set[PROFILE_MATCH_HYPERVISOR])
		return errmsg_set(reterr_msg, -EINVAL,
				  "profile '%s' line 0: no 'Hypervisor=' in [Match]", file);
	*ret = TAKE_PTR(p);
	return 0;
}

void profile_free(struct profile *p)
{
	if (!p)
		return;
	for (size_t k = 0; k < _PROFILE_KEY_MAX; k++)
		strv_free(p->values[k]);
	free(p->name);
	free(p);
}

const char *profile_name(const struct profile *p)
{
	return p->name;
}

char *const *profile_get(const struct profile *p, enum profile_key k)
{
	static char *const empty[] = { NULL };
	if ((size_t)k >= _PROFILE_KEY_MAX || !p->values[k])
		return empty;
	return p->values[k];
}

char *const *profile_get_for(const struct profile *p, const char *family, enum profile_key k)
{
	static const struct {
		const char *family;
		enum profile_key linux_key, family_key;
	} overrides[] = {
		{ "debian", PROFILE_LINUX_PACKAGES, PROFILE_DEBIAN_PACKAGES },
		{ "debian", PROFILE_LINUX_SERVICES, PROFILE_DEBIAN_SERVICES },
		{ "suse", PROFILE_LINUX_PACKAGES, PROFILE_SUSE_PACKAGES },
		{ "suse", PROFILE_LINUX_SERVICES, PROFILE_SUSE_SERVICES },
	};
	for (size_t i = 0; family && i < ELEMENTSOF(overrides); i++)
		if (overrides[i].linux_key == k && streq(overrides[i].family, family) &&
		    p->line_set[overrides[i].family_key])
			return profile_get(p, overrides[i].family_key);
	return profile_get(p, k);
}

/* ---- the set ---------------------------------------------------------- */

static int profile_cmp(const void *a, const void *b)
{
	const struct profile *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

#ifdef _WIN32
#include <dirent.h>

/* The Windows agent's C runtime has no openat() and the agent does not
 * link lib/basic/fs.c: the names by readdir() and each file by its joined
 * path, bounded like fs_read_file_at(). The names are sorted by the caller. */
static int list_profiles(const char *dir, char ***ret)
{
	DIR *d = opendir(dir);
	if (!d)
		return negative_errno();
	_cleanup_strv_free_ char **l = NULL;
	int r = 0;
	struct dirent *de;
	while (r >= 0 && (errno = 0, de = readdir(d)))
		if (endswith(de->d_name, ".conf") && de->d_name[0] != '.')
			r = strv_length(l) >= PROFILE_SET_MAX ? -E2BIG
							      : strv_extend(&l, de->d_name);
	if (r >= 0 && errno != 0)
		r = negative_errno();
	closedir(d);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(l);
	return 0;
}

static int read_profile(const char *dir, const char *name, char **ret, size_t *ret_size)
{
	_cleanup_free_ char *path = strjoin(dir, "\\", name);
	if (!path)
		return -ENOMEM;
	FILE *f = fopen(path, "rb");
	if (!f)
		return negative_errno();
	_cleanup_free_ char *buf = malloc(PROFILE_FILE_MAX + 2);
	size_t n = buf ? fread(buf, 1, PROFILE_FILE_MAX + 1, f) : 0;
	int r = !buf ? -ENOMEM : ferror(f) ? -EIO : n > PROFILE_FILE_MAX ? -EFBIG : 0;
	fclose(f);
	if (r < 0)
		return r;
	buf[n] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_size = n;
	return 0;
}
#else
static int list_profiles(const char *dir, char ***ret)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	return fs_list_dir(
		fd, NULL, &(struct fs_list_opts){ .suffix = ".conf", .max = PROFILE_SET_MAX }, ret);
}

static int read_profile(const char *dir, const char *name, char **ret, size_t *ret_size)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	return fs_read_file_at(fd, name, PROFILE_FILE_MAX, ret, ret_size);
}
#endif

int profile_set_load(const char *dir, struct profile_set **ret, char **reterr_msg)
{
	_cleanup_strv_free_ char **names = NULL;
	int r = list_profiles(dir, &names);
	if (r < 0)
		return r;
	_cleanup_profile_set_ struct profile_set *s = calloc(1, sizeof(*s));
	size_t n = strv_length(names);
	if (!s || (n > 0 && !(s->items = calloc(n, sizeof(*s->items)))))
		return -ENOMEM;
	for (char **f = names; *f; f++) {
		_cleanup_free_ char *name = strndup(*f, strlen(*f) - strlen(".conf"));
		_cleanup_free_ char *text = NULL;
		size_t size = 0;
		if (!name)
			return -ENOMEM;
		r = read_profile(dir, *f, &text, &size);
		if (r == -EFBIG)
			return errmsg_set(reterr_msg, -EINVAL,
					  "profile '%s' is larger than %d bytes", *f,
					  PROFILE_FILE_MAX);
		if (r < 0)
			return r;
		if (strlen(text) != size)
			return errmsg_set(reterr_msg, -EINVAL, "profile '%s' contains a NUL byte",
					  *f);
		r = profile_parse(name, *f, text, &s->items[s->n], reterr_msg);
		if (r < 0)
			return r;
		s->n++;
	}
	if (s->n == 0)
		return -ENOENT;
	qsort(s->items, s->n, sizeof(*s->items), profile_cmp);
	*ret = TAKE_PTR(s);
	return 0;
}

void profile_set_free(struct profile_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		profile_free(s->items[i]);
	free(s->items);
	free(s);
}

size_t profile_set_size(const struct profile_set *s)
{
	return s->n;
}

const struct profile *profile_set_get(const struct profile_set *s, size_t i)
{
	return i < s->n ? s->items[i] : NULL;
}

const struct profile *profile_set_find(const struct profile_set *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (streq(s->items[i]->name, name))
			return s->items[i];
	return NULL;
}

/* -1 when p does not match, else how many [Match] keys it sets. */
static int match_score(const struct profile *p, const char *const want[3])
{
	static const enum profile_key keys[3] = { PROFILE_MATCH_HYPERVISOR, PROFILE_MATCH_ROLE,
						  PROFILE_MATCH_XEN_MODE };
	int score = 0;
	for (size_t i = 0; i < 3; i++) {
		if (!p->line_set[keys[i]])
			continue;
		if (!strv_contains(p->values[keys[i]], want[i]))
			return -1;
		score++;
	}
	return score;
}

int profile_set_match(const struct profile_set *s, const char *hypervisor, const char *role,
		      const char *xen_mode, const struct profile **ret)
{
	const char *const want[3] = { hypervisor ? hypervisor : "none", role ? role : "none",
				      xen_mode ? xen_mode : "none" };
	const struct profile *best = NULL;
	int best_score = -1;
	bool tie = false;

	for (size_t i = 0; i < s->n; i++) {
		int score = match_score(s->items[i], want);
		if (score < 0 || score < best_score)
			continue;
		tie = score == best_score;
		best_score = score;
		best = s->items[i];
	}
	if (!best)
		return -ENOENT;
	if (tie)
		return -ENOTUNIQ;
	*ret = best;
	return 0;
}
