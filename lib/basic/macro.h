/* SPDX-License-Identifier: MIT */
/*
 * macro.h - the small vocabulary every file uses: cleanup attributes,
 * ownership moves, array sizes, string tables.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define _unused_ __attribute__((__unused__))
#ifdef _WIN32 /* mingw-w64: "printf" is the MS runtime's; the Windows agent uses the C99 one */
#define _printf_(a, b) __attribute__((__format__(gnu_printf, a, b)))
#else
#define _printf_(a, b) __attribute__((__format__(printf, a, b)))
#endif
#define _pure_ __attribute__((__pure__))
#define _warn_unused_result_ __attribute__((__warn_unused_result__))
#define _cleanup_(f) __attribute__((__cleanup__(f)))

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Hand the value over and leave NULL (or -1) behind, so cleanup skips it. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _p_ = (p);                                                           \
		(p) = NULL;                                                                        \
		_p_;                                                                               \
	})
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _fd_ = (fd);                                                                   \
		(fd) = -EBADF;                                                                     \
		_fd_;                                                                              \
	})

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		(void)close(fd);
		errno = saved;
	}
	return -EBADF;
}
static inline void closep(int *fd)
{
	safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

/* Defines name##p(type *) that calls func(*p) when *p is not NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                    \
	static inline void func##p(type *p)                                                        \
	{                                                                                          \
		if (*p)                                                                            \
			func(*p);                                                                  \
	}

/* Negative errno from a (possibly positive) errno value, never 0. */
static inline int negative_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

static inline bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Returns the rest of s after prefix, or NULL when s does not start with it. */
static inline const char *startswith(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

/*
 * String tables: DEFINE_STRING_TABLE_LOOKUP(hypervisor, enum hypervisor) with
 * a `static const char *const hypervisor_table[]` gives hypervisor_to_string()
 * (NULL when out of range) and hypervisor_from_string() (-EINVAL when unknown).
 */
#define DEFINE_STRING_TABLE_LOOKUP(name, type)                                                     \
	const char *name##_to_string(type i)                                                       \
	{                                                                                          \
		if ((size_t)i >= ELEMENTSOF(name##_table))                                         \
			return NULL;                                                               \
		return name##_table[i];                                                            \
	}                                                                                          \
	type name##_from_string(const char *s)                                                     \
	{                                                                                          \
		if (!s)                                                                            \
			return (type)-EINVAL;                                                      \
		for (size_t i = 0; i < ELEMENTSOF(name##_table); i++)                              \
			if (name##_table[i] && streq(name##_table[i], s))                          \
				return (type)i;                                                    \
		return (type)-EINVAL;                                                              \
	}
