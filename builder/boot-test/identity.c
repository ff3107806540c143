/* SPDX-License-Identifier: MIT */
/*
 * identity.c - the identity table of `enlighten boot-test`: the SMBIOS
 * strings, CPU flags and devices that make a QEMU guest look like a Hyper-V,
 * Xen, VMware or KVM guest, and the verdict and profile the agent must then
 * report (the detector's verdict -> profile table of detect/, as one row per
 * identity). Commas in -smbios values are doubled, as QEMU's option syntax
 * wants.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/boot-test/identity.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

static const char *const hv_kvm[] = { "kvm", "qemu", NULL };
static const char *const hv_microsoft[] = { "microsoft", NULL };
static const char *const hv_xen[] = { "xen", NULL };
static const char *const hv_vmware[] = { "vmware", NULL };
static const char *const hv_none[] = { "none", NULL };

/* What a working Xen toolstack shows in the control domain: its daemons
 * (xenstored under either of its names) and xl talking to the hypervisor. */
static const char *const xen_dom0_processes[] = { "xenstored|oxenstored", "xenconsoled", NULL };
static const char *const xen_dom0_commands[] = { "/usr/sbin/xl info", NULL };

static const char *const smbios_hyperv[] = {
	"type=0,vendor=Microsoft Corporation,version=Hyper-V UEFI Release v4.1",
	"type=1,manufacturer=Microsoft Corporation,product=Virtual Machine,version=7.0",
	"type=2,manufacturer=Microsoft Corporation,product=Virtual Machine",
	NULL,
};
static const char *const smbios_vmware[] = {
	"type=0,vendor=VMware,, Inc.,version=VMW71.00V",
	"type=1,manufacturer=VMware,, Inc.,product=VMware Virtual Platform,"
	"serial=VMware-56 4d 2b 4a 8e 3f 51 92-6c 1f 0b 2e 9a 77 3d 10",
	"type=2,manufacturer=Intel Corporation,product=440BX Desktop Reference Platform",
	NULL,
};
/* A server's own firmware strings; type 0 comes from bare_bios. */
static const char *const smbios_metal[] = {
	"type=1,manufacturer=Dell Inc.,product=PowerEdge R750,serial=ENLTEST",
	"type=2,manufacturer=Dell Inc.,product=0PJ7YJ",
	NULL,
};

/* What a virtio device would tell the detector on an identity that has
 * none: the guest agent's channel is one. */
/* The CPU QEMU's TCG gives real Xen: its max CPU without SMAP and RDTSCP,
 * on which Xen 4.17 stops dom0 at once, and without XSAVE (so without
 * AVX and AVX2, which need it). With XSAVE, user processes crash in libc
 * (udev workers, dpkg, systemd, qemu-ga) as soon as a guest shares Xen's
 * one CPU with dom0, in the guest or in dom0 (presumably their XSAVE
 * state, which Xen switches, is not kept whole under TCG; dom0 alone
 * hardly switches and runs fine). Without XSAVE the PV guest runs and
 * activates xen-pv. docs/xen.md has the runs. */
#define XEN_TCG_CPU "max,-smap,-rdtscp,-xsave,-avx,-avx2"
#define NO_VIRTIO "its virtio-serial channel would show the detector a KVM device"

/* Hyper-V enlightenments KVM can present; kvm=off hides KVM's own signature
 * so that leaf 0x40000000 says "Microsoft Hv" and nothing follows it. */
#define HV_FLAGS                                                                                   \
	"hv-relaxed,hv-vapic,hv-spinlocks=0x1fff,hv-vpindex,hv-runtime,hv-time,hv-synic,"          \
	"hv-stimer,hv-frequencies,hv-reset"

/* A guest of boot-test's dom0 (XEN_DOM0 below), from the same image: type
 * pv, pvh or hvm, the profile of the same name. */
#define XEN_GUEST(type)                                                                            \
	{                                                                                          \
		.name = "xen-" type, .cpu_kvm = "host", .cpu_tcg = XEN_TCG_CPU,                    \
		.presence = PRESENT_ALWAYS, .hypervisors = hv_xen, .role = "guest",                \
		.profile = "xen-" type, .memory_mib = 2048, .xen = XEN_DOMU, .xen_type = type,     \
	}

const struct boot_identity boot_identities[] = {
	{
		.name = "kvm",
		.cpu_kvm = "host",
		.nic_model = "virtio-net-pci",
		.presence = PRESENT_ALWAYS,
		.hypervisors = hv_kvm,
		.role = "guest",
		.profile = "kvm-guest",
	},
	{
		.name = "hyperv",
		.smbios = smbios_hyperv,
		.cpu_kvm = "host,kvm=off," HV_FLAGS,
		.presence = PRESENT_WITH_KVM,
		.why_forced = "QEMU presents the Hyper-V CPUID leaves only with KVM",
		.hypervisors = hv_microsoft,
		.role = "guest",
		.profile = "hyperv-guest",
	},
	/* No hypervisor bit: the kernel and the detector find VMware from the
	 * SMBIOS serial and the backdoor I/O port, as on VMware with the
	 * hypervisor CPUID leaves hidden. */
	{
		.name = "vmware",
		.smbios = smbios_vmware,
		.cpu_kvm = "host,kvm=off,-hypervisor",
		.cpu_tcg = "max,tcg-cpuid=off,-hypervisor",
		.machine_extra = "vmport=on",
		.nic_model = "vmxnet3",
		.ahci_disk = true,
		.no_guest_agent = NO_VIRTIO,
		.presence = PRESENT_ALWAYS,
		.hypervisors = hv_vmware,
		.role = "guest",
		.profile = "vmware-guest",
	},
	/* A server without a hypervisor: no CPUID bit, no VM bit in SMBIOS,
	 * Intel's PCI devices only (AHCI disk, e1000e NIC). */
	{
		.name = "metal",
		.smbios = smbios_metal,
		.cpu_kvm = "host,kvm=off,-hypervisor",
		.cpu_tcg = "max,tcg-cpuid=off,-hypervisor",
		.nic_model = "e1000e",
		.ahci_disk = true,
		.bare_bios = true,
		.no_guest_agent = NO_VIRTIO,
		.presence = PRESENT_ALWAYS,
		.hypervisors = hv_none,
		.role = "none",
		.profile = "metal",
	},
	/* Real Xen under QEMU: the firmware starts the image's Xen entry,
	 * the image runs as the control domain; room for dom0 (the recipe's
	 * dom0_mem) and a guest. TCG's CPU: XEN_TCG_CPU. */
	{
		.name = "xen-dom0",
		.cpu_kvm = "host",
		.cpu_tcg = XEN_TCG_CPU,
		.presence = PRESENT_ALWAYS,
		.hypervisors = hv_xen,
		.role = "dom0",
		.profile = "xen-dom0",
		.memory_mib = 2048,
		.xen = XEN_DOM0,
		.processes = xen_dom0_processes,
		.commands = xen_dom0_commands,
	},
	/* A paravirtualized guest of that dom0, from the same image. */
	XEN_GUEST("pv"),
	/* A PVH guest: needs the hypervisor's HVM support (SVM or VMX, which
	 * TCG's max CPU has). */
	XEN_GUEST("pvh"),
	/* A fully virtualized guest: the hypervisor's HVM support, and in dom0
	 * the device model (qemu-system-xen, which xen-dom0 installs), whose
	 * firmware boots the disk from its MBR. */
	XEN_GUEST("hvm"),
};
const unsigned boot_identities_count = ELEMENTSOF(boot_identities);

const struct boot_identity *boot_identity_find(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(boot_identities); i++)
		if (streq(boot_identities[i].name, name))
			return &boot_identities[i];
	return NULL;
}

const char *boot_identity_names(void)
{
	static char buf[128];
	size_t n = 0;
	for (size_t i = 0; i < ELEMENTSOF(boot_identities) && n < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? ", " : "",
				      boot_identities[i].name);
	return buf;
}

int boot_identity_parse(const char *s, const struct boot_identity **ret, char **reterr_msg)
{
	const struct boot_identity *id = boot_identity_find(s);
	if (id) {
		*ret = id;
		return 0;
	}
	const char *best = suggest_in(s, boot_identities, ELEMENTSOF(boot_identities), name);
	/* a profile name ("hyperv-guest") starts with its identity's name */
	for (size_t i = 0; i < ELEMENTSOF(boot_identities); i++)
		if (startswith(s, boot_identities[i].name)) {
			best = boot_identities[i].name;
			break;
		}
	if (best)
		return errmsg_set(reterr_msg, -EINVAL, "unknown identity '%s' (did you mean '%s'?)",
				  s, best);
	return errmsg_set(reterr_msg, -EINVAL, "unknown identity '%s'; use one of %s", s,
			  boot_identity_names());
}

const struct boot_identity *boot_identity_host(const struct boot_identity *id)
{
	return id->xen == XEN_DOMU ? boot_identity_find("xen-dom0") : id;
}

bool boot_identity_forced(const struct boot_identity *id, bool kvm)
{
	switch (id->presence) {
	case PRESENT_ALWAYS:
		return false;
	case PRESENT_WITH_KVM:
		return !kvm;
	case PRESENT_NEVER:
		return true;
	}
	return true;
}

bool boot_identity_accepts(const struct boot_identity *id, const char *hypervisor)
{
	for (const char *const *h = id->hypervisors; *h; h++)
		if (streq(*h, hypervisor))
			return true;
	return false;
}

static int reason(char **ret, const char *fmt, ...) _printf_(2, 3);
static int reason(char **ret, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(ret, fmt, ap) < 0)
		*ret = NULL;
	va_end(ap);
	return -EBADMSG;
}

int boot_identity_check(const struct boot_identity *id, bool forced, enum expect_change change,
			const struct agent_summary *s, char **ret_reason)
{
	if (!streq(s->profile, id->profile))
		return reason(ret_reason, "profile '%s', expected '%s'", s->profile, id->profile);
	if (forced && !s->forced)
		return reason(ret_reason,
			      "profile '%s' was forced on the kernel command line, but the agent "
			      "does not "
			      "say forced=yes",
			      id->profile);
	if (!forced) {
		if (s->forced)
			return reason(ret_reason,
				      "the agent says forced=yes, but nothing was forced");
		if (!boot_identity_accepts(id, s->hypervisor))
			return reason(ret_reason, "hypervisor '%s', expected '%s'", s->hypervisor,
				      id->hypervisors[0]);
		if (!streq(s->role, id->role))
			return reason(ret_reason, "role '%s', expected '%s'", s->role, id->role);
	}
	if (change == EXPECT_CHANGE_NO && s->changed)
		return reason(ret_reason,
			      "changed=yes on a repeated boot as '%s', expected changed=no (the "
			      "fast path)",
			      id->name);
	if (change == EXPECT_CHANGE_YES && !s->changed)
		return reason(ret_reason,
			      "changed=no after the move to '%s', expected changed=yes (migration)",
			      id->name);
	*ret_reason = NULL;
	return 0;
}
