/* SPDX-License-Identifier: MIT */
/*
 * errmsg.h - the optional `char **reterr_msg` of library functions: a
 * malloc'ed sentence for the caller to log, set in one call that also
 * returns the error code.
 */
#pragma once

#include "lib/macro.h"

/* Replaces *reterr_msg (when reterr_msg is not NULL) with the formatted text
 * and returns r, so `return errmsg_set(reterr_msg, -EBADMSG, "...", x);`. */
int errmsg_set(char **reterr_msg, int r, const char *fmt, ...) _printf_(3, 4);
