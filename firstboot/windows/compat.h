/* SPDX-License-Identifier: MIT */
/*
 * compat.h - what the shared sources (detect/, lib/) take from glibc and the
 * mingw-w64 C runtime lacks. The Windows build includes it first in every
 * file (-include); nothing here is compiled for Linux.
 */
#pragma once

#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline char *compat_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = malloc(len + 1);
	if (!p)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}
#define strndup compat_strndup

static inline void *compat_reallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n * size);
}
#define reallocarray compat_reallocarray

#ifndef ENOTUNIQ
#define ENOTUNIQ 76 /* Linux's value; lib/profile.c returns it */
#endif
