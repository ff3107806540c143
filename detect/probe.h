/* SPDX-License-Identifier: MIT */
/*
 * probe.h - what the probes share: the context they run in, the facts they
 * record for the rules (struct signals), evidence, and bounded reads that
 * note every bad signal instead of failing.
 *
 * A probe is a row { name, run } in the table of detect.c; it reads its
 * files beneath ctx->root_fd, records facts in ctx->sig and evidence in
 * ctx->v. A probe never fails the detection: unreadable or garbage input
 * becomes evidence. Only running out of memory stops it (ctx->oom).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detect/detect.h"
#include "detect/parse.h"
#include "lib/basic/macro.h"

#define CPUID_MAX_SIGNATURES 8
#define DIR_MAX_ENTRIES 4096 /* per directory listing (PCI devices, bus devices) */
#define EVIDENCE_MAX 512

enum dmi_field {
	DMI_SYS_VENDOR,
	DMI_PRODUCT_NAME,
	DMI_PRODUCT_VERSION,
	DMI_BIOS_VENDOR,
	DMI_BIOS_VERSION,
	DMI_BOARD_VENDOR,
	DMI_CHASSIS_ASSET_TAG,
	_DMI_FIELD_MAX,
};

struct cpuid_signature {
	uint32_t leaf;
	uint32_t max_leaf;
	char text[13];
	enum hypervisor hv;	/* HV_VM_OTHER for an unknown signature */
	bool hyperv_compatible; /* a Hyper-V interface ("Hv#1" at leaf+1), maybe not Hyper-V */
};

/* Facts the probes found; the rules read only these. */
struct signals {
	/* probe-cpuid.c */
	bool cpuid_available;
	bool cpuid_hv_bit;
	struct cpuid_signature sigs[CPUID_MAX_SIGNATURES];
	size_t n_sigs;
	bool hyperv_create_partitions; /* 0x40000003 EBX bit 0 */
	bool hyperv_cpu_management;    /* 0x40000003 EBX bit 12 */
	bool hyperv_nested;	       /* 0x40000004 EAX bit 12 */

	/* probe-dmi.c */
	char *dmi[_DMI_FIELD_MAX]; /* NULL: absent or unreadable */
	enum hypervisor dmi_hv;	   /* a VM product named by DMI, else HV_NONE */
	bool dmi_vm_bit_known;	   /* the SMBIOS type 0 structure could be read */
	bool dmi_vm_bit;	   /* SMBIOS type 0 "virtual machine" characteristic */
	bool dmi_microsoft_vendor; /* "Microsoft Corporation": Hyper-V or Surface */
	bool dmi_microsoft_vm;	   /* ... with "Virtual Machine": Hyper-V or Virtual PC */

	/* probe-sysfs-hypervisor.c */
	bool sys_hv_xen;	      /* /sys/hypervisor/type is "xen" */
	bool sys_hv_other;	      /* /sys/hypervisor/type names something else */
	enum xen_mode sys_guest_type; /* /sys/hypervisor/guest_type */
	bool xen_features_read;
	bool xen_feature_dom0; /* XENFEAT_dom0 */

	/* probe-xen.c */
	bool proc_xen; /* /proc/xen exists */
	bool xen_caps; /* /proc/xen/capabilities was read */
	bool control_d;

	/* probe-bus.c */
	size_t vmbus_devices;
	size_t xen_devices;
	enum hypervisor pci_hv; /* the strongest VM vendor among PCI devices */
	bool pci_xen_platform;	/* 5853:0001, the Xen platform device of HVM */
	bool pci_virtio;

	/* probe-devicetree.c */
	enum hypervisor dt_hv; /* HV_VM_OTHER: a /hypervisor node of unknown kind */
	bool dt_xen;

	/* probe-kernel.c */
	bool wsl1; /* "Microsoft" in the release: WSL1, no Linux kernel */
	bool wsl2; /* "microsoft" in the release: a WSL2 kernel (Hyper-V guest) */
	bool cpuinfo_hv_flag;
	bool uml;		     /* /proc/cpuinfo vendor_id "User Mode Linux" */
	enum hypervisor platform_hv; /* s390 /proc/sysinfo, POWER pSeries */
};

struct probe_ctx {
	int root_fd;
	bool cpuid_instruction;		       /* may execute CPUID */
	const struct cpuid_table *cpuid_table; /* --cpuid-file, or NULL */
	bool live;			       /* root is the running system's */
	bool at_slash;			       /* ... and it is this process's "/" */
	struct signals *sig;
	struct verdict *v;
	bool oom;
};

struct probe {
	const char *name;
	void (*run)(struct probe_ctx *ctx);
};

extern const struct probe probe_cpuid, probe_dmi, probe_sysfs_hypervisor, probe_xen, probe_bus,
	probe_devicetree, probe_kernel, probe_container;

/* evidence.c: appends {source, printf(fmt)}; sets ctx->oom on failure.
 * Past EVIDENCE_MAX entries one last "evidence truncated" entry is kept. */
void evidence_add(struct probe_ctx *ctx, const char *source, const char *fmt, ...) _printf_(3, 4);
void signals_done(struct signals *s);

/* probe-read.c: bounded reads beneath ctx->root_fd. All return -ENOENT
 * quietly for a missing file; any other failure (directory, FIFO, too
 * large, binary junk, unreadable) is noted as evidence under source and
 * returned as -errno. */

/* Whole file of at most max bytes. */
int probe_read(struct probe_ctx *ctx, const char *source, const char *path, size_t max, char **ret,
	       size_t *ret_size);
/* The first line of a file of at most VALUE_MAX bytes, trimmed, printable. */
int probe_read_value(struct probe_ctx *ctx, const char *source, const char *path, char **ret);
/* The first max bytes of a regular file (a longer file is fine). */
int probe_read_head(struct probe_ctx *ctx, const char *source, const char *path, size_t max,
		    char **ret, size_t *ret_size);
/* Calls fn for each entry name of directory path (not "." or ".."), at most
 * DIR_MAX_ENTRIES; returns the number of entries seen, -ENOENT, or -errno. */
int probe_list_dir(struct probe_ctx *ctx, const char *source, const char *path,
		   void (*fn)(struct probe_ctx *ctx, const char *name, void *userdata),
		   void *userdata);
/* True when path exists beneath the root (any type). */
bool probe_exists(struct probe_ctx *ctx, const char *path);

/* rules.c: evidence -> hypervisor, role, xen_mode, cloud (+ a "rule" evidence line).
 * The container (probe-container.c) is set by its probe directly. */
int rules_apply(struct probe_ctx *ctx);
