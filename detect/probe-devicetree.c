/* SPDX-License-Identifier: MIT */
/*
 * probe-devicetree.c - hypervisor evidence from the flattened device tree of
 * arm64, ppc64 and friends: the /hypervisor node ("xen,xen", "linux,kvm",
 * "vmware"), QEMU's fw-cfg node ("qemu,fw-cfg-mmio"), the machine's own
 * compatible ("linux,dummy-virt") and PowerVM's partition properties.
 * Device-tree strings are NUL-separated lists; a malformed one is evidence.
 */
#include <stdio.h>

#include "detect/probe.h"

static const struct {
	const char *node; /* relative to the device-tree base */
	const char *prefix;
	bool exact;
	enum hypervisor hv;
} dt_matches[] = {
	{ "hypervisor/compatible", "xen,xen", true, HV_XEN },
	{ "hypervisor/compatible", "linux,kvm", true, HV_KVM },
	{ "hypervisor/compatible", "vmware", false, HV_VMWARE },
	{ "compatible", "linux,dummy-virt", true, HV_QEMU },
	{ "compatible", "qemu,pseries", true, HV_QEMU },
};

struct dt_scan {
	const char *base;
	bool fw_cfg;
};

static int dt_check(struct probe_ctx *ctx, const char *path, const char *prefix, bool exact)
{
	_cleanup_free_ char *buf = NULL;
	size_t n;
	int r = probe_read(ctx, "devicetree", path, VALUE_MAX, &buf, &n);
	if (r < 0)
		return r;
	r = value_dt_match(buf, n, prefix, exact);
	if (r < 0)
		evidence_add(ctx, "devicetree", "'%s': not a device-tree string list, ignored",
			     path);
	return r;
}

static void fw_cfg_node(struct probe_ctx *ctx, const char *name, void *userdata)
{
	struct dt_scan *scan = userdata;
	char path[320];

	if (scan->fw_cfg || !startswith(name, "fw-cfg"))
		return;
	if (snprintf(path, sizeof(path), "%s/%s/compatible", scan->base, name) >= (int)sizeof(path))
		return;
	if (dt_check(ctx, path, "qemu,fw-cfg", false) > 0) {
		scan->fw_cfg = true;
		evidence_add(ctx, "devicetree", "'%s': QEMU fw-cfg", path);
	}
}

static void run(struct probe_ctx *ctx)
{
	struct signals *s = ctx->sig;
	struct dt_scan scan = {};
	char path[256];

	/* /proc/device-tree is an absolute symlink to this on a live system. */
	if (probe_exists(ctx, "sys/firmware/devicetree/base"))
		scan.base = "sys/firmware/devicetree/base";
	else if (probe_exists(ctx, "proc/device-tree"))
		scan.base = "proc/device-tree";
	else {
		evidence_add(ctx, "devicetree", "no device tree");
		return;
	}

	for (size_t i = 0; i < ELEMENTSOF(dt_matches); i++) {
		snprintf(path, sizeof(path), "%s/%s", scan.base, dt_matches[i].node);
		if (dt_check(ctx, path, dt_matches[i].prefix, dt_matches[i].exact) <= 0)
			continue;
		evidence_add(ctx, "devicetree", "'%s' holds '%s': %s", path, dt_matches[i].prefix,
			     hypervisor_to_string(dt_matches[i].hv));
		if (dt_matches[i].hv == HV_XEN)
			s->dt_xen = true;
		if (s->dt_hv == HV_NONE)
			s->dt_hv = dt_matches[i].hv;
	}

	(void)probe_list_dir(ctx, "devicetree", scan.base, fw_cfg_node, &scan);
	if (scan.fw_cfg && s->dt_hv == HV_NONE)
		s->dt_hv = HV_QEMU;

	snprintf(path, sizeof(path), "%s/ibm,partition-name", scan.base);
	if (s->dt_hv == HV_NONE && probe_exists(ctx, path)) {
		snprintf(path, sizeof(path), "%s/hmc-managed?", scan.base);
		if (probe_exists(ctx, path)) {
			s->dt_hv = HV_POWERVM;
			evidence_add(ctx, "devicetree", "HMC-managed logical partition: powervm");
		}
	}
	if (s->dt_hv == HV_NONE)
		evidence_add(ctx, "devicetree", "'%s': no hypervisor node", scan.base);
}

const struct probe probe_devicetree = { .name = "devicetree", .run = run };
