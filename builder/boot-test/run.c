/* SPDX-License-Identifier: MIT */
/*
 * run.c - one run of `enlighten boot-test` (see run.h): boot an image
 * under QEMU and OVMF (or SeaBIOS) as a given hypervisor, wait for the first-boot agent's
 * summary line on the serial console, and check that it activated the
 * profile that hypervisor needs. The image is never written: every boot of
 * one run uses the same qcow2 overlay in a temporary directory, so repeated
 * boots see what the first recorded, and a later identity moves the same
 * disk to another hypervisor. Prints nothing: the caller hears each boot
 * through struct boot_test_report.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/boot-test/checks.h"
#include "builder/boot-test/domu.h"
#include "builder/boot-test/entry.h"
#include "builder/boot-test/identity.h"
#include "builder/boot-test/installer.h"
#include "builder/boot-test/qemu.h"
#include "builder/boot-test/run.h"
#include "builder/boot-test/stage.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/json.h"
#include "lib/basic/macro.h"
#include "lib/basic/spawn.h"
#include "lib/basic/string-util.h"

/* In Xen's last line when it or dom0 died, with noreboot: "Manual reset
 * required ('noreboot' specified)", "Hardware Dom0 crashed: 'noreboot' set
 * - not rebooting." */
#define XEN_STOPPED "'noreboot'"
#define MEMORY_MIB 512
/* after the line: the first half for the ACPI power button, the second for
 * SysRq; a loaded host's TCG guest may take 20 s and more to shut down */
#define GRACE_USEC (60ULL * 1000000ULL)
#define CONSOLE_TAIL 10
#define CONSOLE_TAIL_BYTES (256 * 1024)
#define SILENCE_USEC (10ULL * 1000000ULL)
/* after the agent's line: for the guest agent to answer and services to settle */
#define GUEST_CHECK_USEC (120ULL * 1000000ULL)

struct boot_test {
	const char *image;
	char *image_abs;
	char *format;
	bool kvm;
	char *kvm_reason;  /* why not KVM, or NULL */
	bool kvm_fallback; /* --accel auto: TCG when KVM fails to start a guest */
	char *workdir;
	const char *logdir;
	const char *keep_log;
	/* the boot under way's firmware (its plan's) */
	enum boot_firmware firmware;
	const char *seabios;
	bool secure_boot;
	const char *ovmf_code;
	const char *ovmf_vars;
	int vars_kind; /* the variable store in workdir: -1 none, else its secure_boot */
	bool line_only;
	uint64_t timeout_usec;
	const struct boot_plan *plan;
	unsigned n_plan;
	const struct boot_test_report *report;
	json_object *boots; /* array, for --json and the summary */
	char *dom0_disk;    /* the disk a Xen guest's dom0 boots (the image's second
			     * overlay), created on the first such boot */
	bool dom0_booted;   /* and booted since: its agent has nothing more to do */
	unsigned passed;
	uint64_t installer_image; /* an installer medium: its image's size, else 0 */
	char *installed;	  /* the disk the installer wrote, which the boots start */
	json_object *installer;	  /* its boot, for --json */
};

/* qemu-img info: the image's format. */
static int image_format(const char *image, char **ret, char **reterr_msg)
{
	char *argv[] = { "qemu-img", "info", "--output=json", (char *)image, NULL };
	struct spawn_opts o = { .stdin_fd = -1, .stdout_fd = -1, .capture_stdout = true };
	struct spawn_result res;
	_cleanup_json_ json_object *j = NULL;
	const char *fmt;

	int r = spawn_run(argv, &o, &res);
	if (r == -ENOENT)
		return errmsg_set(reterr_msg, -EINVAL,
				  "'qemu-img' not found; install the qemu-utils package");
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot run 'qemu-img': %m");
	if (res.exit_status != 0) {
		r = errmsg_set(reterr_msg, -EINVAL, "image '%s' cannot be read by qemu-img: %s",
			       image, res.err ? strstrip(res.err) : "");
		spawn_result_done(&res);
		return r;
	}
	r = json_parse_bounded(res.out, strlen(res.out), 1024 * 1024, &j, NULL);
	spawn_result_done(&res);
	if (r < 0 || json_get_string(j, "format", &fmt) < 0)
		return errmsg_set(reterr_msg, -EBADMSG,
				  "unexpected output of 'qemu-img info' for '%s'", image);
	*ret = strdup(fmt);
	return *ret ? 0 : errmsg_oom(reterr_msg);
}

static int run_quiet(char *const argv[], char **reterr_msg)
{
	struct spawn_opts o = { .stdin_fd = -1, .stdout_fd = -1 };
	struct spawn_result res;
	int r = spawn_run(argv, &o, &res);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot run '%s': %m", argv[0]);
	if (res.exit_status != 0) {
		r = errmsg_set(reterr_msg, -EIO, "'%s' failed: %s", argv[0],
			       res.err ? strstrip(res.err) : "");
		spawn_result_done(&res);
		return r;
	}
	spawn_result_done(&res);
	return 0;
}

/* A copy-on-write overlay of image (its format) at path. */
static int make_qcow2(const char *image, const char *format, const char *path, char **reterr_msg)
{
	char *create[] = { "qemu-img",	  "create", "-q",	    "-f",	  "qcow2", "-b",
			   (char *)image, "-F",	    (char *)format, (char *)path, NULL };
	return run_quiet(create, reterr_msg);
}

static int copy_file(const char *from, const char *to, char **reterr_msg)
{
	_cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return errmsg_errno(reterr_msg, errno, "cannot open '%s': %m", from);
	_cleanup_free_ char *data = NULL;
	size_t n;
	int r = fs_read_fd(in, 64 * 1024 * 1024, &data, &n);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot read '%s': %m", from);
	r = fs_write_file_atomic_at(AT_FDCWD, to, data, n, 0644);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot write '%s': %m", to);
	return 0;
}

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);
	return v && *v ? v : def;
}

/* QEMU's first complaint, for the report; NULL when it said nothing. */
static char *read_first_line(const char *path)
{
	_cleanup_free_ char *line = NULL;
	if (fs_read_line_at(AT_FDCWD, path, 4096, &line) < 0 || !*line)
		return strdup("KVM did not run the guest");
	return strjoin("KVM did not run the guest: ", line);
}

/* A line of Xen's own that says something: not a row of a register or
 * stack dump (hex words, register names, colons, mostly). */
static bool xen_line(const char *l)
{
	const char *rest = startswith(l, "(XEN)");
	if (!rest)
		return false;
	size_t n = 0, dump = 0;
	for (const char *c = rest; *c; c++, n++)
		dump += strchr(" :0123456789abcdef", *c) != NULL;
	return n > 0 && dump * 10 < n * 8;
}

/* When no summary came: the console's last lines that mention enlighten
 * (the agent's errors, the init's messages), or under Xen the hypervisor's
 * own last lines, say why better than a timeout. When it came but the guest
 * agent cannot be asked: the agent's own lines, what it did. The summary
 * line is not among them. NULL when there are none. */
static char **console_notes(const char *path, bool xen, const char *needle)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *text = NULL;
	const char *lines[CONSOLE_TAIL] = {};
	char **notes = NULL;
	unsigned n = 0;

	if (fd < 0)
		return NULL;
	off_t size = lseek(fd, 0, SEEK_END);
	if (size > CONSOLE_TAIL_BYTES)
		(void)lseek(fd, size - CONSOLE_TAIL_BYTES, SEEK_SET);
	else
		(void)lseek(fd, 0, SEEK_SET);
	if (fs_read_fd(fd, CONSOLE_TAIL_BYTES, &text, NULL) < 0)
		return NULL;
	char *save = NULL;
	for (char *l = strtok_r(text, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save))
		if (xen ? xen_line(l) : strstr(l, needle) && !strstr(l, AGENT_SUMMARY_MARKER))
			lines[n++ % CONSOLE_TAIL] = l;
	for (unsigned i = n > CONSOLE_TAIL ? n - CONSOLE_TAIL : 0; i < n; i++) {
		char clean[STAGE_LINE_MAX];
		console_clean(lines[i % CONSOLE_TAIL], clean, sizeof(clean));
		if (strv_extend(&notes, clean) < 0)
			break;
	}
	return notes;
}

static double secs(uint64_t usec)
{
	return (double)usec / 1e6;
}

static json_object *json_double(double d)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%.2f", d); /* two decimals, printed as such */
	return json_object_new_double_s(d, buf);
}

/* SMBIOS type 0 (BIOS information, 2.4 layout) as a server's firmware has
 * it: characteristics extension byte 2 says UEFI and, unlike QEMU's own
 * table, not "virtual machine". */
static int write_bare_bios(const char *path, char **reterr_msg)
{
	static const char table[] =
		"\x00\x18\x00\x00"		   /* type 0, length, handle */
		"\x01\x02\x00\xe8\x03\x00"	   /* vendor, version, segment, date, ROM */
		"\x80\x00\x00\x00\x00\x00\x00\x00" /* characteristics: PCI */
		"\x01\x08"			   /* ACPI; UEFI, no VM bit */
		"\x02\x13\xff\xff"		   /* BIOS 2.19, no EC */
		"Dell Inc.\0"
		"2.19.0\0"
		"01/15/2026\0";
	int r = fs_write_file_atomic_at(AT_FDCWD, path, table, sizeof(table), 0644);
	return r < 0 ? errmsg_errno(reterr_msg, r, "cannot write '%s': %m", path) : 0;
}

struct guest_hook {
	const char *socket;
	const struct boot_identity *id; /* what runs in QEMU's guest */
	bool forced;
	int r;
	struct guest_report report;
	const char *domu_type;	  /* then a Xen guest of this type in that dom0, or NULL */
	struct boot_entry *plain; /* its kernel, initrd and options */
	uint64_t timeout_usec;	  /* for its line */
	struct domu_report domu;
	struct agent_summary domu_summary;
	struct guest_report domu_disk; /* the guest's disk, read after the run */
	bool domu_disk_read;
	const char *journal_log; /* the guest's journal goes there */
	uint64_t power_on;	 /* QEMU's start (now_usec()) */
};

static void guest_hook_run(void *userdata)
{
	struct guest_hook *h = userdata;
	const struct guest_expect e = {
		.profile = h->id->profile,
		.forced = h->forced,
		.processes = h->id->processes,
		.commands = h->id->commands,
		.journal_log = h->journal_log,
	};
	h->r = guest_check(h->socket, &e, now_usec() + GUEST_CHECK_USEC, &h->report);
	if (h->r >= 0 && h->report.pass && h->domu_type)
		h->r = domu_run(h->socket, h->domu_type, h->plain, now_usec() + h->timeout_usec,
				&h->domu);
	if (h->r >= 0 && h->domu.line)
		h->domu.usec_power_on = h->domu.at_start + h->domu.usec_line - h->power_on;
}

static void guest_hook_done(struct guest_hook *h)
{
	guest_report_done(&h->report);
	domu_report_done(&h->domu);
	agent_summary_done(&h->domu_summary);
	guest_report_done(&h->domu_disk);
	boot_entry_free(h->plain);
}

/* The checks inside dom0 or the guest, after the line matched: 1 pass, 0
 * fail (*why says why), -ENOMEM. */
static int hook_verdict(struct guest_hook *h, const struct boot_identity *id,
			const struct boot_plan *p, char **why)
{
	if (!h->report.pass)
		return (*why = strdup(h->report.problem ?: "a check inside the guest failed"))
			       ? 0
			       : -ENOMEM;
	if (!h->domu_type)
		return 1;
	if (!h->domu.line)
		return (*why = strdup(h->domu.problem ?: "no line from the Xen guest")) ? 0
											: -ENOMEM;
	if (agent_summary_parse(h->domu.line, &h->domu_summary) < 0)
		return asprintf(why, "malformed summary line from the Xen guest '%s'",
				h->domu.line) < 0
			       ? -ENOMEM
			       : 0;
	_cleanup_free_ char *reason = NULL;
	if (boot_identity_check(id, false, p->change, &h->domu_summary, &reason) == 0) {
		const struct guest_report *d = &h->domu_disk;
		if (!h->domu_disk_read || d->pass)
			return 1;
		const struct guest_item *bad = NULL;
		for (unsigned i = 0; i < d->n_items && !bad; i++)
			if (d->items[i].state == GUEST_FAIL)
				bad = &d->items[i];
		int k = d->problem || !bad
				? asprintf(why, "the %s guest's disk: %s", h->domu_type,
					   d->problem ?: "a check of its disk failed")
				: asprintf(why, "the %s guest's disk: %s %s: %s", h->domu_type,
					   bad->kind, bad->name, bad->detail);
		return k < 0 ? -ENOMEM : 0;
	}
	return asprintf(why, "the %s guest: %s", h->domu_type, reason ?: "mismatch") < 0 ? -ENOMEM
											 : 0;
}

static int set_why(char **why, const char *fmt, ...) _printf_(2, 3);
static int set_why(char **why, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vasprintf(why, fmt, ap);
	va_end(ap);
	if (k < 0) {
		*why = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* For a Xen guest: the run's disk is the guest's (so it moves from the
 * boots before into the guest and out again), dom0 boots a second overlay
 * of the image (kept across the run's boots, as the first is); the guest's
 * disk has its partition table hidden from dom0, and the kernel and initrd
 * of its own plain entry go to dom0 on a disk of their own (*ret_boot). */
static int domu_prepare(struct boot_test *t, const struct boot_identity *id, const char *dir,
			const char *overlay, struct guest_hook *h, char **ret_boot,
			char **reterr_msg)
{
	_cleanup_free_ char *msg = NULL, *guest_dir = NULL, *boot = NULL;
	if (id->xen != XEN_DOMU)
		return 0;
	if (t->line_only)
		return errmsg_set(reterr_msg, -EINVAL,
				  "--line-only cannot start a Xen guest: that needs dom0's guest "
				  "agent");
	if (!t->dom0_disk) {
		if (asprintf(&t->dom0_disk, "%s/dom0.qcow2", t->workdir) < 0)
			return errmsg_oom(reterr_msg);
		char *create[] = { "qemu-img",	 "create", "-q",      "-f",	    "qcow2", "-b",
				   t->image_abs, "-F",	   t->format, t->dom0_disk, NULL };
		int r = run_quiet(create, reterr_msg);
		if (r < 0)
			return r;
	}
	guest_dir = strjoin(dir, "/domu");
	boot = strjoin(dir, "/domu-boot.tar");
	if (!guest_dir || !boot)
		return errmsg_oom(reterr_msg);
	int r = mkdir(guest_dir, 0700) < 0 && errno != EEXIST ? -errno : 0;
	if (r >= 0)
		r = boot_entry_find(overlay, "qcow2", guest_dir, BOOT_ENTRY_PLAIN, true, &h->plain,
				    &msg);
	if (r >= 0)
		r = domu_boot_disk(h->plain, boot, &msg);
	if (r >= 0)
		r = domu_disk_hide(overlay, &msg);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot prepare the Xen guest's disk: %s",
				  msg ?: strerror(-r));
	h->domu_type = id->xen_type;
	h->timeout_usec = t->timeout_usec;
	*ret_boot = TAKE_PTR(boot);
	return 0;
}

/* Options boot-test gives Xen under emulation: no scrubbing of the free
 * memory at boot (minutes under TCG), no reboot on a panic (its last lines
 * stay on the console), the first serial port as its console; and dom0's
 * console through Xen's. */
static char *const xen_add[] = { "bootscrub=false", "noreboot", "console=com1", "com1=115200,8n1",
				 NULL };
static char *const dom0_add[] = { "console=hvc0", NULL };

/* The entry made the overlay's default, with Xen's options where it is
 * Xen's; noted in b. */
static int entry_make_default(const char *overlay, const char *dir, const struct boot_entry *entry,
			      bool xen, struct boot_start *b, char **reterr_msg)
{
	_cleanup_free_ char *msg = NULL;
	int r = boot_entry_make_default(overlay, dir, entry, xen ? xen_add : NULL,
					xen ? dom0_add : NULL, &msg);
	if (r < 0)
		return errmsg_set(reterr_msg, r,
				  "cannot make '%s' the default entry of the overlay: %s",
				  entry->id, msg ?: strerror(-r));
	if (!entry->is_default &&
	    strv_extendf(&b->notes,
			 entry->grubenv_size ? "made '%s' the entry GRUB boots next (grubenv's "
					       "next_entry, as grub-reboot sets it)"
					     : "made '%s' the default entry (loader.conf)",
			 entry->id) < 0)
		return errmsg_oom(reterr_msg);
	if (xen && strv_extendf(&b->notes,
				"Xen's options in '%s' with bootscrub=false noreboot console=com1, "
				"dom0's with console=hvc0 (on the overlay)",
				entry->xen_cfg) < 0)
		return errmsg_oom(reterr_msg);
	return 0;
}

/* A direct boot of the entry's kernel: its options, the serial console
 * where it lacks one, the forced profile. */
static int entry_direct(const struct boot_entry *entry, const struct boot_identity *id, bool forced,
			struct boot_start *b, char **ret_append, char **reterr_msg)
{
	int serial = boot_entry_has_serial_console(entry->options);
	if (serial < 0)
		return errmsg_oom(reterr_msg);
	if (forced || !serial) {
		b->mode = "direct";
		if (asprintf(ret_append, "%s%s%s%s", entry->options, serial ? "" : " console=ttyS0",
			     forced ? " enlighten.profile=" : "", forced ? id->profile : "") < 0)
			return errmsg_oom(reterr_msg);
	}
	if (!serial && strv_extendf(&b->notes,
				    "loader entry '%s' has no console=ttyS0; booting its kernel "
				    "directly with it added",
				    entry->id) < 0)
		return errmsg_oom(reterr_msg);
	return 0;
}

/* What the disk's boot loader would start now (the agent may have changed
 * it on an earlier boot): the Xen entry for a Xen identity, else the plain
 * kernel's; made the default on the overlay when it is not, as an
 * administrator would choose it. Direct boot when the profile is forced or
 * the entry has no serial console. */
static int boot_path(struct boot_test *t, const char *dir, const char *overlay,
		     struct boot_start *b, struct boot_entry **ret_entry, char **ret_append,
		     char **reterr_msg)
{
	_cleanup_free_ char *msg = NULL;
	struct boot_entry *entry = NULL;
	const struct boot_identity *id = b->id;
	bool xen = b->xen;
	int r = boot_entry_find(overlay, "qcow2", dir, xen ? BOOT_ENTRY_XEN : BOOT_ENTRY_PLAIN,
				b->forced || xen, &entry, &msg);
	if (r < 0 && (r != -ENOENT || xen))
		return errmsg_set(reterr_msg, r, "cannot read the %sboot entry of '%s': %s",
				  xen ? "Xen " : "", t->image, msg ?: strerror(-r));
	if (r < 0 && b->forced)
		return errmsg_set(reterr_msg, -ENOENT,
				  "cannot force profile '%s' for identity '%s': %s", id->profile,
				  id->name, msg ?: "no systemd-boot entry and no grub.cfg");
	*ret_entry = entry;
	b->entry_id = entry ? entry->id : NULL;
	if (entry && (xen || (!entry->is_default && !entry->efi))) {
		r = entry_make_default(overlay, dir, entry, xen, b, reterr_msg);
		if (r < 0)
			return r;
	}
	if (entry && entry->kernel && !xen)
		return entry_direct(entry, id, b->forced, b, ret_append, reterr_msg);
	return 0;
}

#define NOT_READ_KILLED "the guest did not power off by itself, so its disk was not read either"

/* One boot under way: its files, what it boots, what the console shows. */
struct boot {
	struct boot_test *t;
	unsigned k;
	const struct boot_plan *p;
	const struct boot_identity *host;
	char *dir, *console_log, *qemu_log, *journal_log, *overlay, *vars, *qmp, *qga, *smbios0,
		*append;
	const char *disk; /* the disk QEMU boots: the overlay, or dom0's for a Xen guest */
	char *domu_boot;  /* a Xen guest's kernel and initrd, or NULL */
	enum expect_change host_change; /* for the line of what QEMU boots */
	struct boot_start start;
	struct boot_entry *entry;
	struct guest_hook hook;
	struct stage_tracker stages;
	struct qemu_machine m;
	struct qemu_result res;
	struct agent_summary s;
	char **notes;
	char *why;
	bool pass;
	bool disk_read; /* no guest agent: hook.report read from the disk after power-off */
};

static void boot_done(struct boot *b)
{
	guest_hook_done(&b->hook);
	boot_entry_free(b->entry);
	agent_summary_done(&b->s);
	qemu_result_done(&b->res);
	if (b->dir)
		(void)fs_rm_rf(b->dir);
	strv_free(b->start.notes);
	strv_free(b->notes);
	free(b->why);
	free(b->dir);
	free(b->console_log);
	free(b->qemu_log);
	free(b->journal_log);
	free(b->overlay);
	free(b->vars);
	free(b->qmp);
	free(b->qga);
	free(b->smbios0);
	free(b->append);
	free(b->domu_boot);
}

static void on_console_line(void *userdata, const char *line, uint64_t usec)
{
	struct boot *b = userdata;
	(void)stage_tracker_feed(&b->stages, line, usec);
}

static void on_tick(void *userdata, enum qemu_phase phase, uint64_t usec)
{
	struct boot *b = userdata;
	if (phase == QEMU_PHASE_HOOK)
		stage_tracker_enter(&b->stages, STAGE_CHECKS, usec);
	else if (phase == QEMU_PHASE_SHUTDOWN && b->stages.stage >= STAGE_AGENT)
		/* a stop for a timeout is no stage the boot reached */
		stage_tracker_enter(&b->stages, STAGE_SHUTDOWN, usec);
	const struct boot_test_report *rep = b->t->report;
	if (rep && rep->progress)
		rep->progress(rep->userdata, &b->start, &b->stages, usec);
}

static void on_after_line(void *userdata)
{
	struct boot *b = userdata;
	guest_hook_run(&b->hook);
}

/* The boot's files in the run's directory, and what it boots. */
static int boot_prepare(struct boot *b, char **reterr_msg)
{
	struct boot_test *t = b->t;
	const struct boot_identity *id = b->p->id;
	if (asprintf(&b->dir, "%s/boot-%u", t->workdir, b->k) < 0 ||
	    asprintf(&b->console_log, "%s/boot-%u-%s.console.log", t->logdir, b->k, id->name) < 0 ||
	    asprintf(&b->qemu_log, "%s/boot-%u-%s.qemu.log", t->logdir, b->k, id->name) < 0 ||
	    asprintf(&b->journal_log, "%s/boot-%u-%s.journal.log", t->logdir, b->k, id->name) < 0 ||
	    asprintf(&b->overlay, "%s/overlay.qcow2", t->workdir) < 0 ||
	    asprintf(&b->vars, "%s/OVMF_VARS.fd", t->workdir) < 0 ||
	    asprintf(&b->qmp, "%s/qmp.sock", t->workdir) < 0 ||
	    asprintf(&b->qga, "%s/qga.sock", t->workdir) < 0 ||
	    asprintf(&b->smbios0, "%s/smbios-type0.bin", t->workdir) < 0)
		return errmsg_oom(reterr_msg);
	int r = 0;
	if (id->bare_bios && (r = write_bare_bios(b->smbios0, reterr_msg)) < 0)
		return r;
	if (mkdir(b->dir, 0700) < 0 && errno != EEXIST)
		return errmsg_errno(reterr_msg, errno, "cannot create '%s': %m", b->dir);
	r = domu_prepare(t, id, b->dir, b->overlay, &b->hook, &b->domu_boot, reterr_msg);
	if (r < 0)
		return r;
	/* dom0's machine is another machine: its own variable store (its boot
	 * entries, for its three disks, would leave the run's disk's machine
	 * with none that boots it, and OVMF in its shell) */
	if (b->domu_boot && t->firmware == BOOT_UEFI) {
		free(b->vars);
		if (!(b->vars = strjoin(t->workdir, "/OVMF_VARS.dom0.fd")))
			return errmsg_oom(reterr_msg);
		if (access(b->vars, F_OK) < 0 &&
		    (r = copy_file(t->ovmf_vars, b->vars, reterr_msg)) < 0)
			return r;
	}
	/* dom0's own line: its disk's first boot changes it, later ones not */
	b->disk = b->domu_boot ? t->dom0_disk : b->overlay;
	b->host_change = !b->domu_boot	  ? b->p->change
			 : t->dom0_booted ? EXPECT_CHANGE_NO
					  : EXPECT_CHANGE_ANY;
	return boot_path(t, b->dir, b->disk, &b->start, &b->entry, &b->append, reterr_msg);
}

static void boot_machine(struct boot *b)
{
	struct boot_test *t = b->t;
	const struct boot_identity *id = b->p->id, *host = b->host;
	bool direct = streq(b->start.mode, "direct");
	b->m = (struct qemu_machine){
		.qemu = env_or("ENLIGHTEN_QEMU", QEMU_SYSTEM),
		.ovmf_code = t->ovmf_code,
		.ovmf_vars = b->vars,
		.bios = t->firmware == BOOT_BIOS ? t->seabios : NULL,
		.secure_boot = t->secure_boot,
		/* OVMF's line when Secure Boot stops a loader */
		.refusal = host->xen	    ? XEN_STOPPED
			   : t->secure_boot ? "Access Denied"
					    : NULL,
		.disk = b->disk,
		.disk_format = "qcow2",
		.disk2 = b->domu_boot ? b->overlay : NULL,
		.disk2_serial = DOMU_DISK_SERIAL,
		.disk3 = b->domu_boot,
		.disk3_serial = DOMU_BOOT_SERIAL,
		.ahci_disk = id->ahci_disk,
		.kvm = t->kvm,
		.memory_mib = host->memory_mib ?: MEMORY_MIB,
		.cpu = t->kvm ? host->cpu_kvm : host->cpu_tcg,
		.machine_extra = id->machine_extra,
		.nic_model = id->nic_model,
		.smbios = id->smbios,
		.smbios_file = id->bare_bios ? b->smbios0 : NULL,
		.qga_socket = id->no_guest_agent || t->line_only ? NULL : b->qga,
		.kernel = direct ? b->entry->kernel : NULL,
		.initrd = direct ? b->entry->initrd : NULL,
		.append = b->append,
		.qmp_socket = b->qmp,
		.console_log = b->console_log,
		.qemu_log = b->qemu_log,
	};
}

/* A Xen guest that reported and was shut down, in a dom0 that powered
 * off: its disk (the overlay) read, with its entry's command line. */
static int domu_disk_look(struct boot *b)
{
	struct guest_hook *h = &b->hook;
	_cleanup_free_ char *msg = NULL, *after = strjoin(b->dir, "/domu-after");
	struct boot_entry *e = NULL;
	if (!after)
		return -ENOMEM;
	if (!h->domu.line || !h->domu.stopped || !streq(h->domu.stopped, "shutdown") ||
	    b->res.shutdown == SHUTDOWN_KILLED)
		return 0;
	if (mkdir(after, 0700) < 0 && errno != EEXIST)
		return -errno;
	int r = boot_entry_find(b->overlay, "qcow2", after, BOOT_ENTRY_PLAIN, true, &e, &msg);
	if (r == -ENOMEM)
		return r;
	const struct guest_expect ex = {
		.profile = b->p->id->profile,
		.entry_options = r >= 0 ? e->options : NULL,
	};
	bool no_entry = r < 0;
	r = guest_check_disk(b->overlay, "qcow2", after, &ex, &h->domu_disk);
	boot_entry_free(e);
	if (r < 0)
		return r;
	if (no_entry && guest_report_problem(&h->domu_disk,
					     "cannot read the boot entry of the guest's disk: %s",
					     msg ?: "not found") < 0)
		return -ENOMEM;
	h->domu_disk_read = true;
	return 0;
}

/* Without the guest agent (and not --line-only), a guest that reported and
 * then powered off cleanly is looked at on its disk: the overlay's root,
 * read once QEMU is gone. A guest QEMU had to kill is not: its filesystem
 * may hold what it had not written yet. */
static int disk_look(struct boot *b)
{
	if (b->domu_boot)
		return domu_disk_look(b);
	if (b->m.qga_socket || b->t->line_only || !b->res.line ||
	    b->res.shutdown == SHUTDOWN_KILLED || b->host->xen != XEN_NONE)
		return 0;
	const struct guest_expect e = {
		.profile = b->host->profile,
		.forced = b->start.forced,
	};
	int r = guest_check_disk(b->overlay, "qcow2", b->dir, &e, &b->hook.report);
	if (r < 0)
		return r;
	b->disk_read = true;
	return 0;
}

/* Whether the boot matched: b->pass, and b->why when it did not. */
static int boot_verdict(struct boot *b)
{
	const struct qemu_result *res = &b->res;
	const struct boot_identity *host = b->host;
	int r = 0;
	b->pass = false;
	if (res->interrupted)
		r = set_why(&b->why, "interrupted");
	else if (res->refused && host->xen)
		r = set_why(&b->why, "Xen stopped: %s", strstrip(res->refused));
	else if (res->refused)
		r = set_why(&b->why,
			    "the firmware refused to start the loader under Secure Boot: '%s'",
			    strstrip(res->refused));
	else if (!res->line && res->timed_out)
		r = set_why(&b->why, "no agent summary line within %llu s",
			    (unsigned long long)(b->t->timeout_usec / 1000000));
	else if (!res->line)
		r = set_why(&b->why,
			    "the guest stopped (QEMU exit %d) before the agent's summary line",
			    res->exit_status);
	else if (agent_summary_parse(res->line, &b->s) < 0)
		r = set_why(&b->why, "malformed summary line '%s'", res->line);
	else
		b->pass = boot_identity_check(host, b->start.forced, b->host_change, &b->s,
					      &b->why) == 0;
	if (r < 0)
		return r;
	if (b->pass && (b->m.qga_socket || b->disk_read) &&
	    (r = hook_verdict(&b->hook, b->p->id, b->p, &b->why)) <= 0)
		b->pass = false;
	if (r < 0)
		return r;
	if (!b->pass && !b->why && !(b->why = strdup("failed")))
		return -ENOMEM;
	if (!res->line && (!res->refused || host->xen))
		b->notes = console_notes(b->console_log, host->xen != XEN_NONE, "enlighten");
	else if (res->line && !b->m.qga_socket)
		b->notes = console_notes(b->console_log, false, "enlighten-firstboot[");
	return 0;
}

static json_object *seconds_or_null(const struct stage_tracker *st, enum boot_stage s)
{
	return st->reached[s] ? json_double(secs(st->usec[s])) : NULL;
}

/* dom0's userspace, on the host's clock: the hand-off plus systemd's start
 * on dom0's kernel clock (which starts there). < 0: unknown. */
static double dom0_userspace(const struct stage_tracker *st, const struct guest_report *g)
{
	if (!st->reached[STAGE_KERNEL] || g->userspace_seconds < 0)
		return -1;
	return secs(st->usec[STAGE_KERNEL]) + g->userspace_seconds;
}

static void stages_json(json_object *b, const struct boot *bt)
{
	const struct stage_tracker *st = &bt->stages;
	json_object *o = json_object_new_object();
	for (enum boot_stage s = 0; s < _STAGE_MAX; s++)
		json_object_object_add(o, boot_stage_to_string(s), seconds_or_null(st, s));
	json_object_object_add(b, "stage_reached",
			       json_object_new_string(boot_stage_to_string(st->stage)));
	json_object_object_add(b, "stages", o);
	json_object_object_add(b, "console_trouble",
			       json_string_or_null(st->trouble[0] ? st->trouble : NULL));
	if (bt->host->xen == XEN_NONE)
		return;
	double u = bt->res.line ? dom0_userspace(st, &bt->hook.report) : -1;
	json_object_object_add(b, "seconds_to_xen", seconds_or_null(st, STAGE_XEN));
	json_object_object_add(b, "seconds_to_dom0_kernel", seconds_or_null(st, STAGE_KERNEL));
	json_object_object_add(b, "seconds_to_dom0_userspace", u >= 0 ? json_double(u) : NULL);
}

static json_object *expected_json(const struct boot_plan *p, bool forced)
{
	const struct boot_identity *id = p->id;
	json_object *exp = json_object_new_object();
	json_object *hvs = NULL;
	if (!forced) {
		hvs = json_object_new_array();
		for (const char *const *h = id->hypervisors; *h; h++)
			json_object_array_add(hvs, json_object_new_string(*h));
	}
	json_object_object_add(exp, "hypervisor", hvs);
	json_object_object_add(exp, "role", forced ? NULL : json_object_new_string(id->role));
	json_object_object_add(exp, "profile", json_object_new_string(id->profile));
	json_object_object_add(
		exp, "changed",
		p->change == EXPECT_CHANGE_ANY
			? NULL
			: json_object_new_string(p->change == EXPECT_CHANGE_YES ? "yes" : "no"));
	return exp;
}

static json_object *agent_json(const struct agent_summary *s)
{
	if (!s->profile)
		return NULL;
	json_object *seen = json_object_new_object();
	json_object_object_add(seen, "hypervisor", json_object_new_string(s->hypervisor));
	json_object_object_add(seen, "role", json_object_new_string(s->role));
	json_object_object_add(seen, "profile", json_object_new_string(s->profile));
	json_object_object_add(seen, "changed", json_object_new_string(s->changed ? "yes" : "no"));
	json_object_object_add(seen, "forced", json_object_new_boolean(s->forced));
	return seen;
}

/* The boot's object in the --json output. */
static void boot_json(struct boot *bt)
{
	struct boot_test *t = bt->t;
	const struct qemu_result *res = &bt->res;
	bool qga = bt->m.qga_socket != NULL;
	json_object *b = json_object_new_object();
	const char *verified = qga ? "guest-agent" : bt->disk_read ? "disk" : "summary-line";
	json_object_object_add(b, "boot", json_object_new_int((int)bt->k));
	json_object_object_add(b, "identity", json_object_new_string(bt->p->id->name));
	json_object_object_add(b, "mode", json_object_new_string(bt->start.mode));
	json_object_object_add(b, "firmware",
			       json_object_new_string(t->firmware == BOOT_BIOS ? "bios" : "uefi"));
	json_object_object_add(b, "secure_boot", json_object_new_boolean(t->secure_boot));
	json_object_object_add(b, "refused", json_string_or_null(res->refused));
	json_object_object_add(b, "entry", json_string_or_null(bt->start.entry_id));
	json_object_object_add(b, "forced", json_object_new_boolean(bt->start.forced));
	json_object_object_add(b, "expected", expected_json(bt->p, bt->start.forced));
	json_object_object_add(b, "summary", json_string_or_null(res->line));
	json_object_object_add(b, "agent", agent_json(&bt->s));
	json_object_object_add(b, "verified", json_object_new_string(verified));
	json_object_object_add(
		b, "guest",
		(qga || bt->disk_read) && res->line ? guest_report_json(&bt->hook.report) : NULL);
	json_object_object_add(b, "result", json_object_new_string(bt->pass ? "pass" : "fail"));
	json_object_object_add(b, "reason", json_string_or_null(bt->pass ? NULL : bt->why));
	json_object_object_add(b, "seconds_to_summary",
			       res->line ? json_double(secs(res->usec_line)) : NULL);
	json_object_object_add(b, "seconds", json_double(secs(res->usec_total)));
	json_object_object_add(b, "shutdown",
			       json_object_new_string(qemu_shutdown_to_string(res->shutdown)));
	json_object_object_add(b, "console_log", json_object_new_string(bt->console_log));
	stages_json(b, bt);
	json_object *d = bt->hook.domu_type ? domu_report_json(&bt->hook.domu) : NULL;
	if (d)
		json_object_object_add(
			d, "disk",
			bt->hook.domu_disk_read ? guest_report_json(&bt->hook.domu_disk) : NULL);
	json_object_object_add(b, "domu", d);
	json_object_array_add(t->boots, b);
}

static void boot_report(struct boot *b)
{
	const struct boot_test_report *rep = b->t->report;
	const char *not_asked = NULL;
	if (!b->m.qga_socket && !b->disk_read)
		not_asked = b->t->line_only			 ? "--line-only"
			    : b->res.shutdown == SHUTDOWN_KILLED ? NOT_READ_KILLED
								 : b->p->id->no_guest_agent;
	const struct boot_outcome o = {
		.k = b->k,
		.plan = b->p,
		.host = b->host,
		.forced = b->start.forced,
		.not_asked = not_asked,
		.qemu = &b->res,
		.stages = &b->stages,
		.summary = &b->s,
		/* asked only after the line: without it there are no answers */
		.guest = (b->m.qga_socket || b->disk_read) && b->res.line ? &b->hook.report : NULL,
		.domu_type = b->hook.domu_type,
		.domu_kernel = b->hook.plain ? b->hook.plain->linux_path : NULL,
		.domu_entry = b->hook.plain ? b->hook.plain->id : NULL,
		.domu = &b->hook.domu,
		.domu_summary = &b->hook.domu_summary,
		.domu_disk = b->hook.domu_disk_read ? &b->hook.domu_disk : NULL,
		.console_notes = b->notes,
		.pass = b->pass,
		.why = b->why,
		.timeout_usec = b->t->timeout_usec,
	};
	if (rep && rep->boot_done)
		rep->boot_done(rep->userdata, &o);
}

/* Runs the guest; -EAGAIN when KVM did not run it and TCG should. */
static int boot_run(struct boot *b, char **reterr_msg)
{
	struct boot_test *t = b->t;
	/* Under KVM the firmware prints within a second; silence means KVM
	 * does not really run guests here (nested setups), see boot_test_run. */
	struct qemu_hook qh = {
		.after_line = b->m.qga_socket ? on_after_line : NULL,
		.console_line = on_console_line,
		.tick = on_tick,
		.userdata = b,
	};
	b->hook.power_on = now_usec();
	int r = qemu_run(&b->m, AGENT_SUMMARY_MARKER, t->timeout_usec, t->kvm ? SILENCE_USEC : 0,
			 GRACE_USEC, &qh, &b->res);
	if (b->hook.r < 0)
		return errmsg_errno(reterr_msg, b->hook.r, "cannot check the guest: %m");
	if (r == -ENOENT)
		return errmsg_set(reterr_msg, -EINVAL,
				  "'%s' not found; install the qemu-system-x86 package", b->m.qemu);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot run '%s': %m", b->m.qemu);
	/* A guest that printed nothing at all never ran, so the overlay is as
	 * it was: this boot can be done again under TCG. */
	if (t->kvm && t->kvm_fallback && !b->res.line && b->res.console_bytes == 0 &&
	    (b->res.silent || b->res.exit_status != 0)) {
		free(t->kvm_reason);
		t->kvm_reason = read_first_line(b->qemu_log);
		return -EAGAIN;
	}
	return 0;
}

/* The firmware of the boot p, for the boots to come. */
static void firmware_select(struct boot_test *t, const struct boot_plan *p)
{
	t->firmware = p->firmware;
	t->secure_boot = p->secure_boot;
	t->ovmf_code = t->secure_boot ? env_or("ENLIGHTEN_OVMF_SB_CODE", OVMF_CODE_SB)
				      : env_or("ENLIGHTEN_OVMF_CODE", OVMF_CODE);
	t->ovmf_vars = t->secure_boot ? env_or("ENLIGHTEN_OVMF_SB_VARS", OVMF_VARS_SB)
				      : env_or("ENLIGHTEN_OVMF_VARS", OVMF_VARS);
}

/* Under UEFI, the variable store of the kind the boot's firmware needs: the
 * one before kept (its boot entries, as a machine keeps them), or a fresh
 * copy when there is none yet or Secure Boot comes or goes. */
static int firmware_vars(struct boot_test *t, char **reterr_msg)
{
	if (t->firmware != BOOT_UEFI || t->vars_kind == (int)t->secure_boot)
		return 0;
	_cleanup_free_ char *vars = strjoin(t->workdir, "/OVMF_VARS.fd");
	if (!vars)
		return errmsg_oom(reterr_msg);
	int r = copy_file(t->ovmf_vars, vars, reterr_msg);
	if (r >= 0)
		t->vars_kind = t->secure_boot;
	return r;
}

/* One boot: pick the boot path, run QEMU, check the summary. Returns 1 on a
 * match, 0 on a mismatch or a guest that did not report, -EINTR, -EAGAIN
 * (again under TCG), or -errno when the boot could not be run at all. */
static int boot_one(struct boot_test *t, unsigned k, const struct boot_plan *p, char **reterr_msg)
{
	const struct boot_identity *host = boot_identity_host(p->id);
	bool forced = boot_identity_forced(p->id, t->kvm);
	firmware_select(t, p);
	int r = firmware_vars(t, reterr_msg);
	if (r < 0)
		return r;
	struct boot b = {
		.t = t,
		.k = k,
		.p = p,
		.host = host,
		.hook = { .id = host, .forced = forced },
		.start = {
			.k = k,
			.n = t->n_plan,
			.id = p->id,
			.mode = "firmware",
			.firmware = t->firmware,
			.secure_boot = t->secure_boot,
			.xen = host->xen != XEN_NONE,
			.forced = forced,
		},
	};
	const struct boot_test_report *rep = t->report;

	stage_tracker_init(&b.stages);
	r = boot_prepare(&b, reterr_msg);
	if (r < 0)
		goto out;
	b.hook.socket = b.qga;
	b.hook.journal_log = b.journal_log;
	if (rep && rep->boot_start)
		rep->boot_start(rep->userdata, &b.start);
	boot_machine(&b);
	r = boot_run(&b, reterr_msg);
	if (r < 0)
		goto out;
	t->dom0_booted = t->dom0_booted || (b.domu_boot && b.res.line);
	r = disk_look(&b);
	if (r < 0) {
		r = errmsg_errno(reterr_msg, r, "cannot read the guest's disk: %m");
		goto out;
	}
	r = boot_verdict(&b);
	if (r < 0) {
		r = errmsg_oom(reterr_msg);
		goto out;
	}
	boot_report(&b);
	boot_json(&b);
	r = b.res.interrupted ? -EINTR : b.pass ? 1 : 0;
out:
	boot_done(&b);
	return r;
}

static json_object *installer_json(const struct installer_boot *ib,
				   const struct installer_outcome *o)
{
	json_object *j = json_object_new_object();
	json_object *rep = o->report ? json_tokener_parse(o->report) : NULL;
	json_object_object_add(j, "medium", json_object_new_string(ib->cd ? "cd" : "stick"));
	json_object_object_add(j, "firmware", json_object_new_string(ib->m.bios ? "bios" : "uefi"));
	json_object_object_add(j, "result", json_object_new_string(o->pass ? "pass" : "fail"));
	json_object_object_add(j, "why", json_string_or_null(o->why));
	json_object_object_add(j, "picked", json_string_or_null(o->picked));
	json_object_object_add(j, "report", rep);
	json_object_object_add(j, "medium_report", json_string_or_null(o->medium_report));
	json_object_object_add(j, "data_disk",
			       json_object_new_string(o->data_untouched ? "untouched" : "changed"));
	json_object_object_add(j, "seconds_to_done",
			       o->res.line ? json_double(secs(o->res.usec_line)) : NULL);
	json_object_object_add(j, "seconds", json_double(secs(o->res.usec_total)));
	return j;
}

/* An installer medium's boot, before the plan's: the medium (a USB stick
 * under UEFI, a copy-on-write overlay of it; a CD under SeaBIOS) with an
 * empty disk and one holding data. Returns 1 when it deployed and left the
 * data disk alone, the overlay then over the disk it wrote; 0 when not,
 * -EINTR, or -errno. */
static int installer_first(struct boot_test *t, char **reterr_msg)
{
	const struct boot_test_report *rep = t->report;
	firmware_select(t, &t->plan[0]);
	int r = firmware_vars(t, reterr_msg);
	if (r < 0)
		return r;
	bool cd = t->firmware == BOOT_BIOS;
	_cleanup_free_ char *console = strjoin(t->logdir, "/installer.console.log"),
			    *qlog = strjoin(t->logdir, "/installer.qemu.log"),
			    *qmp = strjoin(t->workdir, "/qmp.sock"),
			    *vars = strjoin(t->workdir, "/OVMF_VARS.fd"),
			    *stick = strjoin(t->workdir, "/medium.qcow2");
	if (!console || !qlog || !qmp || !vars || !stick)
		return errmsg_oom(reterr_msg);
	if (!cd && (r = make_qcow2(t->image_abs, "raw", stick, reterr_msg)) < 0)
		return r;
	struct installer_boot ib = {
		.medium = t->image,
		.image_size = t->installer_image,
		.dir = t->workdir,
		.cd = cd,
		.timeout_usec = t->timeout_usec,
		.m = {
			.qemu = env_or("ENLIGHTEN_QEMU", QEMU_SYSTEM),
			.ovmf_code = t->ovmf_code,
			.ovmf_vars = vars,
			.bios = cd ? t->seabios : NULL,
			.disk = cd ? t->image_abs : stick,
			.disk_format = cd ? "raw" : "qcow2",
			.kvm = t->kvm,
			.qmp_socket = qmp,
			.console_log = console,
			.qemu_log = qlog,
		},
	};
	struct installer_outcome o = {};
	if (rep && rep->installer_start)
		rep->installer_start(rep->userdata, &ib);
	r = installer_run(&ib, &o, reterr_msg);
	t->installed = TAKE_PTR(ib.target);
	if (r < 0)
		return r;
	if (rep && rep->installer_done)
		rep->installer_done(rep->userdata, &ib, &o);
	t->installer = installer_json(&ib, &o);
	/* the written disk boots with a variable store of its own, as on a
	 * machine it is moved to: the medium's leaves the UEFI shell ahead of
	 * a disk that came after it */
	t->vars_kind = -1;
	r = o.res.interrupted ? -EINTR : o.pass ? 1 : 0;
	installer_outcome_done(&o);
	_cleanup_free_ char *overlay = strjoin(t->workdir, "/overlay.qcow2");
	if (r > 0 && !overlay)
		r = errmsg_oom(reterr_msg);
	if (r > 0 && (r = make_qcow2(t->installed, "raw", overlay, reterr_msg)) >= 0)
		r = 1;
	(void)unlink(stick);
	return r;
}

static void boot_test_free(struct boot_test *t)
{
	free(t->dom0_disk);
	free(t->installed);
	json_object_put(t->installer);
	free(t->workdir);
	free(t->image_abs);
	free(t->format);
	free(t->kvm_reason);
	json_object_put(t->boots);
}

void boot_test_result_done(struct boot_test_result *r)
{
	free(r->log_dir);
	r->log_dir = NULL;
	json_object_put(r->json);
	r->json = NULL;
}

/* The image, --keep-log and the firmware, checked before anything runs. */
static int check_inputs(struct boot_test *t, char **reterr_msg)
{
	struct stat st;
	if (stat(t->image, &st) < 0)
		return errmsg_errno(reterr_msg, -EINVAL, "cannot open image '%s': %s", t->image,
				    strerror(errno));
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return errmsg_set(reterr_msg, -EINVAL, "image '%s' is not a file", t->image);
	const char *keep_log = t->keep_log;
	if (keep_log) {
		/* the user's own directory: relative to the working directory,
		 * or absolute (made beneath "/") */
		_cleanup_close_ int top = -EBADF;
		if (keep_log[0] == '/' && (top = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			return errmsg_set(reterr_msg, -EINVAL, "cannot open '/': %s",
					  strerror(errno));
		int r = keep_log[0] == '/' && !keep_log[strspn(keep_log, "/")]
				? 0
				: fs_mkdir_p_at(top >= 0 ? top : AT_FDCWD,
						keep_log + strspn(keep_log, "/"), 0755);
		if (r < 0)
			return errmsg_set(reterr_msg, -EINVAL, "cannot create '%s': %s", keep_log,
					  strerror(-r));
	}
	t->seabios = env_or("ENLIGHTEN_SEABIOS", SEABIOS);
	for (unsigned k = t->n_plan; k-- > 0;) { /* the first boot's last */
		firmware_select(t, &t->plan[k]);
		if (t->firmware == BOOT_BIOS && access(t->seabios, R_OK) < 0)
			return errmsg_set(
				reterr_msg, -EINVAL,
				"SeaBIOS firmware '%s' not found; install the seabios package",
				t->seabios);
		if (t->firmware == BOOT_UEFI &&
		    (access(t->ovmf_code, R_OK) < 0 || access(t->ovmf_vars, R_OK) < 0))
			return errmsg_set(reterr_msg, -EINVAL,
					  "OVMF firmware '%s' not found; install the ovmf package",
					  access(t->ovmf_code, R_OK) < 0 ? t->ovmf_code
									 : t->ovmf_vars);
	}
	return 0;
}

/* The accelerator: KVM only when it really works. */
static int choose_accel(struct boot_test *t, enum accel_mode accel, char **reterr_msg)
{
	if (accel == ACCEL_TCG) {
		t->kvm = false;
		t->kvm_reason = strdup("--accel tcg");
		return 0;
	}
	int r = kvm_probe(env_or("ENLIGHTEN_KVM_DEVICE", "/dev/kvm"), &t->kvm_reason);
	t->kvm = r >= 0;
	if (!t->kvm && accel == ACCEL_KVM)
		return errmsg_set(reterr_msg, -EINVAL, "KVM is not usable: %s",
				  t->kvm_reason ?: strerror(-r));
	t->kvm_fallback = t->kvm && accel == ACCEL_AUTO;
	return 0;
}

/* The run's directory and the overlay of the image. */
static int make_workdir(struct boot_test *t, char **reterr_msg)
{
	t->image_abs = realpath(t->image, NULL);
	if (!t->image_abs)
		return errmsg_errno(reterr_msg, errno, "cannot resolve '%s': %m", t->image);
	int r = image_format(t->image_abs, &t->format, reterr_msg);
	if (r < 0)
		return r;
	const char *tmp = env_or("TMPDIR", "/tmp");
	if (asprintf(&t->workdir, "%s/enlighten-boot-test.XXXXXX", tmp) < 0) {
		t->workdir = NULL;
		return errmsg_oom(reterr_msg);
	}
	if (!mkdtemp(t->workdir)) {
		r = errmsg_errno(reterr_msg, errno, "cannot create a directory in '%s': %m", tmp);
		free(t->workdir);
		t->workdir = NULL;
		return r;
	}
	t->logdir = t->keep_log ?: t->workdir;
	if (streq(t->format, "raw")) {
		r = installer_probe(t->image_abs, &t->installer_image, reterr_msg);
		if (r < 0)
			return r;
		if (r > 0)
			return 0; /* the overlay comes after the installer's boot */
	}
	_cleanup_free_ char *overlay = strjoin(t->workdir, "/overlay.qcow2");
	if (!overlay)
		return errmsg_oom(reterr_msg);
	return make_qcow2(t->image_abs, t->format, overlay, reterr_msg);
}

/* The boots of the plan, in order, until one fails. Returns 1 when all
 * matched, 0 when one did not, -EINTR, or -errno. */
static int run_plan(struct boot_test *t, char **reterr_msg)
{
	for (unsigned k = 0; k < t->n_plan; k++) {
		int r = boot_one(t, k + 1, &t->plan[k], reterr_msg);
		if (r == -EAGAIN) {
			/* KVM opens but does not run this guest (nested setups, hv-*
			 * flags the host lacks): this boot and the rest go to TCG. */
			_cleanup_free_ char *w = strjoin(t->kvm_reason, "; booting again with TCG");
			if (w && t->report && t->report->warning)
				t->report->warning(t->report->userdata, w);
			t->kvm = t->kvm_fallback = false;
			k--;
			continue;
		}
		if (r <= 0)
			return r; /* later boots build on this one */
		t->passed++;
	}
	return 1;
}

static json_object *run_json(const struct boot_test *t, const struct boot_test_result *res)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "image", json_object_new_string(t->image));
	json_object_object_add(o, "format", json_object_new_string(t->format));
	json_object_object_add(
		o, "firmware", /* the first boot's; each boot says its own */
		json_object_new_string(t->plan[0].firmware == BOOT_BIOS ? "bios" : "uefi"));
	json_object_object_add(o, "accelerator", json_object_new_string(t->kvm ? "kvm" : "tcg"));
	json_object_object_add(o, "why_not_kvm",
			       json_string_or_null(t->kvm ? NULL : t->kvm_reason));
	json_object_object_add(o, "result", json_object_new_string(res->pass ? "pass" : "fail"));
	json_object_object_add(o, "boots_planned", json_object_new_int((int)t->n_plan));
	json_object_object_add(o, "boots_passed", json_object_new_int((int)t->passed));
	json_object_object_add(o, "seconds", json_double(secs(res->usec)));
	json_object_object_add(o, "log_dir", json_string_or_null(res->log_dir));
	json_object_object_add(o, "installer", json_object_get(t->installer));
	json_object_object_add(o, "boots", json_object_get(t->boots));
	return o;
}

/* Keeps the logs of a failed run (not the disks), or removes it all. */
static void cleanup_workdir(struct boot_test *t, bool keep)
{
	if (!t->workdir)
		return;
	if (!keep || t->keep_log) {
		(void)fs_rm_rf(t->workdir);
		return;
	}
	static const char *const drop[] = { "overlay.qcow2",	 "OVMF_VARS.fd", "dom0.qcow2",
					    "OVMF_VARS.dom0.fd", "qmp.sock",	 "qga.sock",
					    "smbios-type0.bin",	 "target.raw",	 "data.raw",
					    "medium.qcow2" };
	for (size_t i = 0; i < ELEMENTSOF(drop); i++) {
		_cleanup_free_ char *p = strjoin(t->workdir, "/", drop[i]);
		if (p)
			(void)unlink(p);
	}
}

int boot_test_run(const struct boot_test_options *opts, const struct boot_test_report *report,
		  struct boot_test_result *ret, char **reterr_msg)
{
	struct boot_test t = {
		.image = opts->image,
		.keep_log = opts->keep_log,
		.line_only = opts->line_only,
		.timeout_usec = opts->timeout_usec,
		.plan = opts->plan,
		.n_plan = opts->n_plan,
		.vars_kind = -1,
		.report = report,
	};
	struct boot_test_result res = { .planned = opts->n_plan };

	/* a closed stdout (| head) must not kill us with QEMU still running */
	signal(SIGPIPE, SIG_IGN);
	int r = check_inputs(&t, reterr_msg);
	if (r >= 0)
		r = choose_accel(&t, opts->accel, reterr_msg);
	if (r >= 0)
		r = make_workdir(&t, reterr_msg);
	if (r < 0)
		goto finish;
	if (report && report->started) {
		const struct boot_test_info info = {
			.image = t.image,
			.format = t.format,
			.installer = t.installer_image > 0,
			.kvm = t.kvm,
			.why_not_kvm = t.kvm_reason,
			.n_plan = t.n_plan,
		};
		report->started(report->userdata, &info);
	}

	t.boots = json_object_new_array();
	uint64_t start = now_usec();
	r = t.installer_image ? installer_first(&t, reterr_msg) : 1;
	if (r > 0)
		r = run_plan(&t, reterr_msg);
	if (r < 0 && r != -EINTR)
		goto finish;
	res.usec = now_usec() - start;
	res.pass = r > 0;
	res.interrupted = r == -EINTR;
	res.passed = t.passed;
	if ((!res.pass || t.keep_log) && !(res.log_dir = strdup(t.logdir))) {
		r = errmsg_oom(reterr_msg);
		goto finish;
	}
	res.json = run_json(&t, &res);
	*ret = res;
	r = 0;
finish:
	cleanup_workdir(&t, r == 0 && !res.pass);
	if (r < 0)
		free(res.log_dir);
	boot_test_free(&t);
	return r;
}
