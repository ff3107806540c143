/* SPDX-License-Identifier: MIT */
/*
 * errmsg.h - the optional `char **reterr_msg` of library functions: a
 * malloc'ed sentence for the caller to log, set in one call that also
 * returns the error code.
 *
 * One policy: a function that fails sets the message for the error it
 * returns, and setting replaces what was there. A caller whose callee was
 * given reterr_msg either returns the callee's error as it is, adds its own
 * context in front (errmsg_prefix()), or gives a message only where the
 * callee left none (errmsg_default()). Nothing else writes *reterr_msg.
 */
#pragma once

#include "lib/basic/macro.h"

/* Replaces *reterr_msg (when reterr_msg is not NULL) with the formatted text
 * and returns r, so `return errmsg_set(reterr_msg, -EBADMSG, "...", x);`. */
int errmsg_set(char **reterr_msg, int r, const char *fmt, ...) _printf_(3, 4);

/* The same, with r's error as what %m prints; returns -abs(r). */
int errmsg_errno(char **reterr_msg, int r, const char *fmt, ...) _printf_(3, 4);

/* "TEXT: what the callee said", or "TEXT: strerror(r)" where it said
 * nothing; returns r. */
int errmsg_prefix(char **reterr_msg, int r, const char *fmt, ...) _printf_(3, 4);

/* Sets the message only where there is none yet (a callee's is more
 * specific); returns r. */
int errmsg_default(char **reterr_msg, int r, const char *fmt, ...) _printf_(3, 4);

/* Hands msg (malloc'ed, or NULL for none) over as the message, freeing it
 * when reterr_msg is NULL; returns r. */
int errmsg_take(char **reterr_msg, int r, char *msg);

/* "out of memory"; returns -ENOMEM. */
int errmsg_oom(char **reterr_msg);
