/* SPDX-License-Identifier: MIT */
/*
 * progress.h - a one-line progress bar on stderr, drawn only when stderr is a
 * terminal (and not when quiet), redrawn at most ten times a second.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct progress;

/* label is copied; total 0 means unknown (shows bytes only). */
struct progress *progress_new(const char *label, uint64_t total);
void progress_update(struct progress *p, uint64_t done);
/* Draws the final state and ends the line; frees p. Accepts NULL. */
void progress_done(struct progress *p);

/* Globally silences bars (for --quiet); default follows isatty(stderr). */
void progress_set_enabled(bool on);
