/* SPDX-License-Identifier: MIT */
/*
 * bootcount.c - the host-only entry's file names under boot counting,
 * loader.conf's default for it, and the reset of its count after a boot
 * from it reached the agent (bootcount.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/activate/bootcount.h"
#include "lib/activate/plan.h"
#include "lib/basic/fs.h"
#include "lib/basic/string-util.h"

static bool parse_uint(const char **p, unsigned *ret)
{
	const char *s = *p;
	unsigned long v = 0;
	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > INT_MAX)
			return false;
	}
	*ret = (unsigned)v;
	*p = s;
	return true;
}

int bootcount_parse(const char *name, size_t *ret_stem_len, unsigned *ret_left, unsigned *ret_done)
{
	const char *plus = strrchr(name, '+'); /* systemd-boot takes the last '+' */
	unsigned left = 0, done = 0;
	if (!plus)
		return 0;
	const char *p = plus + 1;
	if (!parse_uint(&p, &left))
		return 0;
	if (*p == '-') {
		p++;
		if (!parse_uint(&p, &done))
			return 0;
	}
	if (!streq(p, ".conf"))
		return 0;
	*ret_stem_len = (size_t)(plus - name);
	*ret_left = left;
	*ret_done = done;
	return 1;
}

/* The name without counter and ".conf" (a copy). */
static char *name_stem(const char *name)
{
	size_t n;
	unsigned left, done;
	if (bootcount_parse(name, &n, &left, &done) <= 0) {
		const char *e = endswith(name, ".conf");
		n = e ? (size_t)(e - name) : strlen(name);
	}
	return strndup(name, n);
}

bool bootcount_is_hostonly(const char *name)
{
	_cleanup_free_ char *stem = name_stem(name);
	return stem && endswith(stem, BOOTCOUNT_HOSTONLY_SUFFIX) && endswith(name, ".conf");
}

char *bootcount_hostonly_stem(const char *entry)
{
	const char *e = endswith(entry, ".conf");
	_cleanup_free_ char *base = strndup(entry, e ? (size_t)(e - entry) : strlen(entry));
	return base ? strjoin(base, BOOTCOUNT_HOSTONLY_SUFFIX) : NULL;
}

char *bootcount_hostonly_path(const char *entry)
{
	_cleanup_free_ char *stem = bootcount_hostonly_stem(entry);
	char n[16];
	snprintf(n, sizeof(n), "+%d.conf", BOOTCOUNT_TRIES);
	return stem ? strjoin(stem, n) : NULL;
}

int bootcount_hostonly_files(int root_fd, const char *entry, char ***ret)
{
	_cleanup_free_ char *stem = bootcount_hostonly_stem(entry);
	if (!stem)
		return -ENOMEM;
	const char *slash = strrchr(stem, '/');
	_cleanup_free_ char *dir = slash ? strndup(stem, (size_t)(slash - stem)) : strdup(".");
	const char *base = slash ? slash + 1 : stem;
	_cleanup_strv_free_ char **names = NULL, **out = NULL;
	if (!dir)
		return -ENOMEM;
	int r = fs_list_dir(root_fd, dir,
			    &(struct fs_list_opts){ .prefix = base, .suffix = ".conf" }, &names);
	if (r == -ENOENT)
		r = 0;
	if (r < 0)
		return r;
	STRV_FOREACH(n, names)
	{
		_cleanup_free_ char *s = name_stem(*n);
		if (!s)
			return -ENOMEM;
		if (!streq(s, base))
			continue; /* another entry that starts so */
		_cleanup_free_ char *path = slash ? strjoin(dir, "/", *n) : strdup(*n);
		if (!path || strv_extend(&out, path) < 0)
			return -ENOMEM;
	}
	if (!out && !(out = calloc(1, sizeof(char *))))
		return -ENOMEM;
	*ret = TAKE_PTR(out);
	return 0;
}

int bootcount_hostonly_left(int root_fd, const char *entry)
{
	_cleanup_strv_free_ char **files = NULL;
	int r = bootcount_hostonly_files(root_fd, entry, &files);
	if (r < 0)
		return r;
	if (!files[0])
		return -ENOENT;
	const char *slash = strrchr(files[0], '/');
	size_t n;
	unsigned left, done;
	if (bootcount_parse(slash ? slash + 1 : files[0], &n, &left, &done) <= 0)
		return BOOTCOUNT_TRIES;
	return (int)left;
}

static const char *entry_base(const char *entry)
{
	const char *slash = strrchr(entry, '/');
	return slash ? slash + 1 : entry;
}

char *bootcount_loader_conf(const char *text, const char *entry)
{
	_cleanup_free_ char *cur = text ? plan_entry_get(text, "default") : NULL;
	_cleanup_free_ char *glob = name_stem(entry_base(entry));
	if (!glob)
		return NULL;
	for (char *c = glob; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	_cleanup_free_ char *want = strjoin(glob, "*");
	if (!want)
		return NULL;
	if (cur && strcasecmp(cur, entry_base(entry)) != 0)
		return strdup(text); /* another entry is the default: keep it */
	return plan_entry_set(text ? text : "", "default", want);
}

/* Whether the command line has word as one of its words. */
static bool cmdline_has(const char *cmdline, const char *word)
{
	size_t n = strlen(word);
	for (const char *w = cmdline; *w;) {
		w += strspn(w, " \t\n");
		size_t k = strcspn(w, " \t\n");
		if (k == n && strncmp(w, word, n) == 0)
			return true;
		w += k;
	}
	return false;
}

int bootcount_reset(int root_fd, const char *cmdline, char **ret_path)
{
	_cleanup_free_ char *esp = NULL, *entry = NULL, *full = NULL;
	_cleanup_strv_free_ char **files = NULL;
	if (!cmdline || !cmdline_has(cmdline, BOOTCOUNT_MARKER))
		return 0; /* not booted from the host-only entry */
	int r = plan_find_esp(root_fd, &esp);
	if (r >= 0)
		r = plan_find_entry(root_fd, esp, &entry);
	if (r == -ENOENT)
		return 0;
	if (r >= 0)
		r = bootcount_hostonly_files(root_fd, entry, &files);
	if (r < 0)
		return r;
	full = bootcount_hostonly_path(entry);
	if (!full)
		return -ENOMEM;
	if (!files[0] || strv_contains(files, full))
		return 0; /* none, or already a full count (another one: the planner's) */
	const char *slash = strrchr(full, '/');
	_cleanup_free_ char *dir = slash ? strndup(full, (size_t)(slash - full)) : strdup(".");
	if (!dir)
		return -ENOMEM;
	_cleanup_close_ int dfd = fs_open_beneath(root_fd, dir, O_RDONLY | O_DIRECTORY, 0);
	if (dfd < 0)
		return dfd;
	if (renameat(dfd, entry_base(files[0]), dfd, entry_base(full)) < 0)
		return -errno;
	(void)fsync(dfd);
	if (ret_path)
		*ret_path = TAKE_PTR(full);
	return 1;
}

char *bootcount_loader_conf_path(const char *entry)
{
	const char *s = strstr(entry, "/entries/");
	if (!s)
		return strdup("loader.conf");
	_cleanup_free_ char *dir = strndup(entry, (size_t)(s - entry));
	return dir ? strjoin(dir, "/loader.conf") : NULL;
}

char *bootcount_hostonly_entry(const char *generic_text, const char *initrd, char *const *remove,
			       char *const *add)
{
	static char *const fail[] = { BOOTCOUNT_MARKER, "rd.shell=0", "rd.emergency=reboot",
				      "panic=10", NULL };
	_cleanup_free_ char *options = plan_entry_get(generic_text, "options");
	_cleanup_free_ char *title = plan_entry_get(generic_text, "title");
	_cleanup_free_ char *sort_key = plan_entry_get(generic_text, "sort-key");
	_cleanup_free_ char *o1 = plan_options_edit(options, remove, add);
	_cleanup_free_ char *o2 = o1 ? plan_options_edit(o1, NULL, fail) : NULL;
	_cleanup_free_ char *t2 = strjoin(title ? title : "Linux", " (host-only initrd)");
	if (!o2 || !t2)
		return NULL;
	_cleanup_free_ char *a = plan_entry_set(generic_text, "initrd", initrd);
	_cleanup_free_ char *b = a ? plan_entry_set(a, "options", o2) : NULL;
	_cleanup_free_ char *c = b ? plan_entry_set(b, "title", t2) : NULL;
	if (!c || sort_key)
		return TAKE_PTR(c);
	return plan_entry_set(c, "sort-key", "enlighten-hostonly");
}
