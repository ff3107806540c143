/* SPDX-License-Identifier: MIT */
/*
 * probe-kernel.c - what the running kernel says: its release string (WSL2
 * kernels carry "microsoft-standard-WSL2"), the "hypervisor" CPU flag of
 * /proc/cpuinfo (the same bit as CPUID, but readable in a fixture tree and
 * from a root without CPUID), and /proc/sysinfo on s390 (z/VM, KVM).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "detect/probe.h"

#define CPUINFO_HEAD 16384 /* the first processor's block is enough */

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

static const struct {
	const char *text;
	enum hypervisor hv;
} sysinfo_programs[] = {
	{ "z/VM", HV_ZVM },
	{ "KVM/Linux", HV_KVM },
};

static void run(struct probe_ctx *ctx)
{
	struct signals *s = ctx->sig;
	_cleanup_free_ char *release = NULL, *cpuinfo = NULL, *sysinfo = NULL;
	size_t n;

	if (probe_read_value(ctx, "kernel", "proc/sys/kernel/osrelease", &release) >= 0) {
		_cleanup_free_ char *shown = value_show(release, strlen(release));
		s->wsl = strcasestr(release, "microsoft") || strstr(release, "WSL");
		evidence_add(ctx, "kernel", "osrelease '%s'%s", shown ? shown : "",
			     s->wsl ? ": a WSL2 kernel, a Hyper-V guest" : "");
	}

	if (probe_read_head(ctx, "kernel", "proc/cpuinfo", CPUINFO_HEAD, &cpuinfo, &n) >= 0) {
		if (memchr(cpuinfo, '\0', n))
			evidence_add(ctx, "kernel",
				     "'proc/cpuinfo': binary junk, not text, ignored");
		else
			for (const char *p = cpuinfo; p && *p;
			     p = strchr(p, '\n'), p = p ? p + 1 : p)
				if (startswith(p, "flags")) {
					s->cpuinfo_hv_flag = line_has_word(p, "hypervisor");
					evidence_add(ctx, "kernel", "cpuinfo flags: hypervisor %s",
						     s->cpuinfo_hv_flag ? "set" : "clear");
					break;
				}
	}

	if (probe_read_head(ctx, "kernel", "proc/sysinfo", CPUINFO_HEAD, &sysinfo, &n) >= 0 &&
	    !memchr(sysinfo, '\0', n)) {
		for (const char *p = sysinfo; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p) {
			if (!startswith(p, "VM00 Control Program:"))
				continue;
			for (size_t i = 0; i < ELEMENTSOF(sysinfo_programs); i++)
				if (line_has_word(p, sysinfo_programs[i].text)) {
					s->sysinfo_hv = sysinfo_programs[i].hv;
					evidence_add(ctx, "kernel", "sysinfo control program '%s'",
						     sysinfo_programs[i].text);
				}
			break;
		}
	}
}

const struct probe probe_kernel = { .name = "kernel", .run = run };
