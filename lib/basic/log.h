/* SPDX-License-Identifier: MIT */
/*
 * log.h - the programs' one voice. Library code never logs: it returns
 * -errno (and a message where a library gives one) and the caller logs once,
 * at the boundary, with log_error_errno(r, "... '%s': %m", path).
 *
 * Lines go to stderr as "PROGRAM: message". When stderr is the journal
 * (JOURNAL_STREAM matches), each line starts with a "<N>" priority prefix
 * instead, so journald files it at the right level.
 */
#pragma once

#include <syslog.h>

#include "lib/basic/macro.h"

void log_set_program(const char *name);
void log_set_max_level(int level);
int log_get_max_level(void);
/* Re-reads JOURNAL_STREAM; called by log_set_program, exposed for tests. */
void log_detect_journal(void);

/* Logs when level <= max level. With error != 0, %m expands to strerror(error).
 * Returns -abs(error), or 0 when error is 0, so callers can `return log_...`. */
int log_internal(int level, int error, const char *fmt, ...) _printf_(3, 4);

#define log_full_errno(level, error, ...) log_internal(level, error, __VA_ARGS__)
#define log_error_errno(error, ...) log_internal(LOG_ERR, error, __VA_ARGS__)
#define log_warning_errno(error, ...) log_internal(LOG_WARNING, error, __VA_ARGS__)
#define log_debug_errno(error, ...) log_internal(LOG_DEBUG, error, __VA_ARGS__)
#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)

/* Logs "out of memory" and returns -ENOMEM. */
#define log_oom() log_internal(LOG_ERR, ENOMEM, "out of memory")
