/* SPDX-License-Identifier: MIT */
/*
 * agent.h - what the two halves of the agent share.
 *
 * enlighten-firstboot (main.c) is the light half: options, configuration,
 * detection, state.json, and the summary when nothing changed; it links no
 * librpm, no catalog, no crypto, so the boot that changes nothing costs
 * about what enlighten-detect costs. When there is work (or --plan), it
 * execs the heavy half, enlighten-firstboot-apply (apply-main.c, in
 * libexecdir), with the same arguments, which plans and applies
 * (converge.c).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "firstboot/config.h"
#include "firstboot/sources.h"

struct agent {
	const char *root; /* absolute */
	char *root_abs;
	const char *cpuid_file;
	const char *profile_opt;
	bool plan;
	bool grow_only; /* --grow-root: grow the root to fill its disk, nothing else */
	bool quiet;
	int root_fd;
	struct fb_config config;
	struct fb_verdict verdict;
	const char *target; /* the profile to converge on */
	bool forced;
	bool reboot_needed; /* what this run changed takes effect at the next boot */
	uint64_t started;
};

/* CLOCK_MONOTONIC in microseconds (agent.started is one). */
uint64_t agent_now_usec(void);

/* Parses the options, reads the configuration and runs the detector.
 * Returns -1 when the agent goes on, else the exit status to return now
 * (--help, --version, disabled, errors). */
int agent_init(struct agent *a, int argc, char *argv[]);
void agent_done(struct agent *a);

/* Writes report.json (when something changed or failed), the KVP records
 * on Hyper-V, and prints the summary line (on success). */
void agent_summary(struct agent *a, bool changed, const char *previous, char *const *changes,
		   const char *error);

/* Logs (at info level) which override forces the profile, if one does; once
 * per run: by the fast path when it ends the run, else by the heavy half. */
void agent_log_forced(const struct agent *a);

/* The fast path: true (summary printed) when state.json says the target
 * profile is active and its last run completed. */
bool agent_fast_path(struct agent *a);

/* What the directories systemd reads units from hold (and the modification
 * time of /etc/init.d, its System V generator's input), taken before a plan
 * is applied: agent_live compares them to tell whether systemd must reload.
 * entries[i]: one "NAME KIND MTIME" line per entry of unit_dirs[i], but the
 * .wants and .requires directories (enablement, which needs no reload). */
#define AGENT_UNIT_DIRS 4
struct agent_units_stamp {
	struct timespec mtime[AGENT_UNIT_DIRS];
	char **entries[AGENT_UNIT_DIRS];
};
void agent_units_stamp(const struct agent *a, struct agent_units_stamp *ret);
void agent_units_stamp_done(struct agent_units_stamp *s);

struct plan;
struct profile;
/* On the running system, makes the applied plan take effect now (live.c):
 * daemon-reload when a unit file systemd may have loaded was changed or
 * removed since *before, a drop-in or link was added, /etc/init.d changed
 * or a unit was disabled (a unit file merely added needs none: systemd
 * reads a unit it does not know when it is first asked to start it), modules loaded and blacklisted
 * ones unloaded when unused, the profile's services started. Appends one line per outcome to
 * *changes; *ret_reboot says a reboot is needed (kernel arguments). Does nothing for a --root tree.
 * Returns 0 or -ENOMEM. */
int agent_live(struct agent *a, const struct plan *plan, const struct profile *prof,
	       const char *family, const struct agent_units_stamp *before, char ***changes,
	       bool *ret_reboot);

/* The heavy half's --grow-root (grow.c): the root partition and its
 * filesystem grown to fill the disk (growroot.h), logged. Returns the exit
 * status: 0 also when there was nothing to grow, 1 when growing failed. */
int agent_grow_root(struct agent *a);

/* The heavy half: plan, apply, record, report. Returns the exit status. */
int agent_converge(struct agent *a);
