/* SPDX-License-Identifier: MIT */
/*
 * progress.c - terminal progress bar.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/basic/progress.h"

struct progress {
	char label[48];
	uint64_t total, done;
	uint64_t last_draw_ns;
	bool on;
};

static int enabled = -1; /* -1: decide by isatty */

void progress_set_enabled(bool on)
{
	enabled = on;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct progress *progress_new(const char *label, uint64_t total)
{
	struct progress *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	snprintf(p->label, sizeof(p->label), "%s", label);
	p->total = total;
	p->on = enabled < 0 ? isatty(STDERR_FILENO) : enabled;
	return p;
}

static void draw(struct progress *p)
{
	char bar[31];
	if (p->total) {
		unsigned pct = (unsigned)(p->done * 100 / p->total);
		size_t fill = (size_t)(p->done * 30 / p->total);
		memset(bar, '#', fill);
		memset(bar + fill, '.', 30 - fill);
		bar[30] = '\0';
		fprintf(stderr, "\r%-24s [%s] %3u%% %6.1f MiB", p->label, bar, pct,
			(double)p->done / (1 << 20));
	} else
		fprintf(stderr, "\r%-24s %6.1f MiB", p->label, (double)p->done / (1 << 20));
	fflush(stderr);
}

void progress_update(struct progress *p, uint64_t done)
{
	if (!p || !p->on)
		return;
	p->done = p->total && done > p->total ? p->total : done;
	uint64_t t = now_ns();
	if (t - p->last_draw_ns < 100000000ull)
		return;
	p->last_draw_ns = t;
	draw(p);
}

void progress_done(struct progress *p)
{
	if (!p)
		return;
	if (p->on) {
		if (p->total)
			p->done = p->total;
		draw(p);
		fputc('\n', stderr);
	}
	free(p);
}
