/* SPDX-License-Identifier: MIT */
/*
 * probe-dmi.c - hypervisor evidence from SMBIOS/DMI: the vendor and product
 * strings in /sys/class/dmi/id and the "virtual machine" BIOS characteristic
 * of the type 0 structure. Only strings that name a virtual product count as
 * a hypervisor; vendors that also sell hardware (Microsoft's Surface, cloud
 * providers' bare-metal instances) are recorded for the rules to weigh.
 */
#include <stdio.h>

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

/* Strings only a virtual machine carries. systemd's detect-virt.c keeps a
 * similar table; "Oracle Corporation" is left out on purpose: Oracle sells
 * servers with that vendor string too. */
static const struct {
	enum dmi_field field;
	const char *prefix;
	const char *sys_vendor; /* also required at the start of sys_vendor, or NULL */
	enum hypervisor hv;
} dmi_products[] = {
	{ DMI_PRODUCT_NAME, "Virtual Machine", "Microsoft Corporation", HV_MICROSOFT },
	{ DMI_PRODUCT_NAME, "KVM", NULL, HV_KVM }, /* before QEMU: "KVM Virtual Machine" */
	{ DMI_SYS_VENDOR, "QEMU", NULL, HV_QEMU },
	{ DMI_SYS_VENDOR, "Bochs", NULL, HV_QEMU },
	{ DMI_SYS_VENDOR, "KubeVirt", NULL, HV_KVM },
	{ DMI_PRODUCT_NAME, "Google Compute Engine", NULL, HV_KVM },
	{ DMI_SYS_VENDOR, "VMware", NULL, HV_VMWARE },
	{ DMI_PRODUCT_NAME, "VMware", NULL, HV_VMWARE },
	{ DMI_SYS_VENDOR, "innotek GmbH", NULL, HV_ORACLE },
	{ DMI_PRODUCT_NAME, "VirtualBox", NULL, HV_ORACLE },
	{ DMI_SYS_VENDOR, "Parallels", NULL, HV_PARALLELS },
	{ DMI_PRODUCT_NAME, "Parallels", NULL, HV_PARALLELS },
	{ DMI_SYS_VENDOR, "BHYVE", NULL, HV_BHYVE },
	{ DMI_BIOS_VENDOR, "BHYVE", NULL, HV_BHYVE },
	{ DMI_SYS_VENDOR, "Xen", NULL, HV_XEN },
	{ DMI_BIOS_VENDOR, "Xen", NULL, HV_XEN },
	{ DMI_PRODUCT_NAME, "Apple Virtualization", NULL, HV_APPLE },
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
	ctx->sig->dmi_vm_bit = (unsigned char)raw[SMBIOS_T0_EXT2] & SMBIOS_T0_EXT2_VM;
	evidence_add(ctx, "dmi", "SMBIOS type 0 virtual machine bit %s",
		     ctx->sig->dmi_vm_bit ? "set" : "clear");
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
	if (!s->dmi[DMI_SYS_VENDOR] && !s->dmi[DMI_PRODUCT_NAME] && !s->dmi[DMI_BIOS_VENDOR])
		evidence_add(ctx, "dmi", "no DMI identification");

	for (size_t i = 0; i < ELEMENTSOF(dmi_products) && s->dmi_hv == HV_NONE; i++) {
		const char *v = s->dmi[dmi_products[i].field];
		const char *vendor = dmi_products[i].sys_vendor;
		if (!v || !startswith(v, dmi_products[i].prefix))
			continue;
		if (vendor &&
		    !(s->dmi[DMI_SYS_VENDOR] && startswith(s->dmi[DMI_SYS_VENDOR], vendor)))
			continue;
		s->dmi_hv = dmi_products[i].hv;
		evidence_add(ctx, "dmi", "'%s' names a virtual machine: %s", dmi_products[i].prefix,
			     hypervisor_to_string(s->dmi_hv));
	}
	s->dmi_microsoft_vendor = s->dmi[DMI_SYS_VENDOR] &&
				  startswith(s->dmi[DMI_SYS_VENDOR], "Microsoft Corporation");
	probe_vm_bit(ctx);
}

const struct probe probe_dmi = { .name = "dmi", .run = run };
