/* SPDX-License-Identifier: MIT */
/*
 * probe-bus.c - devices on the hypervisors' own buses (VMBus, the Xen bus)
 * and PCI vendor ids that only virtual hardware carries. Directory listings
 * are capped (DIR_MAX_ENTRIES) and every id file is read bounded.
 */
#include <stdio.h>

#include "detect/probe.h"

/* PCI vendor ids (pci.ids; QEMU docs/specs/pci-ids.rst) in order of
 * strength: a Xen platform device beats virtio, which many hypervisors
 * offer. */
static const struct {
	uint16_t vendor;
	const char *name;
	enum hypervisor hv;
} pci_vendors[] = {
	{ 0x5853, "Xen platform", HV_XEN },    { 0x1414, "Microsoft Hyper-V", HV_MICROSOFT },
	{ 0x15ad, "VMware", HV_VMWARE },       { 0x80ee, "VirtualBox", HV_ORACLE },
	{ 0x1ab8, "Parallels", HV_PARALLELS }, { 0x1af4, "virtio (Red Hat)", HV_KVM },
	{ 0x1b36, "QEMU (Red Hat)", HV_QEMU }, { 0x1234, "QEMU/Bochs display", HV_QEMU },
};

struct pci_scan {
	size_t seen[ELEMENTSOF(pci_vendors)];
	int first_device[ELEMENTSOF(pci_vendors)]; /* device id of the first one, or -1 */
	size_t bad;
};

static void pci_device(struct probe_ctx *ctx, const char *name, void *userdata)
{
	struct pci_scan *scan = userdata;
	char path[320];
	_cleanup_free_ char *value = NULL;
	uint16_t id;

	if (snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/vendor", name) >=
	    (int)sizeof(path))
		return;
	if (probe_read_value(ctx, "pci", path, &value) < 0)
		return;
	if (value_parse_pci_id(value, &id) < 0) {
		if (scan->bad++ == 0) {
			_cleanup_free_ char *shown = value_show(value, strlen(value));
			evidence_add(ctx, "pci", "'%s': '%s' is not a PCI id, ignored", path,
				     shown ? shown : "");
		}
		return;
	}
	for (size_t i = 0; i < ELEMENTSOF(pci_vendors); i++) {
		if (pci_vendors[i].vendor != id || scan->seen[i]++ > 0)
			continue;
		/* the device id of the first device of a known vendor */
		_cleanup_free_ char *dev = NULL;
		uint16_t did;
		snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/device", name);
		if (probe_read_value(ctx, "pci", path, &dev) >= 0 &&
		    value_parse_pci_id(dev, &did) >= 0)
			scan->first_device[i] = did;
	}
}

static void run(struct probe_ctx *ctx)
{
	struct signals *s = ctx->sig;
	struct pci_scan scan = {};
	int r;

	for (size_t i = 0; i < ELEMENTSOF(pci_vendors); i++)
		scan.first_device[i] = -1;

	r = probe_list_dir(ctx, "bus", "sys/bus/vmbus/devices", NULL, NULL);
	if (r >= 0) {
		s->vmbus_devices = (size_t)r;
		evidence_add(ctx, "bus", "vmbus: %d devices", r);
	}
	r = probe_list_dir(ctx, "bus", "sys/bus/xen/devices", NULL, NULL);
	if (r >= 0) {
		s->xen_devices = (size_t)r;
		evidence_add(ctx, "bus", "xen: %d devices", r);
	}

	r = probe_list_dir(ctx, "pci", "sys/bus/pci/devices", pci_device, &scan);
	if (r == -ENOENT)
		evidence_add(ctx, "pci", "no PCI bus");
	if (r < 0)
		return;
	if (scan.bad > 1)
		evidence_add(ctx, "pci", "%zu vendor files in all were not PCI ids", scan.bad);
	for (size_t i = 0; i < ELEMENTSOF(pci_vendors); i++) {
		if (!scan.seen[i])
			continue;
		if (scan.first_device[i] >= 0)
			evidence_add(ctx, "pci",
				     "vendor 0x%04x %s: %zu devices, first 0x%04x:0x%04x",
				     pci_vendors[i].vendor, pci_vendors[i].name, scan.seen[i],
				     pci_vendors[i].vendor, (unsigned)scan.first_device[i]);
		else
			evidence_add(ctx, "pci", "vendor 0x%04x %s: %zu devices",
				     pci_vendors[i].vendor, pci_vendors[i].name, scan.seen[i]);
		if (s->pci_hv == HV_NONE)
			s->pci_hv = pci_vendors[i].hv;
		if (pci_vendors[i].vendor == 0x5853)
			s->pci_xen_platform = true;
		if (pci_vendors[i].vendor == 0x1af4)
			s->pci_virtio = true;
	}
	if (s->pci_hv == HV_NONE)
		evidence_add(ctx, "pci", "%d devices, none from a virtual hardware vendor", r);
}

const struct probe probe_bus = { .name = "bus", .run = run };
