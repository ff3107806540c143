/* SPDX-License-Identifier: MIT */
/*
 * progress.h - progress on stderr: a one-line bar redrawn at most ten times
 * a second on a terminal that redraws, or a line at every tenth (and at
 * least every 30 s) where redrawing floods a log: a serial console, a
 * terminal with TERM=dumb, or a file when asked for.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct progress;

enum progress_style {
	PROGRESS_AUTO,	/* see progress_auto_style() */
	PROGRESS_NONE,	/* nothing (--quiet) */
	PROGRESS_BAR,	/* one line, redrawn with \r */
	PROGRESS_LINES, /* "LABEL: 10% (X MiB of Y MiB)", a line per step */
};

/* label is copied; total 0 means unknown (shows bytes only). */
struct progress *progress_new(const char *label, uint64_t total);
void progress_update(struct progress *p, uint64_t done);
/* Draws the final state and ends the line; frees p. Accepts NULL. */
void progress_done(struct progress *p);

/* For every progress made after it; default PROGRESS_AUTO. */
void progress_set_style(enum progress_style s);
/* What PROGRESS_AUTO is for stderr: a bar on a terminal that redraws (a
 * TTY whose TERM is set and not "dumb", and not a serial line), lines on a
 * TTY that does not, nothing when stderr is not a TTY. */
enum progress_style progress_auto_style(void);
/* "auto", "bar", "lines", "none"; -EINVAL for anything else. */
int progress_style_from_string(const char *s);
