/* SPDX-License-Identifier: MIT */
/*
 * probe-devicetree.c - hypervisor evidence from the flattened device tree of
 * arm64, ppc64 and friends: the /hypervisor node ("xen,xen", "linux,kvm",
 * "vmware", or a hypervisor this detector does not name), QEMU's fw-cfg
 * node, the machine's own compatible ("linux,dummy-virt", "qemu,pseries")
 * and PowerVM's partition properties. Device-tree strings are
 * NUL-separated lists; a malformed one is evidence.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "detect/probe.h"

/* Compatible strings of the /hypervisor node (systemd matches "xen" and
 * "vmware" anywhere; their strings start with them). */
static const struct {
	const char *prefix;
	bool exact;
	enum hypervisor hv;
} hypervisor_nodes[] = {
	{ "linux,kvm", true, HV_KVM },
	{ "xen", false, HV_XEN },
	{ "vmware", false, HV_VMWARE },
};

/* The machine's own compatible. */
static const struct {
	const char *text;
	enum hypervisor hv;
} machines[] = {
	{ "qemu,pseries", HV_QEMU },	/* POWER under QEMU or KVM */
	{ "linux,dummy-virt", HV_KVM }, /* arm "virt": kvmtool, or QEMU (fw-cfg says) */
};

struct dt_scan {
	const char *base;
	char fw_cfg[256]; /* the first node named fw-cfg*, or "" */
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
	(void)ctx;
	if (!scan->fw_cfg[0] && strstr(name, "fw-cfg"))
		snprintf(scan->fw_cfg, sizeof(scan->fw_cfg), "%s", name);
}

/* The /hypervisor node: true when there is one (named or not). */
static bool hypervisor_node(struct probe_ctx *ctx, const char *base)
{
	struct signals *s = ctx->sig;
	_cleanup_free_ char *buf = NULL;
	char path[256];
	size_t n;

	snprintf(path, sizeof(path), "%s/hypervisor/compatible", base);
	if (probe_read(ctx, "devicetree", path, VALUE_MAX, &buf, &n) < 0)
		return false;
	for (size_t i = 0; i < ELEMENTSOF(hypervisor_nodes); i++) {
		int r = value_dt_match(buf, n, hypervisor_nodes[i].prefix,
				       hypervisor_nodes[i].exact);
		if (r < 0) {
			evidence_add(ctx, "devicetree",
				     "'%s': not a device-tree string list, a hypervisor node of "
				     "unknown kind",
				     path);
			break;
		}
		if (r > 0) {
			s->dt_hv = hypervisor_nodes[i].hv;
			s->dt_xen = s->dt_hv == HV_XEN;
			evidence_add(ctx, "devicetree", "'%s' holds '%s': %s", path,
				     hypervisor_nodes[i].prefix, hypervisor_to_string(s->dt_hv));
			return true;
		}
	}
	_cleanup_free_ char *shown = value_show(buf, strnlen(buf, n));
	s->dt_hv = HV_VM_OTHER;
	evidence_add(ctx, "devicetree", "'%s' names '%s': a hypervisor this detector does not name",
		     path, shown ? shown : "");
	return true;
}

/* PowerVM: a partition name and HMC management, unless QEMU's pseries
 * (which sets qemu,graphic-width under /chosen) imitates them. */
static bool powervm(struct probe_ctx *ctx, const char *base)
{
	static const char *const need[] = { "ibm,partition-name", "hmc-managed?" };
	char path[256];

	for (size_t i = 0; i < ELEMENTSOF(need); i++) {
		snprintf(path, sizeof(path), "%s/%s", base, need[i]);
		if (!probe_exists(ctx, path))
			return false;
	}
	snprintf(path, sizeof(path), "%s/chosen/qemu,graphic-width", base);
	return !probe_exists(ctx, path);
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
	if (hypervisor_node(ctx, scan.base))
		return;

	if (powervm(ctx, scan.base)) {
		s->dt_hv = HV_POWERVM;
		evidence_add(ctx, "devicetree", "HMC-managed logical partition: powervm");
		return;
	}
	(void)probe_list_dir(ctx, "devicetree", scan.base, fw_cfg_node, &scan);
	if (scan.fw_cfg[0]) {
		s->dt_hv = HV_QEMU;
		evidence_add(ctx, "devicetree", "node '%s': QEMU fw-cfg", scan.fw_cfg);
		return;
	}
	snprintf(path, sizeof(path), "%s/compatible", scan.base);
	for (size_t i = 0; i < ELEMENTSOF(machines); i++)
		if (dt_check(ctx, path, machines[i].text, true) > 0) {
			s->dt_hv = machines[i].hv;
			evidence_add(ctx, "devicetree", "'%s' holds '%s': %s", path,
				     machines[i].text, hypervisor_to_string(s->dt_hv));
			return;
		}
	evidence_add(ctx, "devicetree",
		     "'%s': no /hypervisor node, no fw-cfg, no PowerVM partition", scan.base);
}

const struct probe probe_devicetree = { .name = "devicetree", .run = run };
