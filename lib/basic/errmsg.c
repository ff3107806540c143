/* SPDX-License-Identifier: MIT */
/*
 * errmsg.c - library error messages for the caller to log.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/basic/errmsg.h"

int errmsg_set(char **reterr_msg, int r, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (!reterr_msg)
		return r;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	free(*reterr_msg);
	*reterr_msg = s;
	return r;
}

int errmsg_errno(char **reterr_msg, int r, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int saved = errno;

	r = r > 0 ? -r : r;
	if (!reterr_msg)
		return r;
	va_start(ap, fmt);
	errno = -r; /* what %m prints */
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	errno = saved;
	va_end(ap);
	free(*reterr_msg);
	*reterr_msg = s;
	return r;
}

int errmsg_oom(char **reterr_msg)
{
	return errmsg_set(reterr_msg, -ENOMEM, "out of memory");
}
