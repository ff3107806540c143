/* SPDX-License-Identifier: MIT */
/*
 * checks.h - what boot-test verifies inside a running guest, through the
 * QEMU guest agent, after the first-boot agent's summary line: that the
 * profile's services are active and its modules loaded (as the guest's own
 * copy of the profile matrix names them for its distribution family), what
 * the agent's report.json says it changed, and how long it all took.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "lib/basic/macro.h"

enum guest_state {
	GUEST_OK,	 /* active, loaded, built in */
	GUEST_CONDITION, /* enabled, but its hardware is not there (a forced profile only) */
	GUEST_FAIL,
};

struct guest_item {
	const char *kind; /* "service", "module", "process", "command", or "root" (its sizes) */
	char *name;
	enum guest_state state;
	char *detail; /* "active (running)", "loaded", "enabled, condition not met: ..." */
};

struct guest_report {
	bool reached;	/* the guest agent answered, or the disk was read */
	bool from_disk; /* read from the guest's disk after it powered off (no guest agent) */
	char *problem;	/* why the checks failed or could not run, or NULL */
	char *os;	/* PRETTY_NAME */
	char *kernel;	/* the running kernel's release */
	struct guest_item *items;
	unsigned n_items;
	char **changes;	       /* report.json's "changes", or NULL */
	char **report_errors;  /* its "errors", or NULL */
	char *report_result;   /* its "result": "complete", "failed"; NULL: no report.json */
	char *report_previous; /* its "previous" profile, or NULL */
	char *report_finished; /* when that run finished (its "finished") */
	bool reboot_needed;
	double agent_seconds;	  /* the agent unit's run, start to exit; < 0 unknown */
	double services_seconds;  /* the agent's start to its last service active; < 0 n/a */
	double userspace_seconds; /* systemd's start, on the guest kernel's clock; < 0 unknown */
	bool pass;
};

struct guest_expect {
	const char *profile;
	bool forced; /* its hardware is not there: "condition not met" is no failure */
	const char *const *processes; /* must run ("name" or "name|name", by pidof), or NULL */
	const char *const *commands;  /* must exit 0 (argv, space-separated), or NULL */
	const char *journal_log;      /* the guest's journal of this boot goes there, or NULL */
	const char *entry_options;    /* from the disk: its boot entry's command line, which
				       * must have the profile's kernel arguments; or NULL */
};

/* Asks the guest behind qga_socket about what e expects. Waits for the
 * guest agent and the services until deadline. Returns 0 with *ret filled
 * in (ret->pass says the outcome), -errno only for local failures. */
int guest_check(const char *qga_socket, const struct guest_expect *e, uint64_t deadline,
		struct guest_report *ret);
void guest_report_done(struct guest_report *r);

/* The same questions answered from the guest's disk after it powered off,
 * for an identity without the guest agent (disk-check.c): image the
 * boot's overlay (of format), dir a scratch directory. What the disk can
 * show: report.json, the profile's services enabled (their links in
 * /etc/systemd/system), its modules listed for loading at boot, its
 * packages installed and its removed ones gone (dpkg's database), its
 * kernel arguments on e->entry_options when given. Running
 * and loaded cannot be seen, and the items say so. Returns 0 with *ret
 * filled in (ret->pass says the outcome), -errno for local failures. */
int guest_check_disk(const char *image, const char *format, const char *dir,
		     const struct guest_expect *e, struct guest_report *ret);

/* For both: an item, the report's problem (and pass false), report.json's
 * text read into r, the distribution family of an os-release text
 * ("debian", "suse", or NULL). */
int guest_report_add(struct guest_report *r, const char *kind, const char *name,
		     enum guest_state state, const char *fmt, ...) _printf_(5, 6);
int guest_report_problem(struct guest_report *r, const char *fmt, ...) _printf_(2, 3);
int guest_report_read_json(struct guest_report *r, const char *text, size_t n);
const char *guest_family(const char *os_release);

const char *guest_state_to_string(enum guest_state s);
json_object *guest_report_json(const struct guest_report *r);
