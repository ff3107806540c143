/* SPDX-License-Identifier: MIT */
/*
 * grubenv.c - GRUB's environment block (grubenv.h), as GRUB's
 * lib/envblk.c lays it out: the header, `name=value` lines, and '#' to
 * the block's end; a line that starts with '#' is no variable.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "builder/image/grubenv.h"
#include "lib/basic/macro.h"

#define HEADER_LEN (sizeof(GRUBENV_HEADER) - 1)

static bool plain(const char *s, bool key)
{
	return *s || !key ? strpbrk(s, key ? "\n\\=" : "\n\\") == NULL : false;
}

/* Calls fn for each `name=value` line of the block (p, n bytes past the
 * header), line without its newline. */
static int each_line(const char *p, size_t n, int (*fn)(const char *line, size_t len, void *u),
		     void *u)
{
	const char *end = p + n;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (*p != '#' && memchr(p, '=', len)) {
			int r = fn(p, len, u);
			if (r != 0)
				return r;
		}
		p += len + (nl ? 1 : 0);
	}
	return 0;
}

static bool line_is(const char *line, size_t len, const char *key)
{
	size_t k = key ? strlen(key) : 0;
	return key && len > k && memcmp(line, key, k) == 0 && line[k] == '=';
}

struct put {
	char *out;
	size_t at;
	const char *key;
};

static int put(struct put *s, const char *p, size_t n)
{
	if (s->at + n > GRUBENV_SIZE)
		return -E2BIG;
	memcpy(s->out + s->at, p, n);
	s->at += n;
	return 0;
}

static int keep_line(const char *line, size_t len, void *u)
{
	struct put *s = u;
	if (line_is(line, len, s->key))
		return 0;
	int r = put(s, line, len);
	return r < 0 ? r : put(s, "\n", 1);
}

static int check_block(const char *old, size_t old_size)
{
	return old_size >= HEADER_LEN && memcmp(old, GRUBENV_HEADER, HEADER_LEN) == 0 ? 0
										      : -EBADMSG;
}

int grubenv_set(const char *old, size_t old_size, const char *key, const char *value,
		char out[GRUBENV_SIZE])
{
	if ((key && !plain(key, true)) || (value && (!key || !plain(value, false))))
		return -EINVAL;
	if (old && check_block(old, old_size) < 0)
		return -EBADMSG;
	struct put s = { .out = out, .key = key };
	int r = put(&s, GRUBENV_HEADER, HEADER_LEN);
	if (r >= 0 && old)
		r = each_line(old + HEADER_LEN, MIN(old_size, (size_t)GRUBENV_SIZE) - HEADER_LEN,
			      keep_line, &s);
	if (r >= 0 && value) {
		r = put(&s, key, strlen(key));
		if (r >= 0)
			r = put(&s, "=", 1);
		if (r >= 0)
			r = put(&s, value, strlen(value));
		if (r >= 0)
			r = put(&s, "\n", 1);
	}
	if (r < 0)
		return r;
	memset(out + s.at, '#', GRUBENV_SIZE - s.at);
	return 0;
}

struct get {
	const char *key;
	char *value;
};

static int find_line(const char *line, size_t len, void *u)
{
	struct get *g = u;
	if (!line_is(line, len, g->key))
		return 0;
	size_t k = strlen(g->key) + 1;
	g->value = strndup(line + k, len - k);
	return g->value ? 1 : -ENOMEM;
}

int grubenv_get(const char *old, size_t old_size, const char *key, char **ret)
{
	if (check_block(old, old_size) < 0)
		return -EBADMSG;
	struct get g = { .key = key };
	int r = each_line(old + HEADER_LEN, MIN(old_size, (size_t)GRUBENV_SIZE) - HEADER_LEN,
			  find_line, &g);
	if (r < 0)
		return r;
	*ret = g.value;
	return 0;
}
