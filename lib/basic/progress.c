/* SPDX-License-Identifier: MIT */
/*
 * progress.c - progress on stderr, as a bar or as lines (progress.h).
 */
#include <errno.h>
#include <linux/serial.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "lib/basic/progress.h"
#include "lib/basic/string-util.h"

#define BAR_INTERVAL_NS 100000000ull	      /* ten redraws a second */
#define LINE_INTERVAL_NS (30 * 1000000000ull) /* a line at least every 30 s */

struct progress {
	char label[48];
	uint64_t total, done;
	uint64_t last_draw_ns;
	enum progress_style style;
	unsigned last_tenth; /* LINES: the last tenth printed, 0 for none */
	uint64_t last_done;  /* LINES: done at the last line */
};

static enum progress_style style = PROGRESS_AUTO;

void progress_set_style(enum progress_style s)
{
	style = s;
}

int progress_style_from_string(const char *s)
{
	static const char *const names[] = {
		[PROGRESS_AUTO] = "auto",
		[PROGRESS_NONE] = "none",
		[PROGRESS_BAR] = "bar",
		[PROGRESS_LINES] = "lines",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (streq(s, names[i]))
			return (int)i;
	return -EINVAL;
}

enum progress_style progress_auto_style(void)
{
	if (!isatty(STDERR_FILENO))
		return PROGRESS_NONE;
	const char *term = getenv("TERM");
	struct serial_struct ser;
	if (!term || !*term || streq(term, "dumb") || ioctl(STDERR_FILENO, TIOCGSERIAL, &ser) == 0)
		return PROGRESS_LINES;
	return PROGRESS_BAR;
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
	p->style = style == PROGRESS_AUTO ? progress_auto_style() : style;
	p->last_draw_ns = now_ns();
	return p;
}

static void draw_bar(struct progress *p)
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

static void draw_line(struct progress *p)
{
	if (p->total)
		fprintf(stderr, "%s: %3u%% (%.1f MiB of %.1f MiB)\n", p->label,
			(unsigned)(p->done * 100 / p->total), (double)p->done / (1 << 20),
			(double)p->total / (1 << 20));
	else
		fprintf(stderr, "%s: %.1f MiB\n", p->label, (double)p->done / (1 << 20));
	fflush(stderr);
	p->last_done = p->done;
}

void progress_update(struct progress *p, uint64_t done)
{
	if (!p || p->style == PROGRESS_NONE)
		return;
	p->done = p->total && done > p->total ? p->total : done;
	uint64_t t = now_ns();
	if (p->style == PROGRESS_LINES) {
		unsigned tenth = p->total ? (unsigned)(p->done * 10 / p->total) : 0;
		bool step = tenth > p->last_tenth;
		if (!step && (p->done == p->last_done || t - p->last_draw_ns < LINE_INTERVAL_NS))
			return;
		if (step)
			p->last_tenth = tenth;
		p->last_draw_ns = t;
		draw_line(p);
		return;
	}
	if (t - p->last_draw_ns < BAR_INTERVAL_NS)
		return;
	p->last_draw_ns = t;
	draw_bar(p);
}

void progress_done(struct progress *p)
{
	if (!p)
		return;
	if (p->total)
		p->done = p->total;
	if (p->style == PROGRESS_BAR) {
		draw_bar(p);
		fputc('\n', stderr);
	} else if (p->style == PROGRESS_LINES && (p->total ? p->last_tenth < 10 : true))
		draw_line(p);
	free(p);
}
