/* SPDX-License-Identifier: MIT */
/*
 * winagent.h - enlighten-firstboot.exe, the Windows first-boot agent: what
 * its files share. The detector (detect/) and the matrix reader
 * (lib/profile.c) are the Linux agent's, compiled by mingw-w64; the files
 * here are the Windows side: where the signals come from (SMBIOS, SetupAPI),
 * the plan over [Windows], its journal and undo, the tools it runs, the
 * registry, the report.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detect/detect.h"
#include "lib/basic/macro.h"
#include "lib/activate/profile.h"

#define WIN_FILE_MAX (4u * 1024 * 1024) /* state, report, SMBIOS or device list */
#define WIN_PLAN_MAX 256		/* steps in one plan */

/* ---- sysfs-win.c: the detector's probe reads, served from Windows ---- */

/* The probes of detect/ read sysfs paths; on Windows those paths are a
 * small in-memory tree filled from SMBIOS and SetupAPI before they run. */
int win_sysfs_add(const char *path, const char *data, size_t n);
void win_sysfs_clear(void);

/* ---- smbios.c ---- */

/* Decodes the SMBIOS table as GetSystemFirmwareTable('RSMB') returns it
 * (the 8-byte RawSMBIOSData header, then the structures) into the DMI
 * files the detector reads. -EBADMSG with *reterr_msg when it is not an
 * SMBIOS table. */
int smbios_to_sysfs(const uint8_t *buf, size_t n, char **reterr_msg);

/* ---- devices.c ---- */

/* Feeds one Plug and Play hardware id ("PCI\VEN_1AF4&DEV_1001...",
 * "VMBUS\{...}", "XENBUS\...") into the tree as the bus device it is. */
int devices_add_id(const char *hwid);
/* The present devices' first hardware ids, through SetupAPI. */
int devices_enumerate(char **reterr_msg);

/* ---- detect-win.c ---- */

struct win_detect_opts {
	const char *cpuid_file;	  /* NULL: the CPUID instruction */
	const char *smbios_file;  /* NULL: GetSystemFirmwareTable('RSMB') */
	const char *devices_file; /* NULL: SetupAPI; else one hardware id a line */
};

int win_detect(const struct win_detect_opts *o, struct verdict **ret, char **reterr_msg);

/* ---- file-win.c: bounded reads, atomic writes ---- */

/* -ENOENT, -EFBIG above max, -errno. The buffer is NUL terminated. */
int win_read_file(const char *path, size_t max, char **ret, size_t *ret_size);
/* Writes under path.tmp, flushes, renames over path. */
int win_write_file_atomic(const char *path, const char *data, size_t n);
int win_mkdir_p(const char *path);

/* ---- json-win.c: a small JSON writer and reader (no json-c for mingw) ---- */

struct jbuf {
	char *p;
	size_t n, cap;
	bool oom;
};
void jbuf_puts(struct jbuf *b, const char *s);
void jbuf_printf(struct jbuf *b, const char *fmt, ...) _printf_(2, 3);
/* A JSON string with quotes, or null for NULL. */
void jbuf_str(struct jbuf *b, const char *s);

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };
struct jval {
	enum jtype type;
	bool b;
	long long num;
	char *str;
	struct jval *items; /* J_ARR, J_OBJ (each with key) */
	size_t n;
	char *key;
};
/* Parses text of length n. -EBADMSG with *reterr_msg naming the offset. */
int jval_parse(const char *text, size_t n, struct jval **ret, char **reterr_msg);
void jval_free(struct jval *v);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct jval *, jval_free);
const struct jval *jval_get(const struct jval *o, const char *key);
/* The string of key, NULL when absent or not a string. */
const char *jval_str(const struct jval *o, const char *key);

/* ---- plan-win.c ---- */

enum step_kind {
	STEP_DRIVER,	/* pnputil /add-driver INF /install */
	STEP_BOOT,	/* Services\NAME Start=0 */
	STEP_INSTALLER, /* msiexec /i MSI /qn /norestart, or EXE ARGS */
	STEP_SERVICE,	/* Services\NAME Start=2 */
	STEP_DISABLE,	/* Services\NAME Start=3: the old profile's service */
	STEP_FEATURE,	/* dism /Online /Enable-Feature */
	STEP_REMOVE,	/* the Uninstall entry named ARG, if present */
	_STEP_KIND_MAX,
	_STEP_KIND_INVALID = -22,
};
const char *step_kind_to_string(enum step_kind k);
enum step_kind step_kind_from_string(const char *s);

struct step {
	enum step_kind kind;
	char *arg;  /* INF path, service, installer path, feature, display name */
	char *args; /* installer arguments (EXE), or NULL */
};

struct plan {
	char *from, *to; /* profile names; from NULL on a first run */
	struct step steps[WIN_PLAN_MAX];
	size_t n;
};

struct plan_paths {
	const char *drivers;	/* C:\Drivers\enlighten: PROFILE\PACKAGE\NAME.inf */
	const char *installers; /* PROGRAM FILES\enlighten\installers */
};

/* The steps that take the machine from profile old (NULL: none) to new.
 * Fails before any change when a driver or installer the profile names is
 * not on the disk (-ENOENT, with *reterr_msg). */
int plan_build(const struct profile *old, const struct profile *new, const struct plan_paths *pp,
	       struct plan *ret, char **reterr_msg);
void plan_done(struct plan *p);
void plan_to_json(const struct plan *p, struct jbuf *b);

/* ---- run-win.c: programs by argv ---- */

struct tools {
	const char *dir; /* NULL: %SystemRoot%\System32 */
};
/* Runs tool (pnputil, msiexec, dism, shutdown: looked up in tools->dir) or
 * a path, with argv; *ret_exit gets its exit code. -errno when it cannot
 * start. */
int run_tool(const struct tools *t, const char *tool, const char *const *argv,
	     unsigned long *ret_exit);
/* Runs a command line as the registry gives it (UninstallString). */
int run_cmdline(const char *cmdline, unsigned long *ret_exit);

/* ---- registry-win.c ---- */

/* The Start value of Services\name: -ENOENT when there is no such service. */
int reg_service_start(const char *name, uint32_t *ret);
int reg_service_set_start(const char *name, uint32_t start);
/* The uninstall command of the first Uninstall entry whose DisplayName
 * starts with name: -ENOENT when none does. *ret_msi is the product code
 * for a Windows Installer entry (run msiexec /x), else NULL. */
int reg_uninstall_find(const char *name, char **ret_display, char **ret_cmd, char **ret_msi);
/* The KVP guest pool: HKLM\SOFTWARE\Microsoft\Virtual Machine\Guest. */
int reg_kvp_set(const char *key, const char *value);

/* ---- apply-win.c ---- */

struct apply_result {
	bool reboot;	 /* a step asked for a restart */
	size_t done;	 /* steps completed */
	char *error;	 /* the failing step's message, or NULL */
	struct jbuf log; /* JSON array body: what each step ran and how it ended */
};

struct apply_ctx {
	const struct tools *tools;
	const char *state_path;
	const struct verdict *v;
};

/* Runs the plan with a journal in the state file; on a failing step undoes
 * the completed ones in reverse and returns the step's -errno. */
int apply_plan(const struct apply_ctx *c, const struct plan *p, struct apply_result *ret);
/* Undoes the completed steps of a journal a crash left in the state. */
int apply_rollback(const struct apply_ctx *c, const struct jval *journal, struct apply_result *ret);
void apply_result_done(struct apply_result *r);

/* ---- state-win.c ---- */

struct win_state {
	char *profile; /* converged profile, or NULL */
	char *result;  /* "complete", "failed", NULL */
	char *finished;
	struct jval *doc;	    /* the whole file, owning the journal */
	const struct jval *journal; /* NULL when no apply was interrupted */
};
/* -ENOENT when there is no state; -EBADMSG with *reterr_msg for a file that
 * does not parse. */
int state_load(const char *path, struct win_state *ret, char **reterr_msg);
void state_done(struct win_state *s);
/* Writes {"schema":1,"profile":..,"last_run":{..},"journal":JOURNAL|null}. */
int state_save(const char *path, const char *profile, const char *result, const char *error,
	       const char *journal);

/* ---- report-win.c ---- */

struct win_report {
	const char *trigger; /* "first-boot", "boot", "manual" */
	const struct verdict *v;
	const char *profile;
	const char *previous;
	bool changed;
	const char *result; /* "complete", "unchanged", "failed" */
	const char *error;
	bool reboot;
	const struct plan *plan;
	const char *steps; /* JSON array body from apply */
};
int report_write(const char *path, const struct win_report *r);
/* The verdict as enlighten-detect --json prints it, on stdout. */
int verdict_print(const struct verdict *v);
/* Writes the enlighten.* KVP records (on Hyper-V only). */
int report_kvp(const struct win_report *r);
/* The Application event log, source "enlighten"; error or information. */
void report_event(bool error, const char *fmt, ...) _printf_(2, 3);
