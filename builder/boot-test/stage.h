/* SPDX-License-Identifier: MIT */
/*
 * stage.h - where a boot is, told from its serial console: the firmware,
 * the boot loader, Xen, the kernel, userspace, the agent's line, then the
 * checks through the guest agent and the shutdown (which the runner
 * announces, they print nothing of their own). Fed line by line; stages
 * only go forward, and a stage whose marker never showed (a quiet kernel, a
 * loader with no menu) is simply not timed. Keeps the console's last lines
 * for the report of a boot that stopped.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

enum boot_stage {
	STAGE_FIRMWARE, /* from power-on */
	STAGE_LOADER,	/* the firmware started the disk's loader */
	STAGE_XEN,	/* the hypervisor's first line */
	STAGE_KERNEL,	/* Linux (dom0's under Xen) */
	STAGE_USERSPACE,
	STAGE_AGENT,  /* the first-boot agent's summary line */
	STAGE_CHECKS, /* questions through the QEMU guest agent */
	STAGE_SHUTDOWN,
	_STAGE_MAX,
};

/* "firmware", "loader", "xen", "kernel", "userspace", "agent", "checks",
 * "shutdown": the JSON keys. */
const char *boot_stage_to_string(enum boot_stage s);
/* The same for people: "firmware", "boot loader", "Xen", ... */
const char *boot_stage_label(enum boot_stage s);

#define STAGE_TAIL_LINES 8
#define STAGE_LINE_MAX 160

struct stage_tracker {
	enum boot_stage stage;			     /* the last one reached */
	bool reached[_STAGE_MAX];		     /* its marker showed (firmware: always) */
	uint64_t usec[_STAGE_MAX];		     /* when, from power-on */
	char what[_STAGE_MAX][STAGE_LINE_MAX];	     /* the line that showed it, cleaned */
	char trouble[STAGE_LINE_MAX];		     /* the first line that says a boot stops (a
						      * panic, emergency mode), cleaned, or "" */
	char tail[STAGE_TAIL_LINES][STAGE_LINE_MAX]; /* the last non-empty lines, cleaned */
	unsigned n_lines;			     /* non-empty lines seen in all */
};

/* At power-on: the firmware stage, at 0. */
void stage_tracker_init(struct stage_tracker *t);

/* One console line (without its newline), usec after power-on. Returns the
 * stage it moved to, or -1 when it moved nowhere. */
int stage_tracker_feed(struct stage_tracker *t, const char *line, uint64_t usec);

/* A stage the console does not show (checks, shutdown); ignored when the
 * boot is already past it. */
void stage_tracker_enter(struct stage_tracker *t, enum boot_stage s, uint64_t usec);

/* The console's last non-empty lines, oldest first: line i of
 * stage_tracker_n_tail() (at most STAGE_TAIL_LINES). */
unsigned stage_tracker_n_tail(const struct stage_tracker *t);
const char *stage_tracker_tail(const struct stage_tracker *t, unsigned i);

/* A console line as people read it: escape sequences and control
 * characters dropped, white space at both ends trimmed, cut to size-1. */
void console_clean(const char *line, char *out, size_t size);
