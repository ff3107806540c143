/* SPDX-License-Identifier: MIT */
/*
 * value.c - parsers for the short values the probes read from sysfs, procfs
 * and the device tree. Every one takes a length and trusts nothing in it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "detect/parse.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int value_first_line(const char *buf, size_t n, char **ret)
{
	const char *nl = memchr(buf, '\n', n);
	size_t end = nl ? (size_t)(nl - buf) : n;
	size_t start = 0;

	/* A NUL or control byte anywhere in the file means it is not text. */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c == 0 || (c < ' ' && !is_space((char)c)) || c == 0x7f)
			return -EBADMSG;
	}
	while (start < end && is_space(buf[start]))
		start++;
	while (end > start && is_space(buf[end - 1]))
		end--;
	char *s = strndup(buf + start, end - start);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

char *value_show(const char *s, size_t n)
{
	size_t k = MIN(n, (size_t)VALUE_SHOW_MAX);
	char *out = malloc(k + 4);
	if (!out)
		return NULL;
	for (size_t i = 0; i < k; i++)
		out[i] = s[i] >= ' ' && s[i] <= '~' && s[i] != '\'' ? s[i] : '?';
	if (n > k) {
		memcpy(out + k, "...", 4);
		return out;
	}
	out[k] = '\0';
	return out;
}

int value_parse_xen_features(const char *s, uint32_t *ret)
{
	size_t n = strlen(s);
	uint32_t v = 0;

	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2, n -= 2;
	if (n == 0 || n > 64)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int d = unhexchar(s[i]);
		if (d < 0)
			return -EINVAL;
		v = v << 4 | (uint32_t)d; /* the last 8 digits are submap 0 */
	}
	*ret = v;
	return 0;
}

bool value_xen_caps_control_d(const char *buf, size_t n)
{
	static const char word[] = "control_d";
	size_t i = 0;

	while (i < n) {
		while (i < n && (is_space(buf[i]) || buf[i] == ','))
			i++;
		size_t s = i;
		while (i < n && !is_space(buf[i]) && buf[i] != ',')
			i++;
		if (i - s == strlen(word) && memcmp(buf + s, word, i - s) == 0)
			return true;
	}
	return false;
}

int value_parse_pci_id(const char *s, uint16_t *ret)
{
	size_t n = strlen(s);
	uint16_t v = 0;

	if (n < 3 || n > 6 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return -EINVAL;
	for (size_t i = 2; i < n; i++) {
		int d = unhexchar(s[i]);
		if (d < 0)
			return -EINVAL;
		v = (uint16_t)(v << 4 | d);
	}
	*ret = v;
	return 0;
}

int value_dt_match(const char *buf, size_t n, const char *prefix, bool exact)
{
	size_t pl = strlen(prefix);
	int found = 0;

	if (n == 0 || buf[n - 1] != '\0')
		return -EBADMSG;
	for (size_t i = 0; i < n;) {
		size_t l = strnlen(buf + i, n - i);
		if (l == 0)
			return -EBADMSG; /* empty string in the list */
		for (size_t j = 0; j < l; j++)
			if (buf[i + j] < ' ' || buf[i + j] > '~')
				return -EBADMSG;
		if (l >= pl && memcmp(buf + i, prefix, pl) == 0 && (!exact || l == pl))
			found = 1;
		i += l + 1;
	}
	return found;
}

/* The value of "key<blanks><sep><blanks>value" on the line at p, or NULL. */
static const char *line_value(const char *p, const char *key, char sep)
{
	const char *q = startswith(p, key);
	if (!q)
		return NULL;
	q += strspn(q, " \t");
	if (*q != sep)
		return NULL;
	return q + 1 + strspn(q + 1, " \t");
}

bool value_proc_field(const char *buf, const char *key, char sep, char *out, size_t size)
{
	for (const char *p = buf; *p;) {
		const char *v = line_value(p, key, sep);
		if (v) {
			size_t l = strcspn(v, "\n");
			if (size > 0) {
				l = l < size - 1 ? l : size - 1;
				memcpy(out, v, l);
				out[l] = '\0';
			}
			return true;
		}
		p += strcspn(p, "\n");
		if (*p)
			p++;
	}
	return false;
}

int value_environ_get(const char *buf, size_t n, const char *name, char **ret)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < n;) {
		size_t l = strnlen(buf + i, n - i);
		if (l > nl && memcmp(buf + i, name, nl) == 0 && buf[i + nl] == '=') {
			*ret = strndup(buf + i + nl + 1, l - nl - 1);
			return *ret ? 1 : -ENOMEM;
		}
		i += l + 1;
	}
	return 0;
}
