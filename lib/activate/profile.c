/* SPDX-License-Identifier: MIT */
/*
 * profile.c - the profile matrix: parse payloads/profiles/<name>.conf
 * through libinih, check every key and value against a table, and match a
 * detector verdict to a profile.
 *
 * libinih is built without line numbers in its handler, so the parser feeds
 * it through a reader of our own that counts lines, caps their length and
 * checks section headers (inih does not report empty sections).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/activate/profile.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
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

static const struct profile_key_info {
	const char *section;
	const char *name;
	enum value_kind kind;
	bool per_line; /* one element per line instead of per word */
} key_table[_PROFILE_KEY_MAX] = {
	[PROFILE_MATCH_HYPERVISOR] = { "Match", "Hypervisor", VALUE_HYPERVISOR, false },
	[PROFILE_MATCH_ROLE] = { "Match", "Role", VALUE_ROLE, false },
	[PROFILE_MATCH_XEN_MODE] = { "Match", "XenMode", VALUE_XEN_MODE, false },
	[PROFILE_LINUX_MODULES] = { "Linux", "Modules", VALUE_MODULE, false },
	[PROFILE_LINUX_INITRD_MODULES] = { "Linux", "InitrdModules", VALUE_MODULE, false },
	[PROFILE_LINUX_BLACKLIST] = { "Linux", "Blacklist", VALUE_MODULE, false },
	[PROFILE_LINUX_MODPROBE_OPTIONS] = { "Linux", "ModprobeOptions", VALUE_MODPROBE, true },
	[PROFILE_LINUX_UDEV_RULES] = { "Linux", "UdevRules", VALUE_LINE, true },
	[PROFILE_LINUX_SERVICES] = { "Linux", "Services", VALUE_UNIT, false },
	[PROFILE_LINUX_DISABLE_SERVICES] = { "Linux", "DisableServices", VALUE_UNIT, false },
	[PROFILE_LINUX_PACKAGES] = { "Linux", "Packages", VALUE_PACKAGE, false },
	[PROFILE_LINUX_REMOVE_PACKAGES] = { "Linux", "RemovePackages", VALUE_PACKAGE, false },
	[PROFILE_LINUX_KERNEL_ARGS] = { "Linux", "KernelArgs", VALUE_KARG, false },
	[PROFILE_LINUX_REMOVE_KERNEL_ARGS] = { "Linux", "RemoveKernelArgs", VALUE_KARG, false },
	[PROFILE_DEBIAN_PACKAGES] = { "Debian", "Packages", VALUE_PACKAGE, false },
	[PROFILE_DEBIAN_SERVICES] = { "Debian", "Services", VALUE_UNIT, false },
	[PROFILE_SUSE_PACKAGES] = { "SUSE", "Packages", VALUE_PACKAGE, false },
	[PROFILE_SUSE_SERVICES] = { "SUSE", "Services", VALUE_UNIT, false },
	[PROFILE_WINDOWS_INBOX_DRIVERS] = { "Windows", "InBoxDrivers", VALUE_INF, false },
	[PROFILE_WINDOWS_DRIVERS] = { "Windows", "Drivers", VALUE_INF, false },
	[PROFILE_WINDOWS_BOOT_CRITICAL] = { "Windows", "BootCritical", VALUE_WORD, false },
	[PROFILE_WINDOWS_SERVICES] = { "Windows", "Services", VALUE_WORD, false },
	[PROFILE_WINDOWS_FEATURES] = { "Windows", "Features", VALUE_WORD, false },
	[PROFILE_WINDOWS_INSTALLERS] = { "Windows", "Installers", VALUE_LINE, true },
	[PROFILE_WINDOWS_REMOVE] = { "Windows", "Remove", VALUE_LINE, true },
};

static const char *const sections[] = { "Match", "Linux", "Debian", "SUSE", "Windows" };

/* The detector's names (detect/detect.h, RULES contract 1); the matrix test
 * checks them against the detector's own tables. */
static const char *const hypervisor_names[] = {
	"none",	     "microsoft", "xen", "kvm",	    "qemu",	 "vmware", "oracle",
	"parallels", "bhyve",	  "zvm", "powervm", "acrn",	 "apple",  "uml",
	"qnx",	     "sre",	  "vmm", "virtage", "virtualpc", "prsm",   "vm-other",
};
static const char *const role_names[] = { "none", "guest", "root", "dom0" };
static const char *const xen_mode_names[] = { "none", "pv", "hvm", "pvh" };

struct profile {
	char *name;
	char **values[_PROFILE_KEY_MAX];
	unsigned line_set[_PROFILE_KEY_MAX]; /* line of the key, 0 when unset */
};

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

struct parse_ctx {
	struct profile *p;
	const char *file;
	const char *next; /* rest of the text for the reader */
	unsigned line;
	bool continuation; /* the current line starts with white space */
	int error;
	char *msg;
};

_printf_(2, 3) static int parse_fail(struct parse_ctx *c, const char *fmt, ...)
{
	if (c->error)
		return 0; /* keep the first */
	_cleanup_free_ char *what = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&what, fmt, ap);
	va_end(ap);
	if (r < 0) {
		c->error = -ENOMEM;
		return 0;
	}
	c->error = errmsg_set(&c->msg, -EINVAL, "profile '%s' line %u: %s", c->file, c->line, what);
	if (!c->msg)
		c->error = -ENOMEM;
	return 0;
}

static bool section_known(const char *s)
{
	for (size_t i = 0; i < ELEMENTSOF(sections); i++)
		if (streq(sections[i], s))
			return true;
	return false;
}

static int unknown_section(struct parse_ctx *c, const char *s)
{
	const char *m = suggest_in_strings(s, sections, ELEMENTSOF(sections));
	if (m)
		return parse_fail(c, "unknown section '[%s]' (did you mean '[%s]'?)", s, m);
	return parse_fail(
		c,
		"unknown section '[%s]'; known are [Match], [Linux], [Debian], [SUSE], [Windows]",
		s);
}

/* The line reader for ini_parse_stream: one line per call, counted. */
static char *reader(char *buf, int size, void *userdata)
{
	struct parse_ctx *c = userdata;

	if (c->error || !*c->next)
		return NULL;
	const char *nl = strchr(c->next, '\n');
	size_t len = nl ? (size_t)(nl - c->next) : strlen(c->next);
	c->line++;
	if (len > PROFILE_LINE_MAX || len + 2 > (size_t)size) {
		parse_fail(c,
			   "line longer than %d bytes; continue a long value on the next "
			   "line, indented",
			   PROFILE_LINE_MAX);
		return NULL;
	}
	memcpy(buf, c->next, len);
	buf[len] = '\n';
	buf[len + 1] = '\0';
	c->next += len + (nl ? 1 : 0);
	c->continuation = len > 0 && (buf[0] == ' ' || buf[0] == '\t');

	/* inih calls us back only for keys: check section headers here */
	const char *s = buf + strspn(buf, " \t");
	if (*s == '[') {
		const char *end = strchr(s, ']');
		if (!end) {
			parse_fail(c, "section header without ']'");
			return NULL;
		}
		_cleanup_free_ char *name = strndup(s + 1, end - s - 1);
		if (!name) {
			c->error = -ENOMEM;
			return NULL;
		}
		if (!section_known(name)) {
			unknown_section(c, name);
			return NULL;
		}
	}
	return buf;
}

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

static int check_name_in(struct parse_ctx *c, const char *what, const char *v,
			 const char *const *names, size_t n)
{
	if (in_list(v, names, n))
		return 1;
	const char *m = suggest_in_strings(v, names, n);
	if (m)
		return parse_fail(c, "unknown %s '%s' (did you mean '%s'?)", what, v, m);
	return parse_fail(c, "unknown %s '%s'", what, v);
}

/* Returns 1 when v is a valid element for kind, else records the error. */
static int check_value(struct parse_ctx *c, enum value_kind kind, const char *v)
{
	switch (kind) {
	case VALUE_HYPERVISOR:
		return check_name_in(c, "hypervisor", v, hypervisor_names,
				     ELEMENTSOF(hypervisor_names));
	case VALUE_ROLE:
		return check_name_in(c, "role", v, role_names, ELEMENTSOF(role_names));
	case VALUE_XEN_MODE:
		return check_name_in(c, "Xen mode", v, xen_mode_names, ELEMENTSOF(xen_mode_names));
	case VALUE_MODULE:
		if (all_of(v, "_-", false))
			return 1;
		return parse_fail(c, "invalid module name '%s' (want a-z, 0-9, '_', '-')", v);
	case VALUE_MODPROBE: {
		size_t n = strcspn(v, " \t");
		_cleanup_free_ char *mod = strndup(v, n);
		if (!mod) {
			c->error = -ENOMEM;
			return 0;
		}
		if (!all_of(mod, "_-", false) || !v[n])
			return parse_fail(c,
					  "invalid modprobe options '%s' (want 'module "
					  "option=value...')",
					  v);
		if (!string_is_safe(v) || strpbrk(v, "\\\"'"))
			return parse_fail(c, "invalid characters in modprobe options '%s'", v);
		return 1;
	}
	case VALUE_PACKAGE:
		if (all_of(v, "._+-", true))
			return 1;
		return parse_fail(c, "invalid package name '%s'", v);
	case VALUE_UNIT:
		if (all_of(v, ":._@-", true) && strchr(v, '.'))
			return 1;
		return parse_fail(c, "invalid unit name '%s' (want e.g. 'name.service')", v);
	case VALUE_KARG:
		if (string_is_safe(v) && !strpbrk(v, "\"'\\") && (unsigned char)v[0] < 0x80)
			return 1;
		return parse_fail(c, "invalid kernel argument '%s'", v);
	case VALUE_INF:
		if (all_of(v, "._-", true) && endswith(v, ".inf"))
			return 1;
		return parse_fail(c, "invalid driver package '%s' (want 'name.inf')", v);
	case VALUE_WORD:
		if (all_of(v, "._-", true))
			return 1;
		return parse_fail(c, "invalid name '%s' (want letters, digits, '.', '_', '-')", v);
	case VALUE_LINE:
		if (string_is_safe(v))
			return 1;
		return parse_fail(c, "control characters in value");
	}
	return parse_fail(c, "internal error: value kind %d", (int)kind);
}

static int handler(void *userdata, const char *section, const char *name, const char *value)
{
	struct parse_ctx *c = userdata;
	enum profile_key k;

	if (c->error)
		return 0;
	if (!section_known(section))
		return unknown_section(c, section);

	for (k = 0; k < _PROFILE_KEY_MAX; k++)
		if (streq(key_table[k].section, section) && streq(key_table[k].name, name))
			break;
	if (k == _PROFILE_KEY_MAX) {
		struct suggestion sg = SUGGESTION_INIT(name);
		for (size_t i = 0; i < _PROFILE_KEY_MAX; i++)
			if (streq(key_table[i].section, section))
				suggestion_add(&sg, key_table[i].name);
		const char *best = sg.best;
		if (best)
			return parse_fail(c, "unknown key '%s' in [%s] (did you mean '%s'?)", name,
					  section, best);
		return parse_fail(c, "unknown key '%s' in [%s]", name, section);
	}

	if (!c->continuation) {
		if (c->p->line_set[k])
			return parse_fail(c,
					  "key '%s' set twice (first on line %u); continue a "
					  "list on indented lines",
					  name, c->p->line_set[k]);
		c->p->line_set[k] = c->line;
	}

	const struct profile_key_info *info = &key_table[k];
	_cleanup_free_ char *copy = strdup(value);
	if (!copy) {
		c->error = -ENOMEM;
		return 0;
	}
	if (info->per_line) {
		char *v = strstrip(copy);
		if (!*v)
			return 1;
		if (!check_value(c, info->kind, v))
			return 0;
		if (strv_extend(&c->p->values[k], v) < 0) {
			c->error = -ENOMEM;
			return 0;
		}
		return 1;
	}
	for (char *w = copy + strspn(copy, " \t"); *w; w += strspn(w, " \t")) {
		size_t n = strcspn(w, " \t");
		char saved = w[n];
		w[n] = '\0';
		if (!check_value(c, info->kind, w))
			return 0;
		if (strv_contains(c->p->values[k], w))
			return parse_fail(c, "'%s' listed twice in '%s'", w, name);
		if (strv_extend(&c->p->values[k], w) < 0) {
			c->error = -ENOMEM;
			return 0;
		}
		w[n] = saved;
		w += n;
	}
	return 1;
}

static bool profile_name_valid(const char *name)
{
	return strlen(name) <= 64 && all_of(name, "-", false) && name[0] != '-';
}

int profile_parse(const char *name, const char *file, const char *text, struct profile **ret,
		  char **reterr_msg)
{
	_cleanup_profile_ struct profile *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	struct parse_ctx c = { .p = p, .file = file, .next = text };

	if (!profile_name_valid(name)) {
		parse_fail(&c, "invalid profile name '%s' (want a-z, 0-9, '-')", name);
		goto fail;
	}
	p->name = strdup(name);
	if (!p->name)
		return -ENOMEM;
	if (strlen(text) > PROFILE_FILE_MAX) {
		parse_fail(&c, "larger than %d bytes", PROFILE_FILE_MAX);
		goto fail;
	}

	int r = ini_parse_stream(reader, &c, handler, &c);
	if (!c.error && r > 0) {
		c.line = (unsigned)r;
		parse_fail(&c, "syntax error (want 'Key=value', '[Section]' or a comment)");
	} else if (!c.error && r < 0)
		c.error = -ENOMEM;
	if (!c.error && !p->line_set[PROFILE_MATCH_HYPERVISOR]) {
		c.line = 0;
		parse_fail(&c, "no 'Hypervisor=' in [Match]");
	}
	if (c.error)
		goto fail;
	*ret = TAKE_PTR(p);
	return 0;
fail:
	return errmsg_take(reterr_msg, c.error ? c.error : -EINVAL, TAKE_PTR(c.msg));
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
/* The Windows agent's C runtime has no openat(): the file by its joined
 * path, bounded like fs_read_file_at(). */
static int read_profile_file(DIR *d _unused_, const char *dir, const char *name, char **ret,
			     size_t *ret_size)
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

static DIR *open_profile_dir(const char *dir)
{
	return opendir(dir);
}
#else
static int read_profile_file(DIR *d, const char *dir _unused_, const char *name, char **ret,
			     size_t *ret_size)
{
	return fs_read_file_at(dirfd(d), name, PROFILE_FILE_MAX, ret, ret_size);
}

static DIR *open_profile_dir(const char *dir)
{
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return NULL;
	DIR *d = fdopendir(dfd);
	if (d)
		TAKE_FD(dfd);
	return d;
}
#endif

int profile_set_load(const char *dir, struct profile_set **ret, char **reterr_msg)
{
	DIR *d = open_profile_dir(dir);
	if (!d)
		return negative_errno();

	_cleanup_profile_set_ struct profile_set *s = calloc(1, sizeof(*s));
	int r = s ? 0 : -ENOMEM;
	struct dirent *de;
	while (r >= 0 && (errno = 0, de = readdir(d))) {
		const char *suffix = endswith(de->d_name, ".conf");
		if (!suffix || de->d_name[0] == '.')
			continue;
		if (s->n >= PROFILE_SET_MAX) {
			r = -E2BIG;
			break;
		}
		_cleanup_free_ char *name = strndup(de->d_name, suffix - de->d_name);
		_cleanup_free_ char *text = NULL;
		if (!name) {
			r = -ENOMEM;
			break;
		}
		size_t size = 0;
		r = read_profile_file(d, dir, de->d_name, &text, &size);
		if (r == -EFBIG) {
			r = errmsg_set(reterr_msg, -EINVAL, "profile '%s' is larger than %d bytes",
				       de->d_name, PROFILE_FILE_MAX);
			break;
		}
		if (r < 0)
			break;
		if (strlen(text) != size) {
			r = errmsg_set(reterr_msg, -EINVAL, "profile '%s' contains a NUL byte",
				       de->d_name);
			break;
		}
		struct profile *p;
		r = profile_parse(name, de->d_name, text, &p, reterr_msg);
		if (r < 0)
			break;
		struct profile **items = realloc(s->items, (s->n + 1) * sizeof(*items));
		if (!items) {
			profile_free(p);
			r = -ENOMEM;
			break;
		}
		s->items = items;
		s->items[s->n++] = p;
	}
	if (r >= 0 && errno != 0)
		r = negative_errno();
	closedir(d);
	if (r < 0)
		return r;
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
