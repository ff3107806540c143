/* SPDX-License-Identifier: MIT */
/*
 * run.c - one run of `enlighten boot-test` (see run.h): boot an image
 * under QEMU and OVMF (or SeaBIOS) as a given hypervisor, wait for the first-boot agent's
 * summary line on the serial console, and check that it activated the
 * profile that hypervisor needs. The image is never written: every boot of
 * one run uses the same qcow2 overlay in a temporary directory, so repeated
 * boots see what the first recorded, and a later identity moves the same
 * disk to another hypervisor.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/boot-test/checks.h"
#include "builder/boot-test/domu.h"
#include "builder/boot-test/entry.h"
#include "builder/boot-test/identity.h"
#include "builder/boot-test/qemu.h"
#include "builder/boot-test/run.h"
#include "lib/basic/cli.h"
#include "lib/basic/fs.h"
#include "lib/basic/json.h"
#include "lib/basic/log.h"
#include "lib/basic/macro.h"
#include "lib/basic/spawn.h"
#include "lib/basic/string-util.h"

#define MARKER "enlighten: hypervisor="
/* In Xen's last line when it or dom0 died, with noreboot: "Manual reset
 * required ('noreboot' specified)", "Hardware Dom0 crashed: 'noreboot' set
 * - not rebooting." */
#define XEN_STOPPED "'noreboot'"
#define MEMORY_MIB 512
#define GRACE_USEC (30ULL * 1000000ULL)
#define CONSOLE_TAIL 10
#define CONSOLE_TAIL_BYTES (256 * 1024)
#define SILENCE_USEC (10ULL * 1000000ULL)
/* after the agent's line: for the guest agent to answer and services to settle */
#define GUEST_CHECK_USEC (120ULL * 1000000ULL)

/* Where the report for people goes: stdout, or stderr when stdout is JSON,
 * so that a long run shows its progress either way. */
static FILE *human;

struct boot_test {
	const char *image;
	char *image_abs;
	char *format;
	bool kvm;
	char *kvm_reason;  /* why not KVM, or NULL */
	bool kvm_fallback; /* --accel auto: TCG when KVM fails to start a guest */
	char *workdir;
	const char *logdir;
	enum boot_firmware firmware;
	const char *seabios;
	bool secure_boot;
	const char *ovmf_code;
	bool json;
	bool line_only;
	uint64_t timeout_usec;
	const struct boot_plan *plan;
	unsigned n_plan;
	json_object *boots; /* array, for --json and the summary */
	char *domu_disk;    /* a Xen guest's disk, created on the first such boot */
	unsigned passed;
};

/* qemu-img info: the image's format. */
static int image_format(const char *image, char **ret)
{
	char *argv[] = { "qemu-img", "info", "--output=json", (char *)image, NULL };
	struct spawn_opts o = { .stdin_fd = -1, .stdout_fd = -1, .capture_stdout = true };
	struct spawn_result res;
	_cleanup_json_ json_object *j = NULL;
	const char *fmt;

	int r = spawn_run(argv, &o, &res);
	if (r == -ENOENT)
		return log_error_errno(r, "'qemu-img' not found; install the qemu-utils package");
	if (r < 0)
		return log_error_errno(r, "cannot run 'qemu-img': %m");
	if (res.exit_status != 0) {
		log_error("image '%s' cannot be read by qemu-img: %s", image,
			  res.err ? strstrip(res.err) : "");
		spawn_result_done(&res);
		return -EINVAL;
	}
	r = json_parse_bounded(res.out, strlen(res.out), 1024 * 1024, &j, NULL);
	spawn_result_done(&res);
	if (r < 0 || json_get_string(j, "format", &fmt) < 0)
		return log_error_errno(-EBADMSG, "unexpected output of 'qemu-img info' for '%s'",
				       image);
	*ret = strdup(fmt);
	return *ret ? 0 : log_oom();
}

static int run_quiet(char *const argv[])
{
	struct spawn_opts o = { .stdin_fd = -1, .stdout_fd = -1 };
	struct spawn_result res;
	int r = spawn_run(argv, &o, &res);
	if (r < 0)
		return log_error_errno(r, "cannot run '%s': %m", argv[0]);
	if (res.exit_status != 0) {
		log_error("'%s' failed: %s", argv[0], res.err ? strstrip(res.err) : "");
		spawn_result_done(&res);
		return -EIO;
	}
	spawn_result_done(&res);
	return 0;
}

static int copy_file(const char *from, const char *to)
{
	_cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return log_error_errno(errno, "cannot open '%s': %m", from);
	_cleanup_free_ char *data = NULL;
	size_t n;
	int r = fs_read_fd(in, 64 * 1024 * 1024, &data, &n);
	if (r < 0)
		return log_error_errno(r, "cannot read '%s': %m", from);
	r = fs_write_file_atomic_at(AT_FDCWD, to, data, n, 0644);
	if (r < 0)
		return log_error_errno(r, "cannot write '%s': %m", to);
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
 * own last lines, say why better than a timeout. */
static void print_console_tail(const char *path, bool xen)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *text = NULL;
	const char *lines[CONSOLE_TAIL] = {};
	unsigned n = 0;

	if (fd < 0)
		return;
	off_t size = lseek(fd, 0, SEEK_END);
	if (size > CONSOLE_TAIL_BYTES)
		(void)lseek(fd, size - CONSOLE_TAIL_BYTES, SEEK_SET);
	else
		(void)lseek(fd, 0, SEEK_SET);
	if (fs_read_fd(fd, CONSOLE_TAIL_BYTES, &text, NULL) < 0)
		return;
	char *save = NULL;
	for (char *l = strtok_r(text, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save))
		if (xen ? xen_line(l) : strstr(l, "enlighten") != NULL)
			lines[n++ % CONSOLE_TAIL] = l;
	for (unsigned i = n > CONSOLE_TAIL ? n - CONSOLE_TAIL : 0; i < n; i++)
		fprintf(human, "  console: %s\n", lines[i % CONSOLE_TAIL]);
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
static int write_bare_bios(const char *path)
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
	return r < 0 ? log_error_errno(r, "cannot write '%s': %m", path) : 0;
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
};

static void guest_hook_run(void *userdata)
{
	struct guest_hook *h = userdata;
	const struct guest_expect e = {
		.profile = h->id->profile,
		.forced = h->forced,
		.processes = h->id->processes,
		.commands = h->id->commands,
	};
	h->r = guest_check(h->socket, &e, now_usec() + GUEST_CHECK_USEC, &h->report);
	if (h->r >= 0 && h->report.pass && h->domu_type)
		h->r = domu_run(h->socket, h->domu_type, h->plain, now_usec() + h->timeout_usec,
				&h->domu);
}

static void guest_hook_done(struct guest_hook *h)
{
	guest_report_done(&h->report);
	domu_report_done(&h->domu);
	agent_summary_done(&h->domu_summary);
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
	if (boot_identity_check(id, false, p->change, &h->domu_summary, &reason) == 0)
		return 1;
	return asprintf(why, "the %s guest: %s", h->domu_type, reason ?: "mismatch") < 0 ? -ENOMEM
											 : 0;
}

static void print_domu(const struct guest_hook *h, uint64_t usec_dom0_line)
{
	const struct domu_report *d = &h->domu;
	if (!h->domu_type || !h->report.pass)
		return;
	fprintf(human,
		"  domu:   xl create, type %s, in dom0: the image's kernel '%s' and initrd from "
		"its ESP, its disk a second overlay of the image\n",
		d->type, h->plain ? h->plain->linux_path : "?");
	if (d->line)
		fprintf(human, "  domu:   %s\n", d->line);
	for (char **l = d->console_tail; l && *l; l++)
		fprintf(human, "  domu console: %s\n", *l);
	const struct agent_summary *g = &h->domu_summary;
	if (g->profile)
		fprintf(human, "  domu:   %s, detected (hypervisor=%s role=%s), changed=%s\n",
			g->profile, g->hypervisor, g->role, g->changed ? "yes" : "no");
	if (d->line)
		fprintf(human,
			"  domu:   its line %.1f s after dom0's agent line, %.1f s after "
			"power-on; the guest %s\n",
			secs(d->usec_line), secs(usec_dom0_line + d->usec_line),
			d->stopped ?: "left running");
}

/* For a Xen guest: its disk, a second overlay of the image (kept across
 * the run's boots, as the first overlay is) with its partition table hidden
 * from dom0, and the plain entry it boots. */
static int domu_prepare(struct boot_test *t, const struct boot_identity *id, const char *dir,
			const char *overlay, struct guest_hook *h, const char **ret_disk)
{
	_cleanup_free_ char *msg = NULL;
	if (id->xen != XEN_DOMU)
		return 0;
	if (t->line_only) {
		log_error("--line-only cannot start a Xen guest: that needs dom0's guest agent");
		return -EINVAL;
	}
	if (!t->domu_disk) {
		if (asprintf(&t->domu_disk, "%s/domu.qcow2", t->workdir) < 0)
			return log_oom();
		char *create[] = { "qemu-img",	 "create", "-q",      "-f",	    "qcow2", "-b",
				   t->image_abs, "-F",	   t->format, t->domu_disk, NULL };
		if (run_quiet(create) < 0)
			return -EIO;
	}
	int r = domu_disk_hide(t->domu_disk, &msg);
	if (r >= 0)
		r = boot_entry_extract(overlay, "qcow2", dir, BOOT_ENTRY_PLAIN, &h->plain, &msg);
	if (r < 0)
		return log_error_errno(r, "cannot prepare the Xen guest's disk: %s",
				       msg ?: strerror(-r));
	h->domu_type = id->xen_type;
	h->timeout_usec = t->timeout_usec;
	*ret_disk = t->domu_disk;
	return 0;
}

static void print_guest(const struct guest_report *g)
{
	if (!g->reached) {
		fprintf(human, "  guest:  %s\n", g->problem);
		return;
	}
	fprintf(human, "  guest:  %s, kernel %s (asked through the QEMU guest agent)\n",
		g->os ?: "unknown system", g->kernel ?: "unknown");
	for (unsigned i = 0; i < g->n_items; i++)
		fprintf(human, "  %s %s: %s%s\n", g->items[i].kind, g->items[i].name,
			g->items[i].state == GUEST_FAIL ? "FAIL: " : "", g->items[i].detail);
	for (char **c = g->changes; c && *c; c++)
		fprintf(human, "  changed: %s\n", *c);
	if (g->agent_seconds >= 0)
		fprintf(human, "  agent:  ran %.2f s%s", g->agent_seconds,
			g->services_seconds >= 0 ? "" : "\n");
	if (g->agent_seconds >= 0 && g->services_seconds >= 0)
		fprintf(human, "; its services active %.1f s after it started\n",
			g->services_seconds);
	if (g->problem)
		fprintf(human, "  guest:  FAIL: %s\n", g->problem);
}

/* Options boot-test gives Xen under emulation: no scrubbing of the free
 * memory at boot (minutes under TCG), no reboot on a panic (its last lines
 * stay on the console), the first serial port as its console; and dom0's
 * console through Xen's. */
static char *const xen_add[] = { "bootscrub=false", "noreboot", "console=com1", "com1=115200,8n1",
				 NULL };
static char *const dom0_add[] = { "console=hvc0", NULL };

/* What the disk's boot loader would start now (the agent may have changed
 * it on an earlier boot): the Xen entry for a Xen identity, else the plain
 * kernel's; made the default on the overlay when it is not, as an
 * administrator would choose it. Direct boot when the profile is forced or
 * the entry has no serial console. Prints the boot's first line. */
static int boot_path(struct boot_test *t, unsigned k, const struct boot_identity *id, bool forced,
		     const char *dir, const char *overlay, struct boot_entry **ret_entry,
		     const char **ret_mode, char **ret_append)
{
	_cleanup_free_ char *msg = NULL;
	struct boot_entry *entry = NULL;
	const struct boot_identity *host = boot_identity_host(id);
	bool xen = host->xen != XEN_NONE;
	const char *mode = "firmware";
	int r = boot_entry_find(overlay, "qcow2", dir, xen ? BOOT_ENTRY_XEN : BOOT_ENTRY_PLAIN,
				forced && !xen, &entry, &msg);
	if (r < 0 && (r != -ENOENT || xen)) {
		log_error("cannot read the %sboot entry of '%s': %s", xen ? "Xen " : "", t->image,
			  msg ?: strerror(-r));
		return r;
	}
	if (r < 0 && forced) {
		log_error("cannot force profile '%s' for identity '%s': %s", id->profile, id->name,
			  msg ?: "no systemd-boot entry and no grub.cfg");
		return -ENOENT;
	}
	*ret_entry = entry;
	if (entry && (xen || (!entry->is_default && !entry->efi))) {
		r = boot_entry_make_default(overlay, dir, entry, xen ? xen_add : NULL,
					    xen ? dom0_add : NULL, &msg);
		if (r < 0) {
			log_error("cannot make '%s' the default entry of the overlay: %s",
				  entry->id, msg ?: strerror(-r));
			return r;
		}
		if (!entry->is_default)
			fprintf(human, "  note: made '%s' the default entry (loader.conf)\n",
				entry->id);
		if (xen)
			fprintf(human,
				"  note: Xen's options in '%s' with bootscrub=false noreboot "
				"console=com1, dom0's with console=hvc0 (on the overlay)\n",
				entry->xen_cfg);
	}
	if (entry && entry->kernel && !xen) {
		int serial = boot_entry_has_serial_console(entry->options);
		if (serial < 0)
			return log_oom();
		if (forced || !serial) {
			mode = "direct";
			if (asprintf(ret_append, "%s%s%s%s", entry->options,
				     serial ? "" : " console=ttyS0",
				     forced ? " enlighten.profile=" : "",
				     forced ? id->profile : "") < 0)
				return log_oom();
		}
		if (!serial)
			fprintf(human,
				"  note: loader entry '%s' has no console=ttyS0; booting its "
				"kernel directly with it added\n",
				entry->id);
	}
	*ret_mode = mode;

	fprintf(human, "boot %u/%u as %s: %s boot%s", k, t->n_plan, id->name, mode,
		t->firmware == BOOT_BIOS ? " under SeaBIOS"
		: t->secure_boot	 ? " with Secure Boot enforced"
					 : "");
	if (entry)
		fprintf(human, " of entry '%s'", entry->id);
	if (xen)
		fprintf(human, ": Xen, the image as its control domain%s%s%s",
			id->xen == XEN_DOMU ? ", then a " : "", id->xen_type ?: "",
			id->xen == XEN_DOMU ? " guest of the same image" : "");
	if (forced)
		fprintf(human, ", profile forced with enlighten.profile=%s (%s)", id->profile,
			id->why_forced);
	fprintf(human, "\n");
	fflush(human);
	return 0;
}

/* Console lines that time a Xen boot: the hypervisor's banner, and its
 * hand-off to dom0's kernel. */
static const char *const xen_milestones[] = { "(XEN) Xen version", "about to get started", NULL };

/* dom0's userspace, on the host's clock: the hand-off plus systemd's start
 * on dom0's kernel clock (which starts there). < 0: unknown. */
static double dom0_userspace(const struct qemu_result *res, const struct guest_report *g)
{
	if (!res->usec_milestone[1] || g->userspace_seconds < 0)
		return -1;
	return secs(res->usec_milestone[1]) + g->userspace_seconds;
}

static json_object *seconds_or_null(uint64_t usec)
{
	return usec ? json_double(secs(usec)) : NULL;
}

static void xen_times_json(json_object *b, const struct boot_identity *id,
			   const struct qemu_result *res, const struct guest_report *g)
{
	if (boot_identity_host(id)->xen == XEN_NONE)
		return;
	double u = dom0_userspace(res, g);
	json_object_object_add(b, "seconds_to_xen", seconds_or_null(res->usec_milestone[0]));
	json_object_object_add(b, "seconds_to_dom0_kernel",
			       seconds_or_null(res->usec_milestone[1]));
	json_object_object_add(b, "seconds_to_dom0_userspace", u >= 0 ? json_double(u) : NULL);
}

static void xen_times_print(const struct boot_identity *id, const struct qemu_result *res,
			    const struct guest_report *g)
{
	if (boot_identity_host(id)->xen == XEN_NONE || !res->usec_milestone[0])
		return;
	fprintf(human, "  xen:    Xen's banner at %.1f s", secs(res->usec_milestone[0]));
	if (res->usec_milestone[1])
		fprintf(human, ", dom0's kernel at %.1f s", secs(res->usec_milestone[1]));
	if (dom0_userspace(res, g) >= 0)
		fprintf(human, ", dom0's userspace at %.1f s (%.1f s on its own clock)",
			dom0_userspace(res, g), g->userspace_seconds);
	fprintf(human, "\n");
}

/* The boot's object in the --json output. */
static void boot_json(struct boot_test *t, unsigned k, const struct boot_plan *p, bool forced,
		      const char *mode, const struct boot_entry *entry,
		      const struct qemu_machine *mm, const struct qemu_result *rr,
		      const struct agent_summary *ss, const struct guest_hook *hk, bool pass,
		      const char *why)
{
	const struct guest_report *g = &hk->report;
	const struct boot_identity *id = p->id;
	const struct qemu_machine m = *mm;
	const struct qemu_result res = *rr;
	const struct agent_summary s = *ss;
	const char *console_log = m.console_log;
	json_object *b = json_object_new_object();
	json_object_object_add(b, "boot", json_object_new_int((int)k));
	json_object_object_add(b, "identity", json_object_new_string(id->name));
	json_object_object_add(b, "mode", json_object_new_string(mode));
	json_object_object_add(b, "firmware",
			       json_object_new_string(t->firmware == BOOT_BIOS ? "bios" : "uefi"));
	json_object_object_add(b, "secure_boot", json_object_new_boolean(t->secure_boot));
	json_object_object_add(b, "refused", json_string_or_null(res.refused));
	json_object_object_add(b, "entry", json_string_or_null(entry ? entry->id : NULL));
	json_object_object_add(b, "forced", json_object_new_boolean(forced));
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
	json_object_object_add(b, "expected", exp);
	json_object_object_add(b, "summary", json_string_or_null(res.line));
	if (s.profile) {
		json_object *seen = json_object_new_object();
		json_object_object_add(seen, "hypervisor", json_object_new_string(s.hypervisor));
		json_object_object_add(seen, "role", json_object_new_string(s.role));
		json_object_object_add(seen, "profile", json_object_new_string(s.profile));
		json_object_object_add(seen, "changed",
				       json_object_new_string(s.changed ? "yes" : "no"));
		json_object_object_add(seen, "forced", json_object_new_boolean(s.forced));
		json_object_object_add(b, "agent", seen);
	} else
		json_object_object_add(b, "agent", NULL);
	json_object_object_add(
		b, "verified",
		json_object_new_string(m.qga_socket ? "guest-agent" : "summary-line"));
	json_object_object_add(b, "guest", m.qga_socket && res.line ? guest_report_json(g) : NULL);
	json_object_object_add(b, "result", json_object_new_string(pass ? "pass" : "fail"));
	json_object_object_add(b, "reason", json_string_or_null(pass ? NULL : why));
	json_object_object_add(b, "seconds_to_summary",
			       res.line ? json_double(secs(res.usec_line)) : NULL);
	json_object_object_add(b, "seconds", json_double(secs(res.usec_total)));
	json_object_object_add(b, "shutdown",
			       json_object_new_string(qemu_shutdown_to_string(res.shutdown)));
	json_object_object_add(b, "console_log", json_object_new_string(console_log));
	json_object_array_add(t->boots, b);
	xen_times_json(b, id, &res, g);
	json_object_object_add(b, "domu", hk->domu_type ? domu_report_json(&hk->domu) : NULL);
}

/* One boot: pick the boot path, run QEMU, check the summary. Returns 1 on a
 * match, 0 on a mismatch or a guest that did not report, -errno when the
 * boot could not be run at all. */
static int boot_one(struct boot_test *t, unsigned k, const struct boot_plan *p)
{
	const struct boot_identity *id = p->id, *host = boot_identity_host(id);
	bool forced = boot_identity_forced(id, t->kvm);
	_cleanup_free_ char *dir = NULL, *console_log = NULL, *qemu_log = NULL, *overlay = NULL;
	_cleanup_free_ char *vars = NULL, *qmp = NULL, *append = NULL, *msg = NULL, *why = NULL;
	_cleanup_free_ char *qga = NULL, *smbios0 = NULL;
	struct guest_hook hook = { .id = host, .forced = forced };
	struct boot_entry *entry = NULL;
	struct qemu_result res = {};
	struct agent_summary s = {};
	const char *mode = "firmware", *domu_disk = NULL;
	int r;

	if (asprintf(&dir, "%s/boot-%u", t->workdir, k) < 0 ||
	    asprintf(&console_log, "%s/boot-%u-%s.console.log", t->logdir, k, id->name) < 0 ||
	    asprintf(&qemu_log, "%s/boot-%u-%s.qemu.log", t->logdir, k, id->name) < 0 ||
	    asprintf(&overlay, "%s/overlay.qcow2", t->workdir) < 0 ||
	    asprintf(&vars, "%s/OVMF_VARS.fd", t->workdir) < 0 ||
	    asprintf(&qmp, "%s/qmp.sock", t->workdir) < 0 ||
	    asprintf(&qga, "%s/qga.sock", t->workdir) < 0 ||
	    asprintf(&smbios0, "%s/smbios-type0.bin", t->workdir) < 0)
		return log_oom();
	if (id->bare_bios && write_bare_bios(smbios0) < 0)
		return -EIO;
	hook.socket = qga;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return log_error_errno(errno, "cannot create '%s': %m", dir);

	r = boot_path(t, k, id, forced, dir, overlay, &entry, &mode, &append);
	if (r >= 0)
		r = domu_prepare(t, id, dir, overlay, &hook, &domu_disk);
	if (r < 0)
		goto out;

	struct qemu_machine m = {
		.qemu = env_or("ENLIGHTEN_QEMU", QEMU_SYSTEM),
		.ovmf_code = t->ovmf_code,
		.ovmf_vars = vars,
		.bios = t->firmware == BOOT_BIOS ? t->seabios : NULL,
		.secure_boot = t->secure_boot,
		/* OVMF's line when Secure Boot stops a loader */
		.milestones = host->xen ? xen_milestones : NULL,
		.refusal = host->xen	    ? XEN_STOPPED
			   : t->secure_boot ? "Access Denied"
					    : NULL,
		.disk = overlay,
		.disk_format = "qcow2",
		.disk2 = domu_disk,
		.disk2_serial = DOMU_DISK_SERIAL,
		.ahci_disk = id->ahci_disk,
		.kvm = t->kvm,
		.memory_mib = host->memory_mib ?: MEMORY_MIB,
		.cpu = t->kvm ? host->cpu_kvm : host->cpu_tcg,
		.machine_extra = id->machine_extra,
		.nic_model = id->nic_model,
		.smbios = id->smbios,
		.smbios_file = id->bare_bios ? smbios0 : NULL,
		.qga_socket = id->no_guest_agent || t->line_only ? NULL : qga,
		.kernel = streq(mode, "direct") ? entry->kernel : NULL,
		.initrd = streq(mode, "direct") ? entry->initrd : NULL,
		.append = append,
		.qmp_socket = qmp,
		.console_log = console_log,
		.qemu_log = qemu_log,
	};
	/* Under KVM the firmware prints within a second; silence means KVM
	 * does not really run guests here (nested setups), see cmd_boot_test. */
	struct qemu_hook qh = { .after_line = guest_hook_run, .userdata = &hook };
	r = qemu_run(&m, MARKER, t->timeout_usec, t->kvm ? SILENCE_USEC : 0, GRACE_USEC,
		     m.qga_socket ? &qh : NULL, &res);
	if (hook.r < 0) {
		log_error_errno(hook.r, "cannot check the guest: %m");
		r = hook.r;
		goto out;
	}
	if (r == -ENOENT) {
		log_error("'%s' not found; install the qemu-system-x86 package", m.qemu);
		goto out;
	}
	if (r < 0) {
		log_error_errno(r, "cannot run '%s': %m", m.qemu);
		goto out;
	}

	/* A guest that printed nothing at all never ran, so the overlay is as
	 * it was: this boot can be done again under TCG. */
	if (t->kvm && t->kvm_fallback && !res.line && res.console_bytes == 0 &&
	    (res.silent || res.exit_status != 0)) {
		free(t->kvm_reason);
		t->kvm_reason = read_first_line(qemu_log);
		r = -EAGAIN;
		goto out;
	}

	bool pass = false;
	if (res.interrupted)
		why = strdup("interrupted");
	else if (res.refused && host->xen)
		r = asprintf(&why, "Xen stopped: %s", strstrip(res.refused)) < 0 ? -ENOMEM : 0;
	else if (res.refused)
		r = asprintf(&why,
			     "the firmware refused to start the loader under Secure Boot: '%s'",
			     strstrip(res.refused)) < 0
			    ? -ENOMEM
			    : 0;
	else if (!res.line && res.timed_out)
		r = asprintf(&why, "no agent summary line within %llu s",
			     (unsigned long long)(t->timeout_usec / 1000000)) < 0
			    ? -ENOMEM
			    : 0;
	else if (!res.line)
		r = asprintf(&why,
			     "the guest stopped (QEMU exit %d) before the agent's summary line",
			     res.exit_status) < 0
			    ? -ENOMEM
			    : 0;
	else if (agent_summary_parse(res.line, &s) < 0)
		r = asprintf(&why, "malformed summary line '%s'", res.line) < 0 ? -ENOMEM : 0;
	else
		pass = boot_identity_check(host, forced, p->change, &s, &why) == 0;
	if (pass && m.qga_socket && (r = hook_verdict(&hook, id, p, &why)) <= 0)
		pass = false;
	if (!pass && !why)
		why = strdup("failed");

	{
		if (res.line)
			fprintf(human, "  agent:  %s\n", res.line);
		if (res.line && m.qga_socket)
			print_guest(&hook.report), print_domu(&hook, res.usec_line);
		else if (res.line && t->line_only)
			fprintf(human, "  guest:  not asked (--line-only): the summary line is all "
				       "that was checked\n");
		else if (res.line)
			fprintf(human,
				"  guest:  not asked: no QEMU guest agent on this identity (%s); "
				"the summary line is all that was checked\n",
				id->no_guest_agent);
		if (pass && forced)
			fprintf(human,
				"  result: PASS: %s activated (FORCED on the kernel command line; "
				"the "
				"detector itself saw hypervisor=%s role=%s), changed=%s\n",
				s.profile, s.hypervisor, s.role, s.changed ? "yes" : "no");
		else if (pass)
			fprintf(human,
				"  result: PASS: %s activated, detected (hypervisor=%s role=%s), "
				"changed=%s\n",
				s.profile, s.hypervisor, s.role, s.changed ? "yes" : "no");
		else
			fprintf(human, "  result: FAIL: %s\n", why);
		if (!res.line && (!res.refused || host->xen))
			print_console_tail(console_log, host->xen != XEN_NONE);
		if (res.line)
			fprintf(human,
				"  time:   %.1f s to the agent's line, %.1f s in all; shutdown: "
				"%s\n",
				secs(res.usec_line), secs(res.usec_total),
				qemu_shutdown_to_string(res.shutdown));
		else
			fprintf(human, "  time:   no agent line; %.1f s in all; shutdown: %s\n",
				secs(res.usec_total), qemu_shutdown_to_string(res.shutdown));
		xen_times_print(id, &res, &hook.report);
		fflush(human);
	}

	boot_json(t, k, p, forced, mode, entry, &m, &res, &s, &hook, pass, why);

	r = pass ? 1 : 0;
	if (res.interrupted)
		r = -EINTR;
out:
	guest_hook_done(&hook);
	boot_entry_free(entry);
	agent_summary_done(&s);
	qemu_result_done(&res);
	if (dir)
		(void)fs_rm_rf(dir);
	return r;
}

static void boot_test_free(struct boot_test *t)
{
	free(t->domu_disk);
	free(t->workdir);
	free(t->image_abs);
	free(t->format);
	free(t->kvm_reason);
}

int boot_test_run(const struct boot_test_options *opts)
{
	struct boot_test t = {
		.image = opts->image,
		.json = opts->json,
		.line_only = opts->line_only,
		.timeout_usec = opts->timeout_usec,
		.plan = opts->plan,
		.n_plan = opts->n_plan,
	};
	const char *keep_log = opts->keep_log;
	enum accel_mode accel = opts->accel;
	int r;

	human = t.json ? stderr : stdout;
	/* a closed stdout (| head) must not kill us with QEMU still running */
	signal(SIGPIPE, SIG_IGN);

	struct stat st;
	if (stat(t.image, &st) < 0)
		return log_error_errno(errno, "cannot open image '%s': %m", t.image), -EINVAL;
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		log_error("image '%s' is not a file", t.image);
		return -EINVAL;
	}
	if (keep_log) {
		/* the user's own directory: relative to the working directory,
		 * or absolute (made beneath "/") */
		_cleanup_close_ int top = -EBADF;
		if (keep_log[0] == '/' && (top = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			return log_error_errno(errno, "cannot open '/': %m"), -EINVAL;
		r = keep_log[0] == '/' && !keep_log[strspn(keep_log, "/")]
			    ? 0
			    : fs_mkdir_p_at(top >= 0 ? top : AT_FDCWD,
					    keep_log + strspn(keep_log, "/"), 0755);
		if (r < 0)
			return log_error_errno(r, "cannot create '%s': %m", keep_log), -EINVAL;
	}
	t.secure_boot = opts->secure_boot;
	const char *ovmf_code = t.secure_boot ? env_or("ENLIGHTEN_OVMF_SB_CODE", OVMF_CODE_SB)
					      : env_or("ENLIGHTEN_OVMF_CODE", OVMF_CODE);
	const char *ovmf_vars = t.secure_boot ? env_or("ENLIGHTEN_OVMF_SB_VARS", OVMF_VARS_SB)
					      : env_or("ENLIGHTEN_OVMF_VARS", OVMF_VARS);
	t.ovmf_code = ovmf_code;
	t.firmware = opts->firmware;
	t.seabios = env_or("ENLIGHTEN_SEABIOS", SEABIOS);
	if (t.firmware == BOOT_BIOS && access(t.seabios, R_OK) < 0) {
		log_error("SeaBIOS firmware '%s' not found; install the seabios package",
			  t.seabios);
		return -EINVAL;
	}
	if (t.firmware == BOOT_UEFI &&
	    (access(ovmf_code, R_OK) < 0 || access(ovmf_vars, R_OK) < 0)) {
		log_error("OVMF firmware '%s' not found; install the ovmf package",
			  access(ovmf_code, R_OK) < 0 ? ovmf_code : ovmf_vars);
		return -EINVAL;
	}

	/* The accelerator: KVM only when it really works. */
	const char *kvm_dev = env_or("ENLIGHTEN_KVM_DEVICE", "/dev/kvm");
	if (accel == ACCEL_TCG) {
		t.kvm = false;
		t.kvm_reason = strdup("--accel tcg");
	} else {
		r = kvm_probe(kvm_dev, &t.kvm_reason);
		t.kvm = r >= 0;
		if (!t.kvm && accel == ACCEL_KVM) {
			log_error("KVM is not usable: %s", t.kvm_reason ?: strerror(-r));
			free(t.kvm_reason);
			return -EINVAL;
		}
	}

	int ret = -EINVAL;
	_cleanup_free_ char *overlay = NULL, *vars = NULL, *backing = NULL, *b_opt = NULL;
	t.image_abs = realpath(t.image, NULL);
	if (!t.image_abs) {
		log_error_errno(errno, "cannot resolve '%s': %m", t.image);
		goto finish;
	}
	if (image_format(t.image_abs, &t.format) < 0)
		goto finish;

	const char *tmp = env_or("TMPDIR", "/tmp");
	if (asprintf(&t.workdir, "%s/enlighten-boot-test.XXXXXX", tmp) < 0) {
		log_oom();
		goto finish;
	}
	if (!mkdtemp(t.workdir)) {
		log_error_errno(errno, "cannot create a directory in '%s': %m", tmp);
		free(t.workdir);
		t.workdir = NULL;
		goto finish;
	}
	t.logdir = keep_log ?: t.workdir;
	if (asprintf(&overlay, "%s/overlay.qcow2", t.workdir) < 0 ||
	    asprintf(&vars, "%s/OVMF_VARS.fd", t.workdir) < 0) {
		log_oom();
		goto finish;
	}
	char *create[] = { "qemu-img",	"create", "-q",	    "-f",    "qcow2", "-b",
			   t.image_abs, "-F",	  t.format, overlay, NULL };
	if (run_quiet(create) < 0 || (t.firmware == BOOT_UEFI && copy_file(ovmf_vars, vars) < 0))
		goto finish;
	t.kvm_fallback = t.kvm && accel == ACCEL_AUTO;

	{
		fprintf(human, "boot-test: image '%s' (%s) on a copy-on-write overlay; ", t.image,
			t.format);
		if (t.kvm)
			fprintf(human, "accelerator kvm\n");
		else
			fprintf(human, "accelerator tcg (%s)\n", t.kvm_reason ?: "KVM not usable");
		fflush(human);
	}

	t.boots = json_object_new_array();
	uint64_t start = now_usec();
	bool failed = false, interrupted = false;
	for (unsigned k = 0; k < t.n_plan; k++) {
		r = boot_one(&t, k + 1, &t.plan[k]);
		if (r == -EAGAIN) {
			/* KVM opens but does not run this guest (nested setups, hv-*
			 * flags the host lacks): this boot and the rest go to TCG. */
			log_warning("%s; booting again with TCG", t.kvm_reason);
			t.kvm = t.kvm_fallback = false;
			k--;
			continue;
		}
		if (r == -EINTR) {
			interrupted = true;
			failed = true;
			break;
		}
		if (r < 0)
			goto finish;
		if (r == 0) {
			failed = true;
			break; /* later boots build on this one */
		}
		t.passed++;
	}
	uint64_t total = now_usec() - start;
	ret = failed ? 0 : 1;

	if (t.json) {
		_cleanup_json_ json_object *o = json_object_new_object();
		json_object_object_add(o, "image", json_object_new_string(t.image));
		json_object_object_add(o, "format", json_object_new_string(t.format));
		json_object_object_add(
			o, "firmware",
			json_object_new_string(t.firmware == BOOT_BIOS ? "bios" : "uefi"));
		json_object_object_add(o, "accelerator",
				       json_object_new_string(t.kvm ? "kvm" : "tcg"));
		json_object_object_add(o, "why_not_kvm",
				       json_string_or_null(t.kvm ? NULL : t.kvm_reason));
		json_object_object_add(o, "result",
				       json_object_new_string(failed ? "fail" : "pass"));
		json_object_object_add(o, "boots_planned", json_object_new_int((int)t.n_plan));
		json_object_object_add(o, "boots_passed", json_object_new_int((int)t.passed));
		json_object_object_add(o, "seconds", json_double(secs(total)));
		json_object_object_add(o, "log_dir",
				       json_string_or_null(failed || keep_log ? t.logdir : NULL));
		json_object_object_add(o, "boots", json_object_get(t.boots));
		json_write_fd(STDOUT_FILENO, o, true);
	}
	{
		fprintf(human, "boot-test: %s, %u of %u boots matched, %.1f s\n",
			failed ? "FAIL" : "PASS", t.passed, t.n_plan, secs(total));
		if (failed || keep_log)
			fprintf(human, "boot-test: console logs kept in %s\n", t.logdir);
	}
	if (interrupted)
		ret = -EINTR;

finish:
	if (t.workdir) {
		if ((ret == 0 || ret == -EINTR) && !keep_log) {
			/* keep the logs, drop the disk */
			(void)unlink(overlay);
			(void)unlink(vars);
			if (t.domu_disk)
				(void)unlink(t.domu_disk);
			_cleanup_free_ char *sock = strjoin(t.workdir, "/qmp.sock");
			if (sock)
				(void)unlink(sock);
		} else
			(void)fs_rm_rf(t.workdir);
	}
	json_object_put(t.boots);
	boot_test_free(&t);
	return ret;
}
