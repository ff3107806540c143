/* SPDX-License-Identifier: MIT */
/*
 * report.c - boot-test's report for people (see report.h), written to the
 * stream the verb chose. The live stage line is drawn at most five times a
 * second, cleared before any other line, and only on a terminal.
 */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "builder/boot-test/report.h"
#include "lib/basic/log.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

#define REDRAW_USEC 200000ULL

static double secs(uint64_t usec)
{
	return (double)usec / 1e6;
}

void boot_test_view_init(struct boot_test_view *v, FILE *out, bool live, bool verbose)
{
	struct winsize ws = {};
	*v = (struct boot_test_view){ .out = out, .live = live, .verbose = verbose, .shown = -1 };
	v->columns = live && ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40 ? ws.ws_col
											 : 80;
}

/* Clears the live line, so that a line of the report takes its place. */
static void view_clear(struct boot_test_view *v)
{
	if (!v->drawn)
		return;
	fputs("\r\033[K", v->out);
	v->drawn = false;
}

void boot_stage_line(const struct stage_tracker *st, uint64_t usec, char *buf, size_t size)
{
	unsigned n = stage_tracker_n_tail(st);
	const char *last = n ? stage_tracker_tail(st, n - 1) : "";
	int k = snprintf(buf, size, "  %6.1f s  %s", secs(usec), boot_stage_label(st->stage));
	if (k < 0 || (size_t)k >= size)
		return;
	if (st->stage != STAGE_FIRMWARE)
		k += snprintf(buf + k, size - (size_t)k, " (%.1f s)",
			      secs(usec - st->usec[st->stage]));
	if (k > 0 && (size_t)k < size && *last)
		snprintf(buf + k, size - (size_t)k, ": %s", last);
}

static void on_started(void *userdata, const struct boot_test_info *info)
{
	struct boot_test_view *v = userdata;
	if (info->installer)
		fprintf(v->out,
			"boot-test: installer medium '%s' (an ISO with an image and its map), "
			"booted first; ",
			info->image);
	else
		fprintf(v->out, "boot-test: image '%s' (%s) on a copy-on-write overlay; ",
			info->image, info->format);
	if (info->kvm)
		fprintf(v->out, "accelerator kvm\n");
	else
		fprintf(v->out, "accelerator tcg (%s)\n", info->why_not_kvm ?: "KVM not usable");
	fflush(v->out);
}

static void on_boot_start(void *userdata, const struct boot_start *b)
{
	struct boot_test_view *v = userdata;
	const struct boot_identity *id = b->id;
	FILE *f = v->out;

	view_clear(v);
	v->shown = -1;
	fprintf(f, "boot %u/%u as %s: %s boot%s", b->k, b->n, id->name, b->mode,
		b->firmware == BOOT_BIOS ? " under SeaBIOS"
		: b->secure_boot	 ? " with Secure Boot enforced"
					 : "");
	if (b->entry_id)
		fprintf(f, " of entry '%s'", b->entry_id);
	if (b->xen)
		fprintf(f, ": Xen, the image as its control domain%s%s%s",
			id->xen == XEN_DOMU ? " (on an overlay of its own), then this disk as "
					    : "",
			id->xen != XEN_DOMU	     ? ""
			: streq(id->xen_type, "hvm") ? "an HVM"
			: streq(id->xen_type, "pvh") ? "a PVH"
						     : "a PV",
			id->xen == XEN_DOMU ? " guest in it" : "");
	if (b->forced)
		fprintf(f, ", profile forced with enlighten.profile=%s (%s)", id->profile,
			id->why_forced);
	fprintf(f, "\n");
	STRV_FOREACH(n, b->notes)
	fprintf(f, "  note:   %s\n", *n);
	fflush(f);
}

static void on_progress(void *userdata, const struct boot_start *b _unused_,
			const struct stage_tracker *st, uint64_t usec)
{
	struct boot_test_view *v = userdata;
	if (v->verbose && (int)st->stage != v->shown) {
		/* each stage reached since the last one printed, in order */
		view_clear(v);
		for (int s = v->shown + 1; s <= (int)st->stage; s++)
			if (st->reached[s])
				fprintf(v->out, "  stage:  %-18s at %6.1f s%s%s\n",
					boot_stage_label((enum boot_stage)s), secs(st->usec[s]),
					st->what[s][0] ? ": " : "", st->what[s]);
		v->shown = (int)st->stage;
		fflush(v->out);
	}
	if (!v->live || (v->drawn && usec - v->drawn_at < REDRAW_USEC && usec >= v->drawn_at))
		return;
	char line[512];
	boot_stage_line(st, usec, line, MIN(sizeof(line), (size_t)v->columns));
	fprintf(v->out, "\r\033[K%s", line);
	fflush(v->out);
	v->drawn = true;
	v->drawn_at = usec;
}

/* What report.json says the agent did, when it is this boot's. */
static void print_changes(FILE *f, const char *prefix, const struct guest_report *g,
			  const struct agent_summary *s)
{
	if (!s->profile)
		return;
	if (!s->changed) {
		fprintf(f, "  %schanges: none (changed=no; report.json is an earlier run's)\n",
			prefix);
		return;
	}
	if (!g->report_result) {
		fprintf(f, "  %schanges: report.json not found, though the line says changed=yes\n",
			prefix);
		return;
	}
	fprintf(f, "  %schanges: %u in report.json (%s%s%s%s%s%s):\n", prefix,
		(unsigned)strv_length(g->changes), g->report_result,
		g->report_previous ? ", from profile " : "", g->report_previous ?: "",
		g->reboot_needed ? ", reboot needed" : "", g->report_finished ? ", finished " : "",
		g->report_finished ?: "");
	STRV_FOREACH(c, g->changes)
	fprintf(f, "  %schanged: %s\n", prefix, *c);
	STRV_FOREACH(e, g->report_errors)
	fprintf(f, "  %schanges: error: %s\n", prefix, *e);
}

/* Without the guest agent, report.json cannot be read: what the agent
 * itself printed on the console is what there is. */
static void print_console_changes(FILE *f, const struct boot_outcome *o)
{
	if (!o->console_notes) {
		fprintf(f, "  changes: not read (no guest agent), and the console has no line of "
			   "the agent's but its summary\n");
		return;
	}
	fprintf(f, "  changes: not read (no guest agent); the agent's lines on the console:\n");
	STRV_FOREACH(n, o->console_notes)
	fprintf(f, "  console: %s\n", *n);
}

static void print_items(FILE *f, const char *prefix, const struct guest_report *g)
{
	for (unsigned i = 0; i < g->n_items; i++)
		fprintf(f, "  %s%s %s: %s%s\n", prefix, g->items[i].kind, g->items[i].name,
			g->items[i].state == GUEST_FAIL ? "FAIL: " : "", g->items[i].detail);
}

static void print_guest(FILE *f, const struct guest_report *g, const struct agent_summary *s)
{
	if (!g->reached) {
		fprintf(f, "  guest:  %s\n", g->problem);
		return;
	}
	if (g->from_disk)
		fprintf(f,
			"  guest:  %s, read from its disk after it powered off (no QEMU guest "
			"agent on this identity)\n",
			g->os ?: "unknown system");
	else
		fprintf(f, "  guest:  %s, kernel %s (asked through the QEMU guest agent)\n",
			g->os ?: "unknown system", g->kernel ?: "unknown");
	print_items(f, "", g);
	print_changes(f, "", g, s);
	if (g->agent_seconds >= 0)
		fprintf(f, "  agent:  ran %.2f s%s", g->agent_seconds,
			g->services_seconds >= 0 ? "" : "\n");
	if (g->agent_seconds >= 0 && g->services_seconds >= 0)
		fprintf(f, "; its services active %.1f s after it started\n", g->services_seconds);
	if (g->problem)
		fprintf(f, "  guest:  FAIL: %s\n", g->problem);
}

static void print_domu(FILE *f, const struct boot_outcome *o)
{
	const struct domu_report *d = o->domu;
	if (!o->domu_type || !o->guest || !o->guest->pass)
		return;
	if (streq(d->type, "hvm"))
		fprintf(f,
			"  domu:   xl create, type hvm, in dom0: the run's disk (dom0 on another "
			"overlay) booted by hvmloader and SeaBIOS from its MBR, its serial "
			"console through the device model\n");
	else
		fprintf(f,
			"  domu:   xl create, type %s, in dom0: the kernel '%s', initrd and "
			"command "
			"line of the entry '%s' of its disk, the run's disk (dom0 on another "
			"overlay)\n",
			d->type, o->domu_kernel ?: "?", o->domu_entry ?: "?");
	if (d->line)
		fprintf(f, "  domu:   %s\n", d->line);
	for (char **l = d->console_tail; l && *l; l++)
		fprintf(f, "  domu console: %s\n", *l);
	const struct agent_summary *g = o->domu_summary;
	if (g->profile)
		fprintf(f, "  domu:   %s, detected (hypervisor=%s role=%s), changed=%s\n",
			g->profile, g->hypervisor, g->role, g->changed ? "yes" : "no");
	if (d->line)
		fprintf(f,
			"  domu:   its line %.1f s after dom0's agent line, %.1f s after "
			"power-on; the guest %s\n",
			secs(d->usec_line), secs(d->usec_power_on), d->stopped ?: "left running");
	const struct guest_report *dd = o->domu_disk;
	if (!dd || !g->profile)
		return;
	fprintf(f, "  domu:   its disk read after the run: %s\n", dd->os ?: "unknown system");
	print_items(f, "domu ", dd);
	print_changes(f, "domu ", dd, g);
	if (dd->problem)
		fprintf(f, "  domu:   FAIL: %s\n", dd->problem);
}

static void print_verdict(FILE *f, const struct boot_outcome *o)
{
	const struct agent_summary *s = o->summary;
	if (o->pass && o->forced)
		fprintf(f,
			"  result: PASS: %s activated (FORCED on the kernel command line; the "
			"detector itself saw hypervisor=%s role=%s), changed=%s\n",
			s->profile, s->hypervisor, s->role, s->changed ? "yes" : "no");
	else if (o->pass)
		fprintf(f,
			"  result: PASS: %s activated, detected (hypervisor=%s role=%s), "
			"changed=%s\n",
			s->profile, s->hypervisor, s->role, s->changed ? "yes" : "no");
	else
		fprintf(f, "  result: FAIL: %s\n", o->why);
}

/* A boot that did not report: how far it came, and the console's end. */
static void print_stopped(FILE *f, const struct boot_outcome *o)
{
	const struct stage_tracker *st = o->stages;
	enum boot_stage s = st->stage;
	if (o->qemu->line)
		return;
	fprintf(f, "  reached: %s, at %.1f s", boot_stage_label(s), secs(st->usec[s]));
	if (st->what[s][0])
		fprintf(f, ": %s", st->what[s]);
	fprintf(f, "\n");
	if (st->trouble[0])
		fprintf(f, "  stopped: %s\n", st->trouble);
	STRV_FOREACH(n, o->console_notes)
	fprintf(f, "  console: %s\n", *n);
	unsigned n = stage_tracker_n_tail(st);
	for (unsigned i = 0; i < n; i++) {
		const char *l = stage_tracker_tail(st, i);
		if (!strv_contains(o->console_notes, l))
			fprintf(f, "  last:   %s\n", l);
	}
}

static void print_stages(FILE *f, const struct stage_tracker *st)
{
	fprintf(f, "  stages:");
	for (enum boot_stage s = 0; s < _STAGE_MAX; s++)
		if (st->reached[s])
			fprintf(f, "%s %s %.1f s", s ? "," : "", boot_stage_label(s),
				secs(st->usec[s]));
	fprintf(f, "\n");
}

static void print_times(FILE *f, const struct boot_outcome *o)
{
	const struct qemu_result *res = o->qemu;
	const struct stage_tracker *st = o->stages;
	print_stages(f, st);
	if (res->line)
		fprintf(f, "  time:   %.1f s to the agent's line, %.1f s in all; shutdown: %s\n",
			secs(res->usec_line), secs(res->usec_total),
			qemu_shutdown_to_string(res->shutdown));
	else
		fprintf(f, "  time:   no agent line; %.1f s in all; shutdown: %s\n",
			secs(res->usec_total), qemu_shutdown_to_string(res->shutdown));
	if (o->host->xen == XEN_NONE || !st->reached[STAGE_XEN])
		return;
	fprintf(f, "  xen:    Xen's banner at %.1f s", secs(st->usec[STAGE_XEN]));
	if (st->reached[STAGE_KERNEL])
		fprintf(f, ", dom0's kernel at %.1f s", secs(st->usec[STAGE_KERNEL]));
	if (st->reached[STAGE_KERNEL] && o->guest && o->guest->userspace_seconds >= 0)
		fprintf(f, ", dom0's userspace at %.1f s (%.1f s on its own clock)",
			secs(st->usec[STAGE_KERNEL]) + o->guest->userspace_seconds,
			o->guest->userspace_seconds);
	fprintf(f, "\n");
}

static void on_boot_done(void *userdata, const struct boot_outcome *o)
{
	struct boot_test_view *v = userdata;
	FILE *f = v->out;
	const struct qemu_result *res = o->qemu;

	view_clear(v);
	if (res->line)
		fprintf(f, "  agent:  %s\n", res->line);
	if (res->line && o->guest) {
		print_guest(f, o->guest, o->summary);
		print_domu(f, o);
	} else if (res->line && o->not_asked && streq(o->not_asked, "--line-only"))
		fprintf(f, "  guest:  not asked (--line-only): the summary line is all that was "
			   "checked\n");
	else if (res->line)
		fprintf(f,
			"  guest:  not asked: no QEMU guest agent on this identity (%s); the "
			"summary line is all that was checked\n",
			o->not_asked);
	if (res->line && !o->guest)
		print_console_changes(f, o);
	print_verdict(f, o);
	print_stopped(f, o);
	print_times(f, o);
	fflush(f);
}

static void on_installer_start(void *userdata, const struct installer_boot *ib)
{
	struct boot_test_view *v = userdata;
	view_clear(v);
	fprintf(v->out,
		"installer: '%s' booted as a %s under %s, with an empty disk (serial %s) and one "
		"holding data (serial %s)\n",
		ib->medium, ib->cd ? "CD" : "USB stick (a writable disk)",
		ib->m.bios ? "SeaBIOS" : "UEFI", INSTALLER_TARGET_SERIAL, INSTALLER_DATA_SERIAL);
	fflush(v->out);
}

static void on_installer_done(void *userdata, const struct installer_boot *ib,
			      const struct installer_outcome *o)
{
	struct boot_test_view *v = userdata;
	FILE *f = v->out;
	view_clear(v);
	if (o->picked)
		fprintf(f, "  %s\n", o->picked);
	if (o->report)
		fprintf(f, "  report: %s\n", o->report);
	if (o->medium_report)
		fprintf(f, "  report: %s\n", o->medium_report);
	STRV_FOREACH(n, o->notes)
	fprintf(f, "  console: %s\n", *n);
	fprintf(f, "  data disk: %s\n",
		o->data_untouched ? "untouched (the same SHA-256 before and after)" : "CHANGED");
	if (o->pass)
		fprintf(f,
			"  result: PASS: deployed and verified %.1f s after power-on, off after "
			"%.1f s (%s)\n",
			secs(o->res.usec_line), secs(o->res.usec_total),
			qemu_shutdown_to_string(o->res.shutdown));
	else
		fprintf(f, "  result: FAIL: %s (%.1f s; timeout %llu s)\n", o->why,
			secs(o->res.usec_total), (unsigned long long)(ib->timeout_usec / 1000000));
	fflush(f);
}

static void on_warning(void *userdata, const char *text)
{
	struct boot_test_view *v = userdata;
	view_clear(v);
	fflush(v->out);
	log_warning("%s", text);
}

struct boot_test_report boot_test_view_report(struct boot_test_view *v)
{
	return (struct boot_test_report){
		.started = on_started,
		.boot_start = on_boot_start,
		.installer_start = on_installer_start,
		.installer_done = on_installer_done,
		.progress = on_progress,
		.boot_done = on_boot_done,
		.warning = on_warning,
		.userdata = v,
	};
}

void boot_test_view_result(struct boot_test_view *v, const struct boot_test_result *r)
{
	view_clear(v);
	fprintf(v->out, "boot-test: %s, %u of %u boots matched, %.1f s\n",
		r->pass ? "PASS" : "FAIL", r->passed, r->planned, secs(r->usec));
	if (r->log_dir)
		fprintf(v->out, "boot-test: console logs kept in %s\n", r->log_dir);
	fflush(v->out);
}
