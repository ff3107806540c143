/* SPDX-License-Identifier: MIT */
/*
 * identity.h - the hypervisor identities `enlighten boot-test` can
 * present with QEMU, and what the first-boot agent must report for each.
 */
#pragma once

#include <stdbool.h>

#include "lib/activate/summary.h"

/* How much of an identity QEMU can show the guest's detector. */
enum identity_presence {
	PRESENT_ALWAYS,	  /* DMI and CPUID both, with TCG or KVM */
	PRESENT_WITH_KVM, /* the CPUID leaves need KVM (hv-* flags); TCG forces the profile */
	PRESENT_NEVER,	  /* QEMU cannot present the CPUID signature: the profile is forced */
};

/* Where the agent under test runs on a Xen identity. */
enum xen_role {
	XEN_NONE, /* not Xen: the QEMU guest itself */
	XEN_DOM0, /* QEMU's guest boots Xen, the image is its control domain */
	XEN_DOMU, /* and, inside that dom0, a guest of the same image (xl create) */
};

struct boot_identity {
	const char *name;
	const char *const *smbios;  /* -smbios values, NULL-terminated; NULL: QEMU's defaults */
	const char *cpu_kvm;	    /* -cpu with KVM */
	const char *cpu_tcg;	    /* -cpu with TCG */
	const char *machine_extra;  /* appended to -machine, or NULL */
	const char *nic_model;	    /* a NIC whose PCI ids the detector may read, or NULL */
	bool ahci_disk;		    /* the disk on q35's AHCI, not virtio (whose PCI id says KVM) */
	bool bare_bios;		    /* an SMBIOS type 0 without the virtual machine bit */
	const char *no_guest_agent; /* why the guest agent's virtio channel stays off, or NULL */
	enum identity_presence presence;
	const char *why_forced;		/* what QEMU cannot present, for the report */
	const char *const *hypervisors; /* the detector's acceptable answers, NULL-terminated */
	const char *role;
	const char *profile;
	unsigned memory_mib;	      /* QEMU's memory, 0: the default */
	enum xen_role xen;	      /* boot the image's Xen entry (and a guest in its dom0) */
	const char *xen_type;	      /* XEN_DOMU: the guest's xl type= (pv, pvh, hvm) */
	const char *const *processes; /* must run inside the guest (by name), or NULL */
	const char *const *commands;  /* must exit 0 inside the guest (argv, space-separated) */
};

extern const struct boot_identity boot_identities[];
extern const unsigned boot_identities_count;

/* What QEMU boots for id: itself, or the dom0 identity when its agent runs
 * in a Xen guest. */
const struct boot_identity *boot_identity_host(const struct boot_identity *id);

/* The identity called name, or NULL. */
const struct boot_identity *boot_identity_find(const char *name);

/* The identity called s, or -EINVAL with *reterr_msg naming the nearest
 * one (a profile name, "hyperv-guest", gives its identity) or all. */
int boot_identity_parse(const char *s, const struct boot_identity **ret, char **reterr_msg);

/* Every identity's name, ", "-separated (a static buffer). */
const char *boot_identity_names(void);

/* Whether the profile must be forced on the kernel command line. */
bool boot_identity_forced(const struct boot_identity *id, bool kvm);

/* Whether hypervisor is one the identity's detector may report. */
bool boot_identity_accepts(const struct boot_identity *id, const char *hypervisor);

enum expect_change {
	EXPECT_CHANGE_ANY, /* a first boot: the image may or may not be set up yet */
	EXPECT_CHANGE_NO,  /* the same identity again: the fast path */
	EXPECT_CHANGE_YES, /* another identity with another profile: migration */
};

/* Checks a summary against what identity id (profile forced or not) must
 * give. Returns 0 on a match; -EBADMSG otherwise, with *ret_reason saying
 * what differed. */
int boot_identity_check(const struct boot_identity *id, bool forced, enum expect_change change,
			const struct agent_summary *s, char **ret_reason);
