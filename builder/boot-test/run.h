/* SPDX-License-Identifier: MIT */
/*
 * run.h - one run of `enlighten boot-test`: the boots of a plan, each under
 * QEMU on the same copy-on-write overlay of the image, checked against what
 * the identity's profile needs, reported for people (and as JSON).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "builder/boot-test/identity.h"

#define BOOT_TEST_MAX_BOOTS 16
#define BOOT_TEST_MAX_THEN 8
#define BOOT_TEST_DEFAULT_TIMEOUT 300

enum accel_mode { ACCEL_AUTO, ACCEL_KVM, ACCEL_TCG };
enum boot_firmware { BOOT_UEFI, BOOT_BIOS };

struct boot_plan {
	const struct boot_identity *id;
	enum expect_change change;
};

struct boot_test_options {
	const char *image;
	const struct boot_plan *plan;
	unsigned n_plan;
	uint64_t timeout_usec; /* per boot, to the agent's line */
	enum accel_mode accel;
	enum boot_firmware firmware; /* OVMF or SeaBIOS */
	bool secure_boot;	     /* OVMF with Microsoft's keys, Secure Boot enforced */
	const char *keep_log;	     /* keep console logs there (created), or NULL */
	bool json;		     /* the result as JSON on stdout, the report on stderr */
	bool line_only;		     /* no guest agent channel: the summary line is all */
};

/* Runs the plan. Returns 1 when every boot matched, 0 when one did not (the
 * later boots build on it, so the run stops there), -EINTR when interrupted,
 * or -errno when the run could not start (already reported). */
int boot_test_run(const struct boot_test_options *o);
