/* SPDX-License-Identifier: MIT */
/*
 * report.h - boot-test's report for people: a line per boot as it starts,
 * the stage it is in while it runs (redrawn in place on a terminal, or a
 * line per stage when verbose), and after it what the agent said and
 * changed, what the guest answered, the verdict and the times. The engine
 * (run.h) hears nothing of this: it calls the hooks boot_test_view_report()
 * gives it.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "builder/boot-test/run.h"

struct boot_test_view {
	FILE *out;	   /* the report: stdout, or stderr when stdout is JSON */
	bool live;	   /* out is a terminal: the stage line is redrawn in place */
	bool verbose;	   /* each new stage on a line of its own */
	bool drawn;	   /* a live line is on the screen */
	int shown;	   /* the last stage printed (verbose), -1: none yet */
	uint64_t drawn_at; /* when the live line was last drawn */
	unsigned columns;  /* the terminal's width */
};

void boot_test_view_init(struct boot_test_view *v, FILE *out, bool live, bool verbose);

/* The hooks for boot_test_run(), printing to v. */
struct boot_test_report boot_test_view_report(struct boot_test_view *v);

/* The run's last lines: the verdict, and where the logs are. */
void boot_test_view_result(struct boot_test_view *v, const struct boot_test_result *r);

/* The live line for one moment of a boot, cut to columns (for tests). */
void boot_stage_line(const struct stage_tracker *st, uint64_t usec, char *buf, size_t size);
