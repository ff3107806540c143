/* SPDX-License-Identifier: MIT */
/*
 * report.h - what the agent tells about a run: report.json (docs/state-
 * format.md), the one summary line the boot tests grep, and on Hyper-V the
 * same keys in the KVP pool the host reads.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#define KVP_POOL_FILE "var/lib/hyperv/.kvp_pool_1"
#define KVP_KEY_SIZE 512
#define KVP_VALUE_SIZE 2048

struct report {
	const char *hypervisor;
	const char *role;
	const char *profile;
	const char *previous;
	bool forced;
	bool changed;
	bool reboot;	      /* a change takes effect only after a reboot */
	json_object *verdict; /* borrowed; may be NULL */
	char *const *changes;
	const char *error; /* NULL on success */
	uint64_t duration_usec;
};

/* The summary line for r (lib/activate/summary.h). */
char *report_summary_line(const struct report *r);

/* Writes IMAGE_REPORT_FILE atomically beneath root_fd. */
int report_write(int root_fd, const struct report *r);

/* Sets the enlighten.* keys in the KVP pool file, in hv_kvp_daemon's record
 * format (key 512 bytes, value 2048 bytes, NUL padded), keeping the other
 * records; writes nothing when they are already there. */
int report_kvp(int root_fd, const struct report *r);
