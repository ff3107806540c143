/* SPDX-License-Identifier: MIT */
/*
 * errmsg.c - library error messages for the caller to log.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/basic/errmsg.h"

/* The one place *reterr_msg is written. */
static void errmsg_replace(char **reterr_msg, char *s)
{
	free(*reterr_msg);
	*reterr_msg = s;
}

static char *errmsg_vformat(const char *fmt, va_list ap) _printf_(1, 0);
static char *errmsg_vformat(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

int errmsg_set(char **reterr_msg, int r, const char *fmt, ...)
{
	va_list ap;

	if (!reterr_msg)
		return r;
	va_start(ap, fmt);
	char *s = errmsg_vformat(fmt, ap);
	va_end(ap);
	errmsg_replace(reterr_msg, s);
	return r;
}

int errmsg_errno(char **reterr_msg, int r, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	r = r > 0 ? -r : r;
	if (!reterr_msg)
		return r;
	va_start(ap, fmt);
	errno = -r; /* what %m prints */
	char *s = errmsg_vformat(fmt, ap);
	errno = saved;
	va_end(ap);
	errmsg_replace(reterr_msg, s);
	return r;
}

int errmsg_prefix(char **reterr_msg, int r, const char *fmt, ...)
{
	va_list ap;

	if (!reterr_msg)
		return r;
	va_start(ap, fmt);
	char *prefix = errmsg_vformat(fmt, ap);
	va_end(ap);
	if (!prefix)
		return r;
	errmsg_set(reterr_msg, r, "%s: %s", prefix,
		   *reterr_msg ? *reterr_msg : strerror(r < 0 ? -r : EIO));
	free(prefix);
	return r;
}

int errmsg_default(char **reterr_msg, int r, const char *fmt, ...)
{
	va_list ap;

	if (!reterr_msg || *reterr_msg)
		return r;
	va_start(ap, fmt);
	char *s = errmsg_vformat(fmt, ap);
	va_end(ap);
	errmsg_replace(reterr_msg, s);
	return r;
}

int errmsg_take(char **reterr_msg, int r, char *msg)
{
	if (!reterr_msg)
		free(msg);
	else
		errmsg_replace(reterr_msg, msg);
	return r;
}

int errmsg_oom(char **reterr_msg)
{
	return errmsg_set(reterr_msg, -ENOMEM, "out of memory");
}
