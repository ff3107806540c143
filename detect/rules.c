/* SPDX-License-Identifier: MIT */
/*
 * rules.c - evidence -> verdict. The rules are a table tried in order; the
 * first that matches sets hypervisor, role and Xen mode, and says why in one
 * "rule" line of evidence. The cloud comes from a second table over DMI,
 * independent of the hypervisor (a cloud is not a hypervisor: AWS Nitro is
 * kvm, and AWS bare-metal instances are none). docs/detect.md explains each
 * rule and the trap it avoids.
 */
#define _GNU_SOURCE
#include <string.h>

#include "detect/probe.h"

struct outcome {
	enum hypervisor hv;
	enum role role;
	enum xen_mode mode;
};

/* The hypervisor behind the CPUID signatures: the first that is not a
 * Hyper-V interface (KVM and Xen offer one at 0x40000000 and sign at
 * 0x40000100), else the Hyper-V one. NULL without a signature. */
static const struct cpuid_signature *cpuid_vendor(const struct signals *s)
{
	for (size_t i = 0; i < s->n_sigs; i++)
		if (!s->sigs[i].hyperv_compatible)
			return &s->sigs[i];
	return s->n_sigs > 0 ? &s->sigs[0] : NULL;
}

static enum hypervisor cpuid_hv(const struct signals *s)
{
	const struct cpuid_signature *sig = cpuid_vendor(s);
	return sig ? sig->hv : HV_NONE;
}

static bool xen_present(const struct signals *s)
{
	return s->sys_hv_xen || s->proc_xen || s->xen_devices > 0 || s->dt_xen ||
	       s->xen_feature_dom0 || s->control_d;
}

/* PV, HVM or PVH for a Xen guest (or dom0) by the strongest signal. */
static enum xen_mode xen_mode_of(const struct signals *s)
{
	if (s->sys_guest_type != XEN_MODE_NONE)
		return s->sys_guest_type; /* the kernel's own word */
	if (s->dt_xen)
		return XEN_MODE_HVM; /* arm: the kernel's XEN_HVM_DOMAIN */
	if (cpuid_hv(s) != HV_XEN && (s->cpuid_available || !s->dmi[DMI_SYS_VENDOR]))
		return XEN_MODE_PV; /* PV sees the real CPU and no firmware */
	if (s->pci_xen_platform || s->dmi_hv == HV_XEN)
		return XEN_MODE_HVM; /* emulated platform device and firmware */
	return cpuid_hv(s) == HV_XEN ? XEN_MODE_PVH : XEN_MODE_PV;
}

static bool rule_xen_dom0(const struct signals *s, struct outcome *o)
{
	if (!s->xen_feature_dom0 && !s->control_d)
		return false;
	*o = (struct outcome){ HV_XEN, ROLE_DOM0, xen_mode_of(s) };
	if (o->mode == XEN_MODE_HVM && !s->dt_xen)
		o->mode = XEN_MODE_PV;
	return true;
}

static bool rule_xen_dom0_firmware(const struct signals *s, struct outcome *o)
{
	if (!xen_present(s) || s->xen_caps || s->xen_features_read || cpuid_hv(s) == HV_XEN)
		return false;
	if (!s->dmi[DMI_SYS_VENDOR] || s->dmi_hv != HV_NONE || s->sys_guest_type == XEN_MODE_HVM)
		return false;
	*o = (struct outcome){ HV_XEN, ROLE_DOM0, s->sys_guest_type ?: XEN_MODE_PV };
	return true;
}

static bool rule_hyperv_root(const struct signals *s, struct outcome *o)
{
	if (cpuid_hv(s) != HV_MICROSOFT || !s->hyperv_create_partitions ||
	    !s->hyperv_cpu_management)
		return false;
	*o = (struct outcome){ HV_MICROSOFT, ROLE_ROOT, XEN_MODE_NONE };
	return true;
}

static bool rule_dmi_over_paravirt(const struct signals *s, struct outcome *o)
{
	enum hypervisor c = cpuid_hv(s);
	if (s->dmi_hv != HV_ORACLE && s->dmi_hv != HV_PARALLELS)
		return false;
	if (c != HV_NONE && c != HV_KVM && c != HV_MICROSOFT && c != s->dmi_hv)
		return false;
	*o = (struct outcome){ s->dmi_hv, ROLE_GUEST, XEN_MODE_NONE };
	return true;
}

static bool rule_cpuid_vendor(const struct signals *s, struct outcome *o)
{
	enum hypervisor c = cpuid_hv(s);
	if (c == HV_NONE)
		return false;
	*o = (struct outcome){ c, ROLE_GUEST, c == HV_XEN ? xen_mode_of(s) : XEN_MODE_NONE };
	return true;
}

static bool rule_xen_no_signature(const struct signals *s, struct outcome *o)
{
	if (!xen_present(s))
		return false;
	*o = (struct outcome){ HV_XEN, ROLE_GUEST, xen_mode_of(s) };
	return true;
}

static bool rule_microsoft_guest(const struct signals *s, struct outcome *o)
{
	if (!s->wsl && s->vmbus_devices == 0 && s->dmi_hv != HV_MICROSOFT &&
	    s->pci_hv != HV_MICROSOFT)
		return false;
	*o = (struct outcome){ HV_MICROSOFT, ROLE_GUEST, XEN_MODE_NONE };
	return true;
}

static bool rule_dmi_product(const struct signals *s, struct outcome *o)
{
	if (s->dmi_hv == HV_NONE)
		return false;
	*o = (struct outcome){ s->dmi_hv, ROLE_GUEST, XEN_MODE_NONE };
	return true;
}

static bool rule_platform(const struct signals *s, struct outcome *o)
{
	enum hypervisor h = s->dt_hv ?: s->sysinfo_hv;
	if (h == HV_NONE)
		return false;
	*o = (struct outcome){ h, ROLE_GUEST, XEN_MODE_NONE };
	return true;
}

static bool rule_pci_vendor(const struct signals *s, struct outcome *o)
{
	if (s->pci_hv == HV_NONE)
		return false;
	*o = (struct outcome){ s->pci_hv, ROLE_GUEST, XEN_MODE_NONE };
	return true;
}

static bool rule_hypervisor_bit(const struct signals *s, struct outcome *o)
{
	if (!s->cpuid_hv_bit && !s->cpuinfo_hv_flag && !s->dmi_vm_bit)
		return false;
	*o = (struct outcome){ HV_VM_OTHER, ROLE_GUEST, XEN_MODE_NONE };
	return true;
}

static const struct {
	const char *name;
	const char *why;
	bool (*match)(const struct signals *s, struct outcome *o);
} rules[] = {
	{ "xen-dom0", "XENFEAT_dom0 or control_d: the Xen control domain", rule_xen_dom0 },
	{ "xen-dom0-firmware",
	  "Xen without xenfs or feature bits, yet hardware DMI: a dom0 early in boot",
	  rule_xen_dom0_firmware },
	{ "hyperv-root", "Hyper-V with CreatePartitions and CpuManagement: the root partition",
	  rule_hyperv_root },
	{ "dmi-over-paravirt",
	  "DMI names VirtualBox or Parallels, which offer KVM and Hyper-V paravirt interfaces",
	  rule_dmi_over_paravirt },
	{ "cpuid-vendor", "the CPUID vendor signature, looking past Hyper-V interfaces",
	  rule_cpuid_vendor },
	{ "xen-no-signature", "Xen in sysfs, procfs, bus or device tree without a CPUID signature",
	  rule_xen_no_signature },
	{ "microsoft-guest", "WSL2 kernel, VMBus devices, Hyper-V DMI or PCI ids",
	  rule_microsoft_guest },
	{ "dmi-product", "DMI names a virtual machine product", rule_dmi_product },
	{ "platform", "device tree or s390 sysinfo names the hypervisor", rule_platform },
	{ "pci-vendor", "PCI devices from a virtual hardware vendor", rule_pci_vendor },
	{ "hypervisor-bit", "a hypervisor is present but does not say which", rule_hypervisor_bit },
};

enum match { EXACT, PREFIX, CONTAINS };

static const struct {
	enum dmi_field field;
	enum match how;
	const char *text;
	const char *cloud;
} clouds[] = {
	/* Azure sets this asset tag on every VM (Azure docs, "Detect if a VM
	 * is running in Azure"); the hypervisor DMI is plain Hyper-V. */
	{ DMI_CHASSIS_ASSET_TAG, EXACT, "7783-7084-3265-9085-8269-3286-77", "azure" },
	{ DMI_SYS_VENDOR, PREFIX, "Amazon EC2", "aws" },
	{ DMI_BIOS_VENDOR, PREFIX, "Amazon EC2", "aws" },
	{ DMI_BIOS_VERSION, CONTAINS, "amazon", "aws" }, /* Xen instances: "4.11.amazon" */
	{ DMI_PRODUCT_NAME, PREFIX, "Google Compute Engine", "gce" },
	{ DMI_SYS_VENDOR, PREFIX, "Google", "gce" },
	{ DMI_SYS_VENDOR, PREFIX, "Alibaba Cloud", "alibaba" },
	{ DMI_PRODUCT_NAME, PREFIX, "Alibaba Cloud ECS", "alibaba" },
	{ DMI_CHASSIS_ASSET_TAG, EXACT, "OracleCloud.com", "oci" },
	{ DMI_SYS_VENDOR, PREFIX, "DigitalOcean", "digitalocean" },
	{ DMI_SYS_VENDOR, PREFIX, "Hetzner", "hetzner" },
	{ DMI_PRODUCT_NAME, PREFIX, "OpenStack", "openstack" },
};

static const char *cloud_of(const struct signals *s, const char **ret_text)
{
	for (size_t i = 0; i < ELEMENTSOF(clouds); i++) {
		const char *v = s->dmi[clouds[i].field];
		if (!v)
			continue;
		bool m = clouds[i].how == EXACT	   ? streq(v, clouds[i].text)
			 : clouds[i].how == PREFIX ? !!startswith(v, clouds[i].text)
						   : !!strstr(v, clouds[i].text);
		if (m) {
			*ret_text = clouds[i].text;
			return clouds[i].cloud;
		}
	}
	return NULL;
}

int rules_apply(struct probe_ctx *ctx)
{
	const struct signals *s = ctx->sig;
	struct verdict *v = ctx->v;
	struct outcome o = { HV_NONE, ROLE_NONE, XEN_MODE_NONE };
	const char *name = "bare-metal", *why = "no hypervisor signal";

	for (size_t i = 0; i < ELEMENTSOF(rules); i++)
		if (rules[i].match(s, &o)) {
			name = rules[i].name;
			why = rules[i].why;
			break;
		}
	if (o.hv == HV_NONE && s->dmi_microsoft_vendor)
		why = "Microsoft-made hardware (DMI 'Microsoft Corporation') without a hypervisor";
	if (o.hv == HV_MICROSOFT && o.role == ROLE_GUEST && s->hyperv_create_partitions)
		why = "Hyper-V guest with CreatePartitions but not CpuManagement: not the root";
	v->hypervisor = o.hv;
	v->role = o.role;
	v->xen_mode = o.hv == HV_XEN ? o.mode : XEN_MODE_NONE;
	evidence_add(ctx, "rule", "%s: %s", name, why);
	if (o.hv != HV_NONE && s->hyperv_nested)
		evidence_add(ctx, "rule",
			     "nested: the hypervisor itself runs in a Hyper-V partition");

	const char *text = NULL, *cloud = cloud_of(s, &text);
	if (cloud) {
		v->cloud = strdup(cloud);
		if (!v->cloud)
			return -ENOMEM;
		evidence_add(ctx, "cloud", "DMI '%s': %s", text, cloud);
	}
	return 0;
}
