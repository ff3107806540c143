/* SPDX-License-Identifier: MIT */
/*
 * probe-dmi.c - hypervisor evidence from SMBIOS/DMI: the vendor and product
 * strings in /sys/class/dmi/id and the "virtual machine" BIOS characteristic
 * of the type 0 structure. Only strings that name a virtual product count as
 * a hypervisor; vendors that also sell hardware (Microsoft's Surface, cloud
 * providers' bare-metal instances) are recorded for the rules to weigh.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "detect/probe.h"

static const char *const dmi_paths[_DMI_FIELD_MAX] = {
	[DMI_SYS_VENDOR] = "sys/class/dmi/id/sys_vendor",
	[DMI_PRODUCT_NAME] = "sys/class/dmi/id/product_name",
	[DMI_PRODUCT_VERSION] = "sys/class/dmi/id/product_version",
	[DMI_BIOS_VENDOR] = "sys/class/dmi/id/bios_vendor",
	[DMI_BIOS_VERSION] = "sys/class/dmi/id/bios_version",
	[DMI_BOARD_VENDOR] = "sys/class/dmi/id/board_vendor",
	[DMI_CHASSIS_ASSET_TAG] = "sys/class/dmi/id/chassis_asset_tag",
};

/* The fields systemd's detect_vm_dmi_vendor() reads, in its order: the
 * product name first, so that "KVM" there wins over a "QEMU" vendor. */
static const enum dmi_field dmi_vm_fields[] = {
	DMI_PRODUCT_NAME, DMI_SYS_VENDOR, DMI_BOARD_VENDOR, DMI_BIOS_VENDOR, DMI_PRODUCT_VERSION,
};

/* Prefixes only a virtual machine carries, tried on each field above:
 * systemd's table, then what virt-what knows besides. "Oracle Corporation"
 * is left out on purpose: Oracle sells servers with that board vendor too.
 * "Amazon EC2" is decided with the VM bit (bare-metal instances share it);
 * "Microsoft Corporation" with "Virtual Machine" is handled apart (a
 * Surface shares the vendor). */
static const struct {
	const char *prefix;
	enum hypervisor hv;
} dmi_products[] = {
	{ "KVM", HV_KVM },
	{ "OpenStack", HV_KVM },
	{ "KubeVirt", HV_KVM },
	{ "Amazon EC2", HV_KVM }, /* Nitro; see dmi_amazon() */
	{ "QEMU", HV_QEMU },
	{ "VMware", HV_VMWARE },
	{ "VMW", HV_VMWARE },
	{ "innotek GmbH", HV_ORACLE },
	{ "VirtualBox", HV_ORACLE },
	{ "Xen", HV_XEN },
	{ "Bochs", HV_QEMU }, /* systemd says "bochs": old QEMU machine types carry it */
	{ "Parallels", HV_PARALLELS },
	{ "BHYVE", HV_BHYVE },
	{ "Hyper-V", HV_MICROSOFT },
	{ "Apple Virtualization", HV_APPLE },
	{ "Google Compute Engine", HV_KVM },
	{ "Nutanix", HV_KVM },	       /* AHV */
	{ "oVirt", HV_KVM },	       /* oVirt node */
	{ "RHEV Hypervisor", HV_KVM }, /* product name */
	{ "Red Hat", HV_KVM },	       /* RHEL's KVM machine types */
	{ "UpCloud", HV_KVM },
};

/* SMBIOS type 0 (BIOS information): byte 0x13 is characteristics extension
 * byte 2, whose bit 4 says "this is a virtual machine" (DSP0134 7.1.2.2). */
#define SMBIOS_T0_EXT2 0x13
#define SMBIOS_T0_EXT2_VM (1u << 4)

static void probe_vm_bit(struct probe_ctx *ctx)
{
	_cleanup_free_ char *raw = NULL;
	size_t n;
	const char *path = "sys/firmware/dmi/entries/0-0/raw";

	if (probe_read(ctx, "dmi", path, VALUE_MAX, &raw, &n) < 0)
		return;
	if (n < 2 || raw[0] != 0 || (size_t)(unsigned char)raw[1] > n) {
		evidence_add(ctx, "dmi", "'%s': not an SMBIOS type 0 structure, ignored", path);
		return;
	}
	if ((unsigned char)raw[1] <= SMBIOS_T0_EXT2) {
		evidence_add(ctx, "dmi", "SMBIOS type 0 has no characteristics extension byte 2");
		return;
	}
	ctx->sig->dmi_vm_bit_known = true;
	ctx->sig->dmi_vm_bit = (unsigned char)raw[SMBIOS_T0_EXT2] & SMBIOS_T0_EXT2_VM;
	evidence_add(ctx, "dmi", "SMBIOS type 0 virtual machine bit %s",
		     ctx->sig->dmi_vm_bit ? "set" : "clear");
}

/* EC2 Nitro instances and *.metal ones share "Amazon EC2": the SMBIOS VM
 * bit tells them apart; without it, a product name ending in ".metal" (or
 * ".metal-...") is bare metal (systemd's detect_vm_dmi()). */
static bool dmi_amazon_vm(const struct signals *s)
{
	const char *p = s->dmi[DMI_PRODUCT_NAME], *e;

	if (s->dmi_vm_bit_known)
		return s->dmi_vm_bit;
	e = p ? strstr(p, ".metal") : NULL;
	return !(e && (e[6] == '\0' || e[6] == '-'));
}

/* Hitachi Virtage: vendor "HITACHI" and a product with " LPAR" (virt-what). */
static bool dmi_virtage(const struct signals *s)
{
	const char *v = s->dmi[DMI_SYS_VENDOR], *p = s->dmi[DMI_PRODUCT_NAME];
	return v && p && strstr(v, "HITACHI") && strstr(p, " LPAR");
}

static void match_products(struct probe_ctx *ctx)
{
	struct signals *s = ctx->sig;

	if (dmi_virtage(s)) {
		s->dmi_hv = HV_VIRTAGE;
		evidence_add(ctx, "dmi", "'HITACHI' with an LPAR product: virtage");
		return;
	}
	for (size_t f = 0; f < ELEMENTSOF(dmi_vm_fields); f++) {
		const char *v = s->dmi[dmi_vm_fields[f]];
		for (size_t i = 0; v && i < ELEMENTSOF(dmi_products); i++) {
			if (!startswith(v, dmi_products[i].prefix))
				continue;
			if (streq(dmi_products[i].prefix, "Amazon EC2") && !dmi_amazon_vm(s)) {
				evidence_add(ctx, "dmi", "'Amazon EC2' on a bare-metal instance");
				return;
			}
			s->dmi_hv = dmi_products[i].hv;
			evidence_add(ctx, "dmi", "%s '%s' names a virtual machine: %s",
				     dmi_paths[dmi_vm_fields[f]] + strlen("sys/class/dmi/id/"),
				     dmi_products[i].prefix, hypervisor_to_string(s->dmi_hv));
			return;
		}
	}
}

static void run(struct probe_ctx *ctx)
{
	struct signals *s = ctx->sig;

	for (size_t i = 0; i < _DMI_FIELD_MAX; i++) {
		char *value = NULL;
		if (probe_read_value(ctx, "dmi", dmi_paths[i], &value) < 0)
			continue;
		_cleanup_free_ char *shown = value_show(value, strlen(value));
		evidence_add(ctx, "dmi", "%s '%s'", dmi_paths[i] + strlen("sys/class/dmi/id/"),
			     shown ? shown : "");
		s->dmi[i] = value;
	}
	probe_vm_bit(ctx);
	if (!s->dmi[DMI_SYS_VENDOR] && !s->dmi[DMI_PRODUCT_NAME] && !s->dmi[DMI_BIOS_VENDOR]) {
		evidence_add(ctx, "dmi", "no DMI identification");
		return;
	}
	s->dmi_microsoft_vendor = s->dmi[DMI_SYS_VENDOR] &&
				  startswith(s->dmi[DMI_SYS_VENDOR], "Microsoft Corporation");
	s->dmi_microsoft_vm = s->dmi_microsoft_vendor && s->dmi[DMI_PRODUCT_NAME] &&
			      startswith(s->dmi[DMI_PRODUCT_NAME], "Virtual Machine");
	match_products(ctx);
	if (s->dmi_microsoft_vm && s->dmi_hv == HV_NONE) {
		s->dmi_hv = HV_MICROSOFT;
		evidence_add(ctx, "dmi",
			     "'Microsoft Corporation' 'Virtual Machine': Hyper-V "
			     "(or Virtual PC)");
	}
}

const struct probe probe_dmi = { .name = "dmi", .run = run };
