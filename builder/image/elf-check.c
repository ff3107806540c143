/* SPDX-License-Identifier: MIT */
/*
 * elf-check.c - can a program start on the image's root (elf-check.h).
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/image/elf-check.h"
#include "builder/image/elf.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/string-util.h"

#define LDCONF_MAX (1u << 20)
#define LDCONF_DEPTH_MAX 8
#define LIBS_MAX 256

struct lib {
	char *name; /* as NEEDED names it */
	char *path; /* where it was found in the image */
	struct elf_info *info;
};

struct check {
	struct ext4 *e;
	const char *what;
	const char *path;
	const struct elf_info *prog;
	char **dirs;
	struct lib libs[LIBS_MAX];
	size_t n_libs;
	char **reterr_msg;
};

static void check_done(struct check *c)
{
	strv_free(c->dirs);
	for (size_t i = 0; i < c->n_libs; i++) {
		free(c->libs[i].name);
		free(c->libs[i].path);
		elf_info_free(c->libs[i].info);
	}
}

static int add_dir(struct check *c, const char *d, size_t len)
{
	_cleanup_free_ char *s = strndup(d, len);
	if (!s)
		return -ENOMEM;
	while (strlen(s) > 1 && endswith(s, "/"))
		s[strlen(s) - 1] = '\0';
	if (s[0] != '/' || strv_contains(c->dirs, s))
		return 0;
	return strv_extend(&c->dirs, s);
}

static int read_ldconf(struct check *c, const char *path, unsigned depth);

/* "include PATTERN": each file the glob names, in name order; a relative
 * pattern is relative to /etc, as ldconfig takes it. */
static int read_ldconf_include(struct check *c, const char *pattern, unsigned depth)
{
	_cleanup_free_ char *full = pattern[0] == '/' ? strdup(pattern) : strjoin("/etc/", pattern);
	if (!full)
		return -ENOMEM;
	char *slash = strrchr(full, '/');
	*slash = '\0';
	const char *dir = *full ? full : "/";
	_cleanup_(strv_freep) char **names = NULL;
	if (ext4_list_dir(c->e, dir, &names) < 0)
		return 0; /* no such folder: ldconfig skips it too */
	for (char **n = names; n && *n; n++) {
		if (fnmatch(slash + 1, *n, FNM_PERIOD) != 0)
			continue;
		_cleanup_free_ char *p = strjoin(dir, "/", *n);
		if (!p)
			return -ENOMEM;
		int r = read_ldconf(c, p, depth + 1);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The loader's folders from ld.so.conf: one or more per line (separated by
 * blanks, ':' or ','), "include" lines, '#' comments. */
static int read_ldconf(struct check *c, const char *path, unsigned depth)
{
	if (depth > LDCONF_DEPTH_MAX)
		return 0;
	_cleanup_free_ char *text = NULL;
	if (ext4_read_file_follow(c->e, path, LDCONF_MAX, &text, NULL) < 0)
		return 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		line = strstrip(line);
		int r;
		if (startswith(line, "include") && (line[7] == ' ' || line[7] == '\t')) {
			r = read_ldconf_include(c, strstrip(line + 8), depth);
		} else if (startswith(line, "hwcap"))
			r = 0;
		else {
			r = 0;
			for (char *p = line; *p && r >= 0;) {
				size_t len = strcspn(p, " \t:,");
				if (len > 0)
					r = add_dir(c, p, len);
				p += len + (p[len] ? 1 : 0);
			}
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int loader_dirs(struct check *c)
{
	int r = read_ldconf(c, "/etc/ld.so.conf", 0);
	if (r < 0)
		return r;
	/* what the loaders of Debian (multiarch) and of SUSE/Fedora (lib64)
	 * search without any configuration */
	const char *t = elf_machine_triplet(c->prog->machine);
	const char *defaults[] = {
		"/lib/", "/usr/lib/", "/lib64", "/usr/lib64", "/lib", "/usr/lib"
	};
	for (size_t i = 0; i < ELEMENTSOF(defaults) && r >= 0; i++) {
		_cleanup_free_ char *d = NULL;
		if (endswith(defaults[i], "/")) {
			if (!t)
				continue;
			d = strjoin(defaults[i], t);
		} else
			d = strdup(defaults[i]);
		r = d ? add_dir(c, d, strlen(d)) : -ENOMEM;
	}
	return r;
}

static bool same_machine(const struct elf_info *a, const struct elf_info *b)
{
	return a->class == b->class && a->data == b->data && a->machine == b->machine;
}

static const char *machine_of(const struct elf_info *i, char buf[static 64])
{
	const char *n = elf_machine_name(i->machine);
	char m[16];
	if (!n) {
		snprintf(m, sizeof(m), "machine %u", i->machine);
		n = m;
	}
	snprintf(buf, 64, "%s, %u-bit %s-endian", n, i->class == ELFCLASS64 ? 64 : 32,
		 i->data == ELFDATA2LSB ? "little" : "big");
	return buf;
}

static int file_pread(void *userdata, void *buf, size_t n, uint64_t off)
{
	return ext4_file_pread(userdata, buf, n, off);
}

/* Reads and parses path in the image: 1 when it is an ELF for the
 * program's machine, 0 when it is missing or for another machine
 * (*ret_other set to what it is for, the first time). */
static int load(struct check *c, const char *path, struct elf_info **ret, char **ret_other)
{
	_cleanup_(ext4_file_closep) struct ext4_file *f = NULL;
	uint64_t n;
	int r = ext4_file_open_follow(c->e, path, &f, &n);
	if (r == -ENOENT || r == -EISDIR || r == -EINVAL || r == -ENOTDIR || r == -ELOOP)
		return 0;
	if (r < 0)
		return errmsg_set(c->reterr_msg, r, "cannot read '%s' in the image: %s", path,
				  strerror(-r));
	_cleanup_(elf_info_freep) struct elf_info *info = NULL;
	_cleanup_free_ char *why = NULL;
	r = elf_read(file_pread, f, n, &info, &why);
	if (r == -EMEDIUMTYPE)
		return 0; /* a linker script or other text: the loader skips it */
	if (r < 0)
		return errmsg_set(c->reterr_msg, -ENOEXEC,
				  "the base's '%s' is a damaged ELF file: %s", path, why);
	if (!same_machine(info, c->prog) || info->partial) {
		char b[64];
		if (ret_other && !*ret_other &&
		    asprintf(ret_other, "%s is for %s", path, machine_of(info, b)) < 0)
			return -ENOMEM;
		return 0;
	}
	*ret = TAKE_PTR(info);
	return 1;
}

static const struct lib *find_loaded(const struct check *c, const char *name)
{
	for (size_t i = 0; i < c->n_libs; i++)
		if (streq(c->libs[i].name, name))
			return &c->libs[i];
	return NULL;
}

/* The newest version with v's prefix ("GLIBC_") that lib defines. */
static const char *newest_like(char *const *defined, const char *v)
{
	const char *u = strrchr(v, '_');
	size_t plen = u ? (size_t)(u - v) + 1 : 0;
	const char *best = NULL;
	for (char *const *d = defined; d && *d; d++)
		if (plen > 0 && strncmp(*d, v, plen) == 0 && (!best || strverscmp(*d, best) > 0))
			best = *d;
	return best;
}

/* Every version that requester needs of lib is defined by it. */
static int check_versions(struct check *c, const struct elf_info *requester,
			  const char *requester_name, const struct lib *lib)
{
	for (size_t i = 0; requester->need_file && requester->need_file[i]; i++) {
		if (!streq(requester->need_file[i], lib->name))
			continue;
		const char *v = requester->need_version[i];
		if (strv_contains(lib->info->defined, v))
			continue;
		const char *newest = newest_like(lib->info->defined, v);
		return errmsg_set(c->reterr_msg, -EPROTO,
				  "%s '/%s' cannot start on this base: %s needs the symbol version "
				  "%s of %s, which the base's %s does not define%s%s%s; build the "
				  "agent on a system no newer than the base (or for it), or use a "
				  "newer base",
				  c->what, c->path, requester_name, v, lib->name, lib->path,
				  newest ? " (the newest it has is " : "", newest ? newest : "",
				  newest ? ")" : "");
	}
	return 0;
}

static int missing(struct check *c, const char *name, const char *requester_name, const char *other)
{
	_cleanup_free_ char *where = NULL;
	for (char **d = c->dirs; d && *d; d++) {
		char *w = strjoin(where ? where : "", where ? ", " : "", *d);
		if (!w)
			return -ENOMEM;
		free(where);
		where = w;
	}
	return errmsg_set(c->reterr_msg, other ? -ENOEXEC : -ENOENT,
			  "%s '/%s' cannot start on this base: %s needs %s, which the base %s%s%s "
			  "(looked in %s); add the package that ships %s to the base, or give "
			  "[Agent] Binary= an agent built for this base",
			  c->what, c->path, requester_name, name,
			  other ? "has only for another machine (" : "does not have",
			  other ? other : "", other ? ")" : "", where ? where : "nowhere", name);
}

/* Finds each library requester needs (once), checks the versions it asks
 * of them, then goes on with their own needs. */
static int resolve(struct check *c, const struct elf_info *requester, const char *requester_name)
{
	size_t first_new = c->n_libs;
	for (char **n = requester->needed; n && *n; n++) {
		const struct lib *have = find_loaded(c, *n);
		if (!have) {
			if (c->n_libs >= LIBS_MAX)
				return errmsg_set(c->reterr_msg, -E2BIG,
						  "%s '/%s' needs more than %d libraries", c->what,
						  c->path, LIBS_MAX);
			_cleanup_free_ char *other = NULL;
			struct elf_info *info = NULL;
			_cleanup_free_ char *found = NULL;
			int r = 0;
			if (strchr(*n, '/')) {
				found = strdup(*n);
				r = found ? load(c, found, &info, &other) : -ENOMEM;
			} else
				for (char **d = c->dirs; d && *d && r == 0; d++) {
					free(found);
					found = strjoin(*d, "/", *n);
					r = found ? load(c, found, &info, &other) : -ENOMEM;
				}
			if (r < 0)
				return r;
			if (r == 0)
				return missing(c, *n, requester_name, other);
			struct lib *l = &c->libs[c->n_libs++];
			*l = (struct lib){ .name = strdup(*n),
					   .path = TAKE_PTR(found),
					   .info = info };
			if (!l->name)
				return -ENOMEM;
			have = l;
		}
		int r = check_versions(c, requester, requester_name, have);
		if (r < 0)
			return r;
	}
	/* breadth first: the libraries found here, then what they need */
	for (size_t i = first_new; i < c->n_libs; i++) {
		int r = resolve(c, c->libs[i].info, c->libs[i].name);
		if (r < 0)
			return r;
	}
	return 0;
}

int elf_check_starts(struct ext4 *e, const char *path, const char *what, char **reterr_msg)
{
	_cleanup_(ext4_file_closep) struct ext4_file *f = NULL;
	uint64_t n;
	int r = ext4_file_open_follow(e, path, &f, &n);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot read %s '/%s' in the image: %s", what,
				  path, strerror(-r));
	_cleanup_(elf_info_freep) struct elf_info *prog = NULL;
	_cleanup_free_ char *why = NULL;
	r = elf_read(file_pread, f, n, &prog, &why);
	if (r < 0)
		return errmsg_set(reterr_msg, -ENOEXEC,
				  "%s '/%s' is not a program the base can run: %s", what, path,
				  why);
	if (prog->partial) {
		char b[64];
		return errmsg_set(reterr_msg, -ENOEXEC,
				  "%s '/%s' is built for %s, which this check does not read; build "
				  "it for a 64-bit little-endian machine",
				  what, path, machine_of(prog, b));
	}
	if (!prog->interp)
		return 0; /* static: nothing to load */

	struct check c = {
		.e = e, .what = what, .path = path, .prog = prog, .reterr_msg = reterr_msg
	};
	_cleanup_(elf_info_freep) struct elf_info *interp = NULL;
	_cleanup_free_ char *other = NULL;
	r = load(&c, prog->interp, &interp, &other);
	if (r == 0)
		r = errmsg_set(reterr_msg, other ? -ENOEXEC : -ENOENT,
			       "%s '/%s' cannot start on this base: its program interpreter %s is "
			       "%s; build the agent for the base's machine and C library, or add "
			       "the C library to the base",
			       what, path, prog->interp, other ? other : "not in the base");
	if (r >= 0)
		r = loader_dirs(&c);
	if (r >= 0)
		r = resolve(&c, prog, "it");
	check_done(&c);
	return r == -ENOMEM ? errmsg_oom(reterr_msg) : (r < 0 ? r : 0);
}
