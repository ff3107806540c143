/* SPDX-License-Identifier: MIT */
/*
 * fuzz-extract-check.c - libFuzzer target for lib/extract's per-entry check.
 * The input is a list of entries, one a line: a type letter (f file, d
 * directory, l symlink, h hard link, c device, s setuid file), the name,
 * and for links a tab and the target. Whatever the check accepts must have
 * a normalized relative name without "..", and an accepted symlink's target
 * must resolve (lexically) beneath the root.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/basic/extract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *p)
{
	if (!*p || p[0] == '/' || strstr(p, "//") || p[strlen(p) - 1] == '/')
		abort();
	for (const char *c = p; c; c = strchr(c, '/') ? strchr(c, '/') + 1 : NULL)
		if (strncmp(c, "..", 2) == 0 && (c[2] == '/' || c[2] == '\0'))
			abort();
}

static void check_link(const char *path, const char *target)
{
	long depth = 0;
	for (const char *s = path; (s = strchr(s, '/')); s++)
		depth++;
	if (target[0] == '/')
		abort();
	for (const char *c = target; *c;) {
		size_t n = strcspn(c, "/");
		if (n == 2 && c[0] == '.' && c[1] == '.')
			depth--;
		else if (n > 0 && !(n == 1 && c[0] == '.'))
			depth++;
		if (depth < 0)
			abort();
		c += n;
		while (*c == '/')
			c++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct extract_policy p = { .max_entries = 64,
				    .max_bytes = 1 << 20,
				    .windows_names = size > 0 && data[0] & 1 };
	struct extract_tracker *t = NULL;
	char *text = malloc(size + 1);

	if (!text || extract_tracker_new(&t) < 0) {
		free(text);
		return 0;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *tab = strchr(line + 1, '\t');
		if (tab)
			*tab++ = '\0';
		struct extract_entry_info e = { .name = line + 1, .size = (int64_t)strlen(line) };
		switch (line[0]) {
		case 'd':
			e.mode = S_IFDIR | 0755;
			break;
		case 'l':
			e.mode = S_IFLNK | 0777;
			e.symlink = tab;
			break;
		case 'h':
			e.mode = S_IFREG | 0644;
			e.hardlink = tab;
			break;
		case 'c':
			e.mode = S_IFCHR | 0644;
			break;
		case 's':
			e.mode = S_IFREG | 04755;
			break;
		default:
			e.mode = S_IFREG | 0644;
			break;
		}
		char *path = NULL, *err = NULL;
		if (extract_check_entry(&p, t, &e, &path, &err) >= 0 && path) {
			check_path(path);
			if (e.symlink)
				check_link(path, e.symlink);
		}
		free(path);
		free(err);
	}
	extract_tracker_free(t);
	free(text);
	return 0;
}
