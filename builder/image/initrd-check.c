/* SPDX-License-Identifier: MIT */
/*
 * initrd-check.c - reads an initrd (early uncompressed cpio segments walked
 * by their newc headers, then the main archive through libarchive with any
 * compression filter) and checks the boot-critical storage drivers of each
 * staged profile, as modules or built into the kernel.
 * The drivers are InitrdModules= of the profile matrix (lib/activate/profile.h).
 */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "builder/image/initrd-check.h"
#include "lib/activate/profile.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

#define INITRD_MAX (1024ULL * 1024 * 1024)
#define BUILTIN_MAX (4 * 1024 * 1024)
#define NAMES_MAX 200000

struct names {
	char **modules;
	size_t n;
	char *builtin; /* the initrd's modules.builtin, if any */
};

static void names_done(struct names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->modules[i]);
	free(s->modules);
	free(s->builtin);
}

/* "lib/modules/6.1/kernel/drivers/scsi/hv_storvsc.ko.xz" -> "hv_storvsc". */
static char *module_name(const char *path)
{
	static const char *const suffixes[] = { ".ko", ".ko.xz", ".ko.zst", ".ko.gz" };
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
		const char *e = endswith(b, suffixes[i]);
		if (!e || e == b)
			continue;
		char *n = strndup(b, (size_t)(e - b));
		if (!n)
			return NULL;
		for (char *p = n; *p; p++)
			if (*p == '-')
				*p = '_';
		return n;
	}
	return NULL;
}

static int names_add(struct names *s, const char *path)
{
	if (endswith(path, "/modules.builtin") || streq(path, "modules.builtin"))
		return 1; /* data wanted */
	char *n = module_name(path);
	if (!n)
		return 0;
	if (s->n >= NAMES_MAX) {
		free(n);
		return -E2BIG;
	}
	char **m = reallocarray(s->modules, s->n + 1, sizeof(char *));
	if (!m) {
		free(n);
		return -ENOMEM;
	}
	s->modules = m;
	s->modules[s->n++] = n;
	return 0;
}

static int parse_hex8(const uint8_t *p, uint32_t *ret)
{
	char buf[9];
	memcpy(buf, p, 8);
	buf[8] = '\0';
	return parse_u32(buf, 16, ret);
}

/* Walks uncompressed newc archives from *off; stops at data that is not one. */
static int walk_newc(const uint8_t *base, size_t size, size_t *off, struct names *s)
{
	while (*off + 110 <= size) {
		const uint8_t *h = base + *off;
		if (memcmp(h, "070701", 6) != 0 && memcmp(h, "070702", 6) != 0)
			return 0;
		uint32_t filesize, namesize;
		if (parse_hex8(h + 6 + 6 * 8, &filesize) < 0 ||
		    parse_hex8(h + 6 + 11 * 8, &namesize) < 0 || namesize == 0 || namesize > 4096)
			return -EBADMSG;
		size_t name_off = *off + 110;
		size_t data_off = (name_off + namesize + 3) & ~(size_t)3;
		size_t next = (data_off + (size_t)filesize + 3) & ~(size_t)3;
		if (data_off > size || next > size + 3 || data_off + filesize > size)
			return -EBADMSG;
		_cleanup_free_ char *name = strndup((const char *)base + name_off, namesize - 1);
		if (!name)
			return -ENOMEM;
		*off = MIN(next, size);
		if (streq(name, "TRAILER!!!")) {
			while (*off < size && base[*off] == 0) /* padding between archives */
				(*off)++;
			continue;
		}
		int r = names_add(s, name);
		if (r < 0)
			return r;
		if (r > 0 && filesize < BUILTIN_MAX && !s->builtin)
			s->builtin = strndup((const char *)base + data_off, filesize);
	}
	return 0;
}

static int read_compressed(const uint8_t *base, size_t size, struct names *s, char **reterr_msg)
{
	struct archive *a = archive_read_new();
	if (!a)
		return -ENOMEM;
	archive_read_support_filter_all(a);
	archive_read_support_format_cpio(a);
	int r = 0;
	if (archive_read_open_memory(a, base, size) != ARCHIVE_OK) {
		errmsg_set(reterr_msg, -EBADMSG, "%s", archive_error_string(a));
		archive_read_free(a);
		return -EBADMSG;
	}
	for (;;) {
		struct archive_entry *e;
		int k = archive_read_next_header(a, &e);
		if (k == ARCHIVE_EOF)
			break;
		if (k != ARCHIVE_OK && k != ARCHIVE_WARN) {
			r = errmsg_set(reterr_msg, -EBADMSG, "%s", archive_error_string(a));
			break;
		}
		const char *name = archive_entry_pathname(e);
		if (!name)
			continue;
		r = names_add(s, name);
		if (r < 0)
			break;
		if (r > 0 && !s->builtin && archive_entry_size(e) < BUILTIN_MAX) {
			size_t n = (size_t)archive_entry_size(e);
			s->builtin = calloc(1, n + 1);
			if (!s->builtin) {
				r = -ENOMEM;
				break;
			}
			if (archive_read_data(a, s->builtin, n) != (la_ssize_t)n) {
				r = -EBADMSG;
				break;
			}
		}
		r = 0;
	}
	archive_read_free(a);
	return r;
}

static int read_initrd(int fd, struct names *s, char **reterr_msg)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size == 0 || (uint64_t)st.st_size > INITRD_MAX) {
		return errmsg_set(reterr_msg, -EBADMSG, "initrd is empty or larger than 1 GiB");
	}
	size_t size = (size_t)st.st_size;
	uint8_t *base = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (base == MAP_FAILED)
		return -errno;
	size_t off = 0;
	int r = walk_newc(base, size, &off, s);
	if (r >= 0 && off < size)
		r = read_compressed(base + off, size - off, s, reterr_msg);
	munmap(base, size);
	if (r == -EBADMSG)
		errmsg_default(reterr_msg, r, "not a cpio archive");
	return r;
}

static bool builtin_has(const char *text, const char *driver)
{
	if (!text)
		return false;
	const char *p = text;
	while (*p) {
		const char *nl = strchrnul(p, '\n');
		_cleanup_free_ char *line = strndup(p, (size_t)(nl - p));
		_cleanup_free_ char *n = line ? module_name(line) : NULL;
		if (n && streq(n, driver))
			return true;
		p = *nl ? nl + 1 : nl;
	}
	return false;
}

int initrd_list_modules(int fd, char ***ret, char **reterr_msg)
{
	struct names s = {};
	int r = read_initrd(fd, &s, reterr_msg);
	if (r < 0) {
		names_done(&s);
		return r;
	}
	char **l = calloc(s.n + 1, sizeof(char *));
	if (!l) {
		names_done(&s);
		return -ENOMEM;
	}
	if (s.n > 0)
		memcpy(l, s.modules, s.n * sizeof(char *));
	free(s.modules);
	free(s.builtin);
	*ret = l;
	return 0;
}

static char *normalise(const char *driver)
{
	char *n = strdup(driver);
	for (char *p = n; p && *p; p++)
		if (*p == '-')
			*p = '_';
	return n;
}

int initrd_check_drivers(int fd, const char *builtin, const struct profile_set *set,
			 char *const *profiles, struct initrd_missing **ret, size_t *ret_n,
			 char **reterr_msg)
{
	struct names s = {};
	struct initrd_missing *missing = NULL;
	size_t n_missing = 0;
	int r;

	for (char *const *p = profiles; p && *p; p++)
		if (!profile_set_find(set, *p)) {
			return errmsg_set(reterr_msg, -EINVAL, "unknown profile '%s'", *p);
		}

	r = read_initrd(fd, &s, reterr_msg);
	if (r < 0) {
		names_done(&s);
		return r;
	}
	for (size_t i = 0; i < profile_set_size(set); i++) {
		const struct profile *p = profile_set_get(set, i);
		if (profiles && *profiles && !strv_contains(profiles, profile_name(p)))
			continue;
		for (char *const *d = profile_get(p, PROFILE_LINUX_INITRD_MODULES); *d; d++) {
			_cleanup_free_ char *want = normalise(*d);
			if (!want) {
				r = -ENOMEM;
				break;
			}
			bool found = builtin_has(builtin, want) || builtin_has(s.builtin, want);
			for (size_t k = 0; !found && k < s.n; k++)
				found = streq(s.modules[k], want);
			if (found)
				continue;
			struct initrd_missing *m =
				reallocarray(missing, n_missing + 1, sizeof(*missing));
			if (!m) {
				r = -ENOMEM;
				break;
			}
			missing = m;
			missing[n_missing++] = (struct initrd_missing){
				.driver = *d,
				.profile = profile_name(p),
				.hypervisors = profile_get(p, PROFILE_MATCH_HYPERVISOR),
			};
		}
	}
	names_done(&s);
	if (r < 0) {
		free(missing);
		return r;
	}
	*ret = missing;
	*ret_n = n_missing;
	return 0;
}
