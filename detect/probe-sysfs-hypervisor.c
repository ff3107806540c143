/* SPDX-License-Identifier: MIT */
/*
 * probe-sysfs-hypervisor.c - /sys/hypervisor: the type the kernel found
 * ("xen"), the Xen guest type (PV, HVM, PVH) and the Xen feature bits, of
 * which XENFEAT_dom0 marks the control domain. Unlike /proc/xen these need
 * no xenfs mount, so they work in early boot. A dom0 has /sys/hypervisor
 * too: the type alone never makes a guest.
 */
#include <stdio.h>

#include "detect/probe.h"

/* xen/include/public/features.h */
#define XENFEAT_dom0 11

static const struct {
	const char *name;
	enum xen_mode mode;
} guest_types[] = {
	{ "PV", XEN_MODE_PV },
	{ "HVM", XEN_MODE_HVM },
	{ "PVH", XEN_MODE_PVH },
};

static void run(struct probe_ctx *ctx)
{
	struct signals *s = ctx->sig;
	_cleanup_free_ char *type = NULL, *guest = NULL, *features = NULL;

	if (!probe_exists(ctx, "sys/hypervisor/type")) {
		evidence_add(ctx, "sysfs-hypervisor", "no /sys/hypervisor/type");
		return;
	}
	if (probe_read_value(ctx, "sysfs-hypervisor", "sys/hypervisor/type", &type) >= 0) {
		_cleanup_free_ char *shown = value_show(type, strlen(type));
		s->sys_hv_xen = streq(type, "xen");
		s->sys_hv_other = !s->sys_hv_xen && *type;
		evidence_add(ctx, "sysfs-hypervisor", "type '%s'%s", shown ? shown : "",
			     s->sys_hv_xen ? "" : ": a hypervisor this detector does not name");
	}

	if (probe_read_value(ctx, "sysfs-hypervisor", "sys/hypervisor/guest_type", &guest) >= 0) {
		_cleanup_free_ char *shown = value_show(guest, strlen(guest));
		for (size_t i = 0; i < ELEMENTSOF(guest_types); i++)
			if (streq(guest, guest_types[i].name))
				s->sys_guest_type = guest_types[i].mode;
		evidence_add(ctx, "sysfs-hypervisor", "guest_type '%s'%s", shown ? shown : "",
			     s->sys_guest_type ? "" : ": unknown, ignored");
	}

	if (probe_read_value(ctx, "sysfs-hypervisor", "sys/hypervisor/properties/features",
			     &features) >= 0) {
		uint32_t bits;
		_cleanup_free_ char *shown = value_show(features, strlen(features));
		if (value_parse_xen_features(features, &bits) < 0) {
			evidence_add(ctx, "sysfs-hypervisor", "features '%s': not hex, ignored",
				     shown ? shown : "");
			return;
		}
		s->xen_features_read = true;
		s->xen_feature_dom0 = bits & (1u << XENFEAT_dom0);
		evidence_add(ctx, "sysfs-hypervisor", "features 0x%08x: XENFEAT_dom0 %s", bits,
			     s->xen_feature_dom0 ? "set" : "clear");
	}
}

const struct probe probe_sysfs_hypervisor = { .name = "sysfs-hypervisor", .run = run };
