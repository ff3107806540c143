/* SPDX-License-Identifier: MIT */
/*
 * errmsg.h - the optional `char **reterr_msg` of library functions: a
 * malloc'ed sentence for the caller to log, set in one call that also
 * returns the error code.
 */
#pragma once

#include "lib/basic/macro.h"

/* Replaces *reterr_msg (when reterr_msg is not NULL) with the formatted text
 * and returns r, so `return errmsg_set(reterr_msg, -EBADMSG, "...", x);`. */
int errmsg_set(char **reterr_msg, int r, const char *fmt, ...) _printf_(3, 4);

/* The same, with r's error as what %m prints; returns -abs(r). */
int errmsg_errno(char **reterr_msg, int r, const char *fmt, ...) _printf_(3, 4);

/* "out of memory"; returns -ENOMEM. */
int errmsg_oom(char **reterr_msg);
