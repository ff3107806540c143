/* SPDX-License-Identifier: MIT */
/*
 * probe-xen.c - /proc/xen, where xenfs is mounted: "control_d" in
 * capabilities marks the Xen control domain (dom0). An empty /proc/xen is
 * the early-boot state before xenfs is mounted, which says "Xen" but not
 * which role; /sys/hypervisor/properties/features answers that.
 */
#include <stdio.h>

#include "detect/probe.h"

static void run(struct probe_ctx *ctx)
{
	struct signals *s = ctx->sig;
	_cleanup_free_ char *caps = NULL;
	size_t n;

	s->proc_xen = probe_exists(ctx, "proc/xen");
	if (!s->proc_xen) {
		evidence_add(ctx, "xen", "no /proc/xen");
		return;
	}
	int r = probe_read(ctx, "xen", "proc/xen/capabilities", VALUE_MAX, &caps, &n);
	if (r == -ENOENT) {
		evidence_add(ctx, "xen", "/proc/xen present, no capabilities (xenfs not mounted)");
		return;
	}
	if (r < 0)
		return;
	while (n > 0 && (caps[n - 1] == '\n' || caps[n - 1] == ' '))
		n--;
	_cleanup_free_ char *shown = value_show(caps, n);
	s->xen_caps = true;
	s->control_d = value_xen_caps_control_d(caps, n);
	evidence_add(ctx, "xen", "capabilities '%s'%s", shown ? shown : "",
		     s->control_d ? ": control_d, the control domain" : "");
}

const struct probe probe_xen = { .name = "xen", .run = run };
