/* SPDX-License-Identifier: MIT */
/*
 * sysfs-win.c - the detector's probe reads (detect/probe.h: probe_read,
 * probe_list_dir, ...) on Windows. The probes of detect/ read Linux paths
 * beneath a root; here those paths are an in-memory tree that smbios.c and
 * devices.c fill from what Windows gives (the SMBIOS table, the Plug and
 * Play devices) before the probes run, so the same probes and rules judge
 * both systems. Single-threaded, like the agent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/probe.h"
#include "firstboot/windows/winagent.h"
#include "lib/basic/string-util.h"

#define SYSFS_MAX_FILES 8192

static struct sysfs_file {
	char *path;
	char *data;
	size_t n;
} * files;
static size_t n_files;

int win_sysfs_add(const char *path, const char *data, size_t n)
{
	if (n_files >= SYSFS_MAX_FILES)
		return -E2BIG;
	struct sysfs_file *nf = reallocarray(files, n_files + 1, sizeof(*nf));
	if (!nf)
		return -ENOMEM;
	files = nf;
	char *p = strdup(path), *d = malloc(n + 1);
	if (!p || !d) {
		free(p);
		free(d);
		return -ENOMEM;
	}
	memcpy(d, data, n);
	d[n] = '\0';
	files[n_files++] = (struct sysfs_file){ .path = p, .data = d, .n = n };
	return 0;
}

void win_sysfs_clear(void)
{
	for (size_t i = 0; i < n_files; i++) {
		free(files[i].path);
		free(files[i].data);
	}
	free(files);
	files = NULL;
	n_files = 0;
}

static const struct sysfs_file *lookup(const char *path)
{
	for (size_t i = 0; i < n_files; i++)
		if (streq(files[i].path, path))
			return &files[i];
	return NULL;
}

int probe_read(struct probe_ctx *ctx, const char *source, const char *path, size_t max, char **ret,
	       size_t *ret_size)
{
	const struct sysfs_file *f = lookup(path);
	if (!f)
		return -ENOENT;
	if (f->n > max) {
		evidence_add(ctx, source, "'%s': larger than %zu bytes, ignored", path, max);
		return -EFBIG;
	}
	char *d = malloc(f->n + 1);
	if (!d) {
		ctx->oom = true;
		return -ENOMEM;
	}
	memcpy(d, f->data, f->n + 1);
	*ret = d;
	if (ret_size)
		*ret_size = f->n;
	return 0;
}

int probe_read_value(struct probe_ctx *ctx, const char *source, const char *path, char **ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t n;
	int r = probe_read(ctx, source, path, VALUE_MAX, &buf, &n);
	if (r < 0)
		return r;
	r = value_first_line(buf, n, ret);
	if (r == -ENOMEM)
		ctx->oom = true;
	else if (r < 0)
		evidence_add(ctx, source, "'%s': binary junk, not text, ignored", path);
	return r;
}

int probe_read_head(struct probe_ctx *ctx, const char *source, const char *path, size_t max,
		    char **ret, size_t *ret_size)
{
	size_t n;
	int r = probe_read(ctx, source, path, SIZE_MAX - 1, ret, &n);
	if (r < 0)
		return r;
	if (n > max)
		(*ret)[n = max] = '\0';
	if (ret_size)
		*ret_size = n;
	return 0;
}

/* The entry names directly below path: "a/b/c/x" gives "c" for "a/b". */
int probe_list_dir(struct probe_ctx *ctx, const char *source, const char *path,
		   void (*fn)(struct probe_ctx *ctx, const char *name, void *userdata),
		   void *userdata)
{
	size_t plen = strlen(path);
	const char *last = NULL;
	size_t last_n = 0;
	int count = 0;
	bool dir_seen = false;

	for (size_t i = 0; i < n_files; i++) {
		const char *p = files[i].path;
		if (strncmp(p, path, plen) != 0 || p[plen] != '/')
			continue;
		dir_seen = true;
		const char *name = p + plen + 1;
		size_t n = strcspn(name, "/");
		if (n == 0 || (last && n == last_n && strncmp(name, last, n) == 0))
			continue; /* the files of one device are added together */
		last = name, last_n = n;
		if (count >= DIR_MAX_ENTRIES) {
			evidence_add(ctx, source, "'%s': more than %d entries, the rest ignored",
				     path, DIR_MAX_ENTRIES);
			break;
		}
		count++;
		if (fn) {
			_cleanup_free_ char *entry = strndup(name, n);
			if (!entry) {
				ctx->oom = true;
				return -ENOMEM;
			}
			fn(ctx, entry, userdata);
		}
	}
	return dir_seen ? count : -ENOENT;
}

bool probe_exists(struct probe_ctx *ctx _unused_, const char *path)
{
	size_t plen = strlen(path);
	for (size_t i = 0; i < n_files; i++)
		if (strncmp(files[i].path, path, plen) == 0 &&
		    (files[i].path[plen] == '\0' || files[i].path[plen] == '/'))
			return true;
	return false;
}
