/* SPDX-License-Identifier: MIT */
/*
 * string-util.c - string parsing and formatting helpers.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/basic/string-util.h"

const char *endswith(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	if (b > a)
		return NULL;
	return streq(s + a - b, suffix) ? s + a - b : NULL;
}

int parse_u64(const char *s, int base, uint64_t *ret)
{
	if (!s || !*s || isspace((unsigned char)*s) || *s == '-' || *s == '+')
		return -EINVAL;
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, base);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno != 0 || !end || *end != '\0' || end == s)
		return -EINVAL;
	*ret = v;
	return 0;
}

int parse_u32(const char *s, int base, uint32_t *ret)
{
	uint64_t v;
	int r = parse_u64(s, base, &v);
	if (r < 0)
		return r;
	if (v > UINT32_MAX)
		return -ERANGE;
	*ret = (uint32_t)v;
	return 0;
}

int parse_boolean(const char *s)
{
	static const char *const yes[] = { "1", "yes", "y", "true", "on" };
	static const char *const no[] = { "0", "no", "n", "false", "off" };
	for (size_t i = 0; i < ELEMENTSOF(yes); i++)
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
	for (size_t i = 0; i < ELEMENTSOF(no); i++)
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	return -EINVAL;
}

int parse_size(const char *s, uint64_t *ret)
{
	static const struct {
		const char *suffix;
		unsigned shift;
	} units[] = {
		{ "", 0 },     { "K", 10 },   { "M", 20 },   { "G", 30 },   { "T", 40 },
		{ "KiB", 10 }, { "MiB", 20 }, { "GiB", 30 }, { "TiB", 40 },
	};
	if (!s || !*s || !isdigit((unsigned char)*s))
		return -EINVAL;
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	for (size_t i = 0; i < ELEMENTSOF(units); i++) {
		if (!streq(end, units[i].suffix))
			continue;
		if (units[i].shift && v > (UINT64_MAX >> units[i].shift))
			return -ERANGE;
		*ret = (uint64_t)v << units[i].shift;
		return 0;
	}
	return -EINVAL;
}

char *strstrip(char *s)
{
	char *p = s;
	while (isspace((unsigned char)*p))
		p++;
	size_t n = strlen(p);
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	memmove(s, p, n);
	s[n] = '\0';
	return s;
}

void hex_encode(const void *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

int unhexchar(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(const char *s, void *out, size_t n)
{
	unsigned char *b = out;
	if (strlen(s) != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int hi = unhexchar(s[2 * i]), lo = unhexchar(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		b[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

char *strjoin_real(const char *first, ...)
{
	va_list ap;
	size_t n = 0;
	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *))
		n += strlen(s);
	va_end(ap);

	char *r = malloc(n + 1), *p = r;
	if (!r)
		return NULL;
	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *)) {
		size_t l = strlen(s);
		memcpy(p, s, l);
		p += l;
	}
	va_end(ap);
	*p = '\0';
	return r;
}

bool string_is_safe(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

size_t string_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return SIZE_MAX;
	size_t row[65];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t cost = tolower((unsigned char)a[i - 1]) !=
				      tolower((unsigned char)b[j - 1]);
			row[j] = MIN(MIN(row[j] + 1, row[j - 1] + 1), prev + cost);
			prev = cur;
		}
	}
	return row[lb];
}

void suggestion_add(struct suggestion *sg, const char *candidate)
{
	if (!candidate)
		return;
	size_t d = string_distance(sg->input, candidate);
	if (d < sg->distance) {
		sg->distance = d;
		sg->best = candidate;
	}
}

const char *suggest_in_table(const char *s, const void *names, size_t n, size_t stride)
{
	struct suggestion sg = SUGGESTION_INIT(s);
	for (size_t i = 0; i < n; i++)
		suggestion_add(&sg, *(const char *const *)((const char *)names + i * stride));
	return sg.best;
}

char **strv_free(char **l)
{
	if (!l)
		return NULL;
	for (char **p = l; *p; p++)
		free(*p);
	free(l);
	return NULL;
}

size_t strv_length(char *const *l)
{
	size_t n = 0;
	while (l && l[n])
		n++;
	return n;
}

bool strv_contains(char *const *l, const char *s)
{
	for (size_t i = 0; l && l[i]; i++)
		if (streq(l[i], s))
			return true;
	return false;
}

int strv_extendv(char ***l, const char *fmt, va_list ap)
{
	_cleanup_free_ char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		return -ENOMEM;
	return strv_extend(l, s);
}

int strv_extendf(char ***l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = strv_extendv(l, fmt, ap);
	va_end(ap);
	return k;
}

int strv_extend(char ***l, const char *s)
{
	size_t n = strv_length(*l);
	char *c = strdup(s);
	if (!c)
		return -ENOMEM;
	char **nl = realloc(*l, (n + 2) * sizeof(char *));
	if (!nl) {
		free(c);
		return -ENOMEM;
	}
	nl[n] = c;
	nl[n + 1] = NULL;
	*l = nl;
	return 0;
}
