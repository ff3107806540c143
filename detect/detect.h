/* SPDX-License-Identifier: MIT */
/*
 * detect.h - the detector's public API: which hypervisor, in which role.
 *
 * detect_run() reads every signal (CPUID, DMI, /sys/hypervisor, /proc/xen,
 * buses, device tree, kernel) beneath a root directory, turns the evidence
 * into one verdict and maps it to an integration profile name. On the live
 * system it also says which container manager, if any, the process runs
 * under. It never
 * execs a program, never logs, and reads every file bounded; a garbage or
 * unreadable signal is noted in the evidence and the verdict still comes.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#ifndef _WIN32 /* the Windows agent (firstboot/windows/) writes JSON without json-c */
#include <json-c/json.h>
#endif

enum hypervisor {
	HV_NONE,
	HV_MICROSOFT,
	HV_XEN,
	HV_KVM,
	HV_QEMU,
	HV_VMWARE,
	HV_ORACLE,
	HV_PARALLELS,
	HV_BHYVE,
	HV_ZVM,
	HV_POWERVM,
	HV_ACRN,
	HV_APPLE,
	HV_UML,	      /* User-Mode Linux */
	HV_QNX,	      /* QNX hypervisor */
	HV_SRE,	      /* Lockheed Martin's SRE */
	HV_VMM,	      /* OpenBSD vmm(4) */
	HV_VIRTAGE,   /* Hitachi Virtage LPAR */
	HV_VIRTUALPC, /* Microsoft Virtual PC / Virtual Server, not Hyper-V */
	HV_PRSM,      /* IBM Z PR/SM: Linux directly in a logical partition */
	HV_VM_OTHER,
	_HV_MAX,
	_HV_INVALID = -22, /* -EINVAL */
};

enum role {
	ROLE_NONE,
	ROLE_GUEST,
	ROLE_ROOT, /* Hyper-V root (parent) partition */
	ROLE_DOM0, /* Xen control domain */
	_ROLE_MAX,
	_ROLE_INVALID = -22,
};

enum xen_mode {
	XEN_MODE_NONE,
	XEN_MODE_PV,
	XEN_MODE_HVM,
	XEN_MODE_PVH,
	_XEN_MODE_MAX,
	_XEN_MODE_INVALID = -22,
};

/* "none", "microsoft", "xen", "kvm", "qemu", "vmware", "oracle", "parallels",
 * "bhyve", "zvm", "powervm", "acrn", "apple", "uml", "qnx", "sre", "vmm",
 * "virtage", "virtualpc", "prsm", "vm-other". */
const char *hypervisor_to_string(enum hypervisor h);
enum hypervisor hypervisor_from_string(const char *s);
/* "none", "guest", "root", "dom0". */
const char *role_to_string(enum role r);
enum role role_from_string(const char *s);
/* "none", "pv", "hvm", "pvh" ("none" is printed as JSON null). */
const char *xen_mode_to_string(enum xen_mode m);
enum xen_mode xen_mode_from_string(const char *s);

struct evidence {
	char *source; /* "cpuid", "dmi", "sysfs-hypervisor", "xen", "bus", "pci", ... */
	char *detail; /* what was read and what it said, printable ASCII */
};

struct verdict {
	enum hypervisor hypervisor;
	enum role role;
	enum xen_mode xen_mode; /* XEN_MODE_NONE unless hypervisor is HV_XEN */
	char *cloud;		/* "azure", "aws", "gce", "alibaba", ...; NULL unknown */
	char *container;	/* "docker", "podman", "lxc", "wsl", ... on the live system;
				 * NULL: none, or not asked (another root) */
	char *profile;		/* "hyperv-guest", "xen-dom0", "metal", ... */
	struct evidence *evidence;
	size_t n_evidence;
};

struct detect_opts {
	const char *root;	/* NULL: "/" */
	const char *cpuid_file; /* NULL: the CPUID instruction, or none with a root */
	bool live;		/* root is a running system's (as NULL is): read its
				 * container signals too; off for an offline image */
};

/* Fills *ret with a new verdict (free with verdict_free). Returns 0, or
 * -errno when the root directory or the CPUID file cannot be opened at all
 * (-ENOENT, -ENOTDIR, -EACCES) or memory runs out. Bad content in any file,
 * the CPUID table included, is evidence, not an error. */
int detect_run(const struct detect_opts *o, struct verdict **ret);

/* Accepts NULL. */
void verdict_free(struct verdict *v);

#ifndef _WIN32
/* {"schema":1,"hypervisor":..,"role":..,"xen_mode":..|null,"cloud":..|null,
 *  "container":..|null,"profile":..,"evidence":[{"source":..,"detail":..},...]};
 * NULL on OOM. */
json_object *verdict_to_json(const struct verdict *v);
#endif

/* The profile name for a (hypervisor, role, xen_mode) triple, from the table
 * in profile-map.c: never NULL. */
const char *verdict_profile(enum hypervisor h, enum role r, enum xen_mode m);

/* Exit status of enlighten-detect: 0 with a hypervisor in any role, 1 none. */
static inline int verdict_exit_status(const struct verdict *v)
{
	return v->hypervisor == HV_NONE ? 1 : 0;
}
