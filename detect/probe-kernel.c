/* SPDX-License-Identifier: MIT */
/*
 * probe-kernel.c - what the running kernel says: its release string (WSL1
 * says "Microsoft", a WSL2 kernel "microsoft"), /proc/cpuinfo (the
 * "hypervisor" flag of x86, User-Mode Linux's vendor_id, POWER's
 * "platform : pSeries" and QEMU's model), /proc/ppc64/lparcfg and, on s390,
 * /proc/sysinfo (z/VM, KVM, or a logical partition of its own).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "detect/probe.h"

#define CPUINFO_HEAD 16384 /* the first processor's block and the machine lines */

/* True when the line starting at p (up to a newline) has the word. */
static bool line_has_word(const char *p, const char *word)
{
	size_t wl = strlen(word);
	const char *end = strchrnul(p, '\n');

	for (const char *q = p; q + wl <= end; q++)
		if (memcmp(q, word, wl) == 0 && (q == p || q[-1] == ' ' || q[-1] == '\t') &&
		    (q + wl == end || q[wl] == ' ' || q[wl] == '\t'))
			return true;
	return false;
}

/* Reads a procfs text file's head; false when absent or junk. */
static bool read_text(struct probe_ctx *ctx, const char *path, char **ret)
{
	size_t n;
	if (probe_read_head(ctx, "kernel", path, CPUINFO_HEAD, ret, &n) < 0)
		return false;
	if (memchr(*ret, '\0', n)) {
		evidence_add(ctx, "kernel", "'%s': binary junk, not text, ignored", path);
		return false;
	}
	return true;
}

static void osrelease(struct probe_ctx *ctx)
{
	struct signals *s = ctx->sig;
	_cleanup_free_ char *release = NULL;

	if (probe_read_value(ctx, "kernel", "proc/sys/kernel/osrelease", &release) < 0)
		return;
	_cleanup_free_ char *shown = value_show(release, strlen(release));
	/* Microsoft/WSL#423 and #4071: WSL1 reports "...-Microsoft", WSL2
	 * kernels "...-microsoft-standard[-WSL2]". */
	s->wsl1 = strstr(release, "Microsoft");
	s->wsl2 = !s->wsl1 && strstr(release, "microsoft");
	evidence_add(ctx, "kernel", "osrelease '%s'%s", shown ? shown : "",
		     s->wsl1   ? ": WSL1, Linux system calls served by Windows, no Linux kernel"
		     : s->wsl2 ? ": a WSL2 kernel, a Hyper-V guest"
			       : "");
}

static void cpuinfo(struct probe_ctx *ctx)
{
	struct signals *s = ctx->sig;
	_cleanup_free_ char *buf = NULL;
	char v[128];

	if (!read_text(ctx, "proc/cpuinfo", &buf))
		return;
	for (const char *p = buf; *p; p = strchr(p, '\n'), p = p ? p + 1 : "")
		if (startswith(p, "flags") && p[5 + strspn(p + 5, " \t")] == ':') {
			s->cpuinfo_hv_flag = line_has_word(p, "hypervisor");
			evidence_add(ctx, "kernel", "cpuinfo flags: hypervisor %s",
				     s->cpuinfo_hv_flag ? "set" : "clear");
			break;
		}
	if (value_proc_field(buf, "vendor_id", ':', v, sizeof(v)) &&
	    startswith(v, "User Mode Linux")) {
		s->uml = true;
		evidence_add(ctx, "kernel", "cpuinfo vendor_id 'User Mode Linux': uml");
	}
	/* POWER: "platform : pSeries" is a logical partition, of PowerVM or of
	 * QEMU/KVM, whose machine model says "emulated by qemu"; "PowerNV" is
	 * the bare machine (OPAL). */
	if (!value_proc_field(buf, "platform", ':', v, sizeof(v)) || !streq(v, "pSeries"))
		return;
	if (value_proc_field(buf, "model", ':', v, sizeof(v)) && strstr(v, "emulated by qemu")) {
		s->platform_hv = HV_QEMU;
		evidence_add(ctx, "kernel", "cpuinfo platform 'pSeries', model emulated by qemu");
		return;
	}
	s->platform_hv = HV_POWERVM;
	evidence_add(ctx, "kernel", "cpuinfo platform 'pSeries': a PowerVM logical partition");
	_cleanup_free_ char *lpar = NULL;
	if (read_text(ctx, "proc/ppc64/lparcfg", &lpar) &&
	    value_proc_field(lpar, "shared_processor_mode", '=', v, sizeof(v)))
		evidence_add(ctx, "kernel", "lparcfg shared_processor_mode %s (%s processors)", v,
			     streq(v, "1") ? "shared" : "dedicated");
}

/* s390: "VM00 Control Program: z/VM 7.3.0" under z/VM, "KVM/Linux" under
 * KVM; a logical partition without a VM00 level runs on PR/SM alone. */
static void sysinfo(struct probe_ctx *ctx)
{
	struct signals *s = ctx->sig;
	_cleanup_free_ char *buf = NULL;
	char v[128];

	if (!read_text(ctx, "proc/sysinfo", &buf))
		return;
	if (value_proc_field(buf, "VM00 Control Program", ':', v, sizeof(v))) {
		_cleanup_free_ char *shown = value_show(v, strlen(v));
		s->platform_hv = startswith(v, "z/VM")	      ? HV_ZVM
				 : startswith(v, "KVM/Linux") ? HV_KVM
							      : HV_VM_OTHER;
		evidence_add(ctx, "kernel", "sysinfo control program '%s': %s", shown ? shown : "",
			     hypervisor_to_string(s->platform_hv));
	} else if (value_proc_field(buf, "LPAR Number", ':', v, sizeof(v))) {
		s->platform_hv = HV_PRSM;
		evidence_add(ctx, "kernel", "sysinfo LPAR %s without a VM level: prsm", v);
	}
}

static void run(struct probe_ctx *ctx)
{
	osrelease(ctx);
	cpuinfo(ctx);
	sysinfo(ctx);
}

const struct probe probe_kernel = { .name = "kernel", .run = run };
