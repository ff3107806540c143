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

/* The hypervisor the CPUID signatures name: the first known signature
 * that is not a Hyper-V interface (KVM and Xen offer one at 0x40000000
 * and sign at 0x40000100), else a Hyper-V interface that names its
 * maker ("Linux KVM Hv"). HV_NONE when CPUID names nobody but Microsoft
 * or a stranger: those are weighed later, as systemd weighs them. */
static enum hypervisor cpuid_named(const struct signals *s)
{
	for (size_t i = 0; i < s->n_sigs; i++)
		if (!s->sigs[i].hyperv_compatible && s->sigs[i].hv != HV_VM_OTHER)
			return s->sigs[i].hv;
	for (size_t i = 0; i < s->n_sigs; i++)
		if (s->sigs[i].hv != HV_MICROSOFT && s->sigs[i].hv != HV_VM_OTHER)
			return s->sigs[i].hv;
	return HV_NONE;
}

/* "Microsoft Hv" with nothing behind it. */
static bool cpuid_hyperv_only(const struct signals *s)
{
	return s->n_sigs > 0 && s->sigs[0].hv == HV_MICROSOFT && cpuid_named(s) == HV_NONE;
}

static bool cpuid_unknown(const struct signals *s)
{
	for (size_t i = 0; i < s->n_sigs; i++)
		if (s->sigs[i].hv == HV_VM_OTHER)
			return true;
	return false;
}

/* The kernel's own Xen interfaces: only a Xen domain has them. */
static bool xen_kernel(const struct signals *s)
{
	return s->sys_hv_xen || s->proc_xen || s->xen_devices > 0 || s->dt_xen;
}

static bool xen_present(const struct signals *s)
{
	return xen_kernel(s) || s->xen_feature_dom0 || s->control_d;
}

/* PV, HVM or PVH for a Xen guest (or dom0) by the strongest signal. */
static enum xen_mode xen_mode_of(const struct signals *s)
{
	bool xen_cpuid = cpuid_named(s) == HV_XEN;

	if (s->sys_guest_type != XEN_MODE_NONE)
		return s->sys_guest_type; /* the kernel's own word */
	if (s->dt_xen)
		return XEN_MODE_HVM; /* arm: the kernel's XEN_HVM_DOMAIN */
	if (!xen_cpuid && (s->cpuid_available || !s->dmi[DMI_SYS_VENDOR]))
		return XEN_MODE_PV; /* PV sees the real CPU (or an outer one) and no firmware */
	if (s->pci_xen_platform || s->dmi_hv == HV_XEN)
		return XEN_MODE_HVM; /* emulated platform device and firmware */
	return xen_cpuid ? XEN_MODE_PVH : XEN_MODE_PV;
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
	if (!xen_present(s) || s->xen_caps || s->xen_features_read || cpuid_named(s) == HV_XEN)
		return false;
	if (!s->dmi[DMI_SYS_VENDOR] || s->dmi_hv != HV_NONE || s->sys_guest_type == XEN_MODE_HVM)
		return false;
	*o = (struct outcome){ HV_XEN, ROLE_DOM0, s->sys_guest_type ?: XEN_MODE_PV };
	return true;
}

static bool rule_wsl1(const struct signals *s, struct outcome *o)
{
	if (!s->wsl1)
		return false;
	*o = (struct outcome){ HV_NONE, ROLE_NONE, XEN_MODE_NONE };
	return true;
}

static bool rule_uml(const struct signals *s, struct outcome *o)
{
	if (!s->uml)
		return false;
	*o = (struct outcome){ HV_UML, ROLE_GUEST, XEN_MODE_NONE };
	return true;
}

static bool rule_xen_kernel(const struct signals *s, struct outcome *o)
{
	if (!xen_kernel(s))
		return false;
	*o = (struct outcome){ HV_XEN, ROLE_GUEST, xen_mode_of(s) };
	return true;
}

static bool rule_hyperv_root(const struct signals *s, struct outcome *o)
{
	if (!cpuid_hyperv_only(s) || !s->hyperv_create_partitions || !s->hyperv_cpu_management)
		return false;
	*o = (struct outcome){ HV_MICROSOFT, ROLE_ROOT, XEN_MODE_NONE };
	return true;
}

static bool rule_dmi_over_paravirt(const struct signals *s, struct outcome *o)
{
	enum hypervisor c = cpuid_named(s);
	if (s->dmi_hv != HV_ORACLE && s->dmi_hv != HV_PARALLELS)
		return false;
	if (c != HV_NONE && c != HV_KVM && c != s->dmi_hv)
		return false;
	*o = (struct outcome){ s->dmi_hv, ROLE_GUEST, XEN_MODE_NONE };
	return true;
}

static bool rule_cpuid_vendor(const struct signals *s, struct outcome *o)
{
	enum hypervisor c = cpuid_named(s);
	if (c == HV_NONE)
		return false;
	*o = (struct outcome){ c, ROLE_GUEST, c == HV_XEN ? xen_mode_of(s) : XEN_MODE_NONE };
	return true;
}

static bool rule_virtualpc(const struct signals *s, struct outcome *o)
{
	if (!s->dmi_microsoft_vm || !s->cpuid_available || s->n_sigs > 0 || s->vmbus_devices > 0)
		return false;
	*o = (struct outcome){ HV_VIRTUALPC, ROLE_GUEST, XEN_MODE_NONE };
	return true;
}

static bool rule_microsoft_guest(const struct signals *s, struct outcome *o)
{
	bool hyperv_cpuid =
		cpuid_hyperv_only(s) && (s->dmi_hv == HV_NONE || s->dmi_hv == HV_MICROSOFT);
	if (!hyperv_cpuid && !s->wsl2 && s->vmbus_devices == 0 && s->dmi_hv != HV_MICROSOFT &&
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
	enum hypervisor h = s->dt_hv != HV_VM_OTHER ? s->dt_hv : HV_NONE;
	if (h == HV_NONE && s->platform_hv != HV_VM_OTHER)
		h = s->platform_hv;
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

static bool rule_unknown_hypervisor(const struct signals *s, struct outcome *o)
{
	if (!cpuid_unknown(s) && !s->sys_hv_other && s->dt_hv != HV_VM_OTHER &&
	    s->platform_hv != HV_VM_OTHER)
		return false;
	*o = (struct outcome){ HV_VM_OTHER, ROLE_GUEST, XEN_MODE_NONE };
	return true;
}

static bool rule_hypervisor_bit(const struct signals *s, struct outcome *o)
{
	if (!s->cpuid_hv_bit && !s->cpuinfo_hv_flag && !s->dmi_vm_bit)
		return false;
	*o = (struct outcome){ HV_VM_OTHER, ROLE_GUEST, XEN_MODE_NONE };
	return true;
}

/* docs/detect.md gives the reason for each place in this order. */
static const struct {
	const char *name;
	const char *why;
	bool (*match)(const struct signals *s, struct outcome *o);
} rules[] = {
	{ "xen-dom0", "XENFEAT_dom0 or control_d: the Xen control domain", rule_xen_dom0 },
	{ "xen-dom0-firmware",
	  "Xen without xenfs or feature bits, yet hardware DMI: a dom0 early in boot",
	  rule_xen_dom0_firmware },
	{ "wsl1", "WSL1: no Linux kernel runs, Windows serves the system calls", rule_wsl1 },
	{ "uml", "User-Mode Linux, a process of a host whatever CPUID says", rule_uml },
	{ "xen-kernel",
	  "the kernel's Xen interfaces (sysfs, /proc/xen, Xen bus, device tree) outrank a CPUID "
	  "that may be an outer hypervisor's",
	  rule_xen_kernel },
	{ "hyperv-root", "Hyper-V with CreatePartitions and CpuManagement: the root partition",
	  rule_hyperv_root },
	{ "dmi-over-paravirt",
	  "DMI names VirtualBox or Parallels, which offer KVM and Hyper-V paravirt interfaces",
	  rule_dmi_over_paravirt },
	{ "cpuid-vendor", "the CPUID vendor signature, looking past Hyper-V interfaces",
	  rule_cpuid_vendor },
	{ "virtualpc", "Microsoft virtual machine DMI with CPUID but no Hyper-V interface",
	  rule_virtualpc },
	{ "microsoft-guest", "Hyper-V CPUID, WSL2 kernel, VMBus devices, Hyper-V DMI or PCI ids",
	  rule_microsoft_guest },
	{ "dmi-product", "DMI names a virtual machine product", rule_dmi_product },
	{ "platform", "the device tree, POWER's pSeries or s390 sysinfo names the hypervisor",
	  rule_platform },
	{ "pci-vendor", "PCI devices from a virtual hardware vendor", rule_pci_vendor },
	{ "unknown-hypervisor",
	  "a CPUID signature, /sys/hypervisor type or device-tree hypervisor this detector does "
	  "not name",
	  rule_unknown_hypervisor },
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
	{ DMI_SYS_VENDOR, PREFIX, "OpenStack", "openstack" },
	{ DMI_SYS_VENDOR, PREFIX, "UpCloud", "upcloud" },
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
