/* SPDX-License-Identifier: MIT */
/*
 * run.h - one run of `enlighten boot-test`: the boots of a plan, each under
 * QEMU on the same copy-on-write overlay of the image, checked against what
 * the identity's profile needs. The engine prints nothing: it tells its
 * caller through struct boot_test_report and returns the result, which
 * builder/boot-test/report.c shows to people.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "builder/boot-test/checks.h"
#include "builder/boot-test/domu.h"
#include "builder/boot-test/identity.h"
#include "builder/boot-test/installer.h"
#include "builder/boot-test/qemu.h"
#include "builder/boot-test/stage.h"

#define BOOT_TEST_MAX_BOOTS 16
#define BOOT_TEST_MAX_THEN 8
#define BOOT_TEST_DEFAULT_TIMEOUT 300

enum accel_mode { ACCEL_AUTO, ACCEL_KVM, ACCEL_TCG };
enum boot_firmware { BOOT_UEFI, BOOT_BIOS };

struct boot_plan {
	const struct boot_identity *id;
	enum expect_change change;
	enum boot_firmware firmware; /* this boot's: OVMF or SeaBIOS */
	bool secure_boot;	     /* OVMF with Microsoft's keys, Secure Boot enforced */
};

struct boot_test_options {
	const char *image;
	const struct boot_plan *plan;
	unsigned n_plan;
	uint64_t timeout_usec; /* per boot, to the agent's line */
	enum accel_mode accel;
	const char *keep_log; /* keep console logs there (created), or NULL */
	bool line_only;	      /* no guest agent channel: the summary line is all */
};

/* The run as it starts, after the checks of its inputs. */
struct boot_test_info {
	const char *image;
	const char *format; /* as qemu-img names it */
	bool installer;	    /* an installer medium: its boot comes first */
	bool kvm;
	const char *why_not_kvm; /* or NULL */
	unsigned n_plan;
};

/* A boot as it starts: what the loader will run, and how. */
struct boot_start {
	unsigned k, n; /* boot k of n */
	const struct boot_identity *id;
	const char *mode;     /* "firmware" or "direct" */
	const char *entry_id; /* the loader entry, or NULL */
	enum boot_firmware firmware;
	bool secure_boot;
	bool xen;     /* the image's Xen entry, the image as dom0 */
	bool forced;  /* the profile on the kernel command line */
	char **notes; /* what boot-test changed on the overlay to boot it, or NULL */
};

/* A boot as it ended: everything the report shows. */
struct boot_outcome {
	unsigned k;
	const struct boot_plan *plan;
	const struct boot_identity *host; /* what QEMU ran (dom0 for a Xen guest) */
	bool forced;
	const char *not_asked; /* why the guest agent was not asked, or NULL */
	const struct qemu_result *qemu;
	const struct stage_tracker *stages;
	const struct agent_summary *summary; /* ->profile NULL: no line or unreadable */
	const struct guest_report *guest;    /* NULL when not asked (or no line came) */
	const char *domu_type;		     /* a Xen guest's type, or NULL */
	const char *domu_kernel;	     /* the kernel's path in the guest disk's entry */
	const char *domu_entry;		     /* that entry */
	const struct domu_report *domu;
	const struct agent_summary *domu_summary;
	const struct guest_report *domu_disk; /* the guest's disk read after the run, or NULL */
	char **console_notes; /* the console's lines about enlighten (Xen's own) when there
			       * is no line, or the agent's when the guest is not asked */
	bool pass;
	const char *why; /* when it failed */
	uint64_t timeout_usec;
};

/* What the caller hears while the engine runs; each member may be NULL.
 * All on the caller's thread. */
struct boot_test_report {
	void (*started)(void *userdata, const struct boot_test_info *info);
	void (*boot_start)(void *userdata, const struct boot_start *b);
	/* an installer medium's boot, before the others */
	void (*installer_start)(void *userdata, const struct installer_boot *ib);
	void (*installer_done)(void *userdata, const struct installer_boot *ib,
			       const struct installer_outcome *o);
	/* about ten times a second while a guest runs */
	void (*progress)(void *userdata, const struct boot_start *b,
			 const struct stage_tracker *stages, uint64_t usec);
	void (*boot_done)(void *userdata, const struct boot_outcome *o);
	/* something went differently than asked, and the run goes on */
	void (*warning)(void *userdata, const char *text);
	void *userdata;
};

struct boot_test_result {
	bool pass;
	bool interrupted;
	unsigned passed, planned;
	uint64_t usec;
	char *log_dir;	   /* where the console logs stay, or NULL (removed) */
	json_object *json; /* the run as docs/enlighten-boot-test.md's JSON */
};
void boot_test_result_done(struct boot_test_result *r);

/* Runs the plan, telling report as it goes. Returns 0 with *ret filled in
 * (ret->pass: every boot matched; the run stops at the first that did not,
 * since the later boots build on it), or -errno when the run could not
 * start or a boot could not be run at all, *reterr_msg then saying why;
 * -EINVAL when the cause is the user's input or a missing tool. */
int boot_test_run(const struct boot_test_options *o, const struct boot_test_report *report,
		  struct boot_test_result *ret, char **reterr_msg);
