/* SPDX-License-Identifier: MIT */
/*
 * summary.h - the agent's one-line summary on the console, which the boot
 * test reads from outside the guest:
 *   "enlighten: hypervisor=H role=R profile=P changed=yes|no[ forced=yes][ reboot=needed]"
 * Written by the agent (firstboot/report.c), parsed by `enlighten boot-test`:
 * both through this module, so the two cannot drift apart.
 */
#pragma once

#include <stdbool.h>

#define AGENT_SUMMARY_PREFIX "enlighten:"
/* What a console line holding the summary contains, for those who look for it */
#define AGENT_SUMMARY_MARKER AGENT_SUMMARY_PREFIX " hypervisor="

struct agent_summary {
	char *hypervisor;
	char *role;
	char *profile;
	bool changed;
	bool forced;
	bool reboot; /* a change takes effect only after a reboot */
};

/* The line for s, malloc'ed (no newline); NULL on OOM. */
char *agent_summary_format(const struct agent_summary *s);

/* Reads a line that holds a summary anywhere in it (a console line may
 * carry a kernel time stamp in front). Unknown keys are skipped. Returns 0,
 * or -EBADMSG when it lacks the prefix, hypervisor=, role=, profile= or a
 * changed= of yes or no. */
int agent_summary_parse(const char *line, struct agent_summary *ret);

void agent_summary_done(struct agent_summary *s);
