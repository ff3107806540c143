/* SPDX-License-Identifier: MIT */
/*
 * probe-cpuid.c - hypervisor evidence from CPUID: the hypervisor-present bit
 * (leaf 1 ECX bit 31), the vendor signature at 0x40000000 and, only past a
 * Hyper-V interface, the next bases in steps of 0x100; the Hyper-V partition
 * privileges and nesting hints.
 *
 * KVM and Xen that expose Hyper-V enlightenments put a Hyper-V interface
 * ("Hv#1" at base+1, under "Microsoft Hv" or a vendor id of the user's
 * choosing) at 0x40000000 and their own signature at 0x40000100. Nothing
 * else moves a hypervisor's leaves, so the scan reads the next base only
 * after a Hyper-V interface and stops at the first base that is not one:
 * in a guest each CPUID is a VM exit. docs/detect.md gives the reasons.
 * The registers come from the instruction, or from the table of
 * --cpuid-file (fixtures, tests, other architectures).
 */
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define HAVE_CPUID_INSN 1
#else
#define HAVE_CPUID_INSN 0
#endif

#include "detect/probe.h"

#define LEAF_HV_FIRST 0x40000000u
#define LEAF_HV_LAST 0x40010000u
#define LEAF_HV_STEP 0x100u

/* Hyper-V TLFS; Linux include/asm-generic/hyperv-tlfs.h and
 * arch/x86/include/asm/hyperv-tlfs.h name the same bits. */
#define HYPERV_INTERFACE_HV1 0x31237648u /* "Hv#1" in EAX of base+1 */
#define HYPERV_LEAF_FEATURES 3		 /* base+3 EBX: partition privileges (high) */
#define HYPERV_LEAF_ENLIGHTENMENT 4	 /* base+4 EAX: recommendations */
#define HYPERV_LEAF_NESTED_FEATURES 0xA	 /* base+0xA: present under a nested hypervisor */
#define HV_CREATE_PARTITIONS (1u << 0)
#define HV_CPU_MANAGEMENT (1u << 12)
#define HV_X64_HYPERV_NESTED (1u << 12)

static const struct {
	char text[13]; /* 12 bytes EBX ECX EDX, NUL padded */
	enum hypervisor hv;
	bool hyperv_compatible;
} signatures[] = {
	{ "Microsoft Hv", HV_MICROSOFT, true },
	{ "Linux KVM Hv", HV_KVM, true }, /* KVM's own Hyper-V emulation */
	{ "KVMKVMKVM", HV_KVM, false },
	{ "TCGTCGTCGTCG", HV_QEMU, false },
	{ "XenVMMXenVMM", HV_XEN, false },
	{ "VMwareVMware", HV_VMWARE, false },
	{ "VBoxVBoxVBox", HV_ORACLE, false },
	{ "prl hyperv  ", HV_PARALLELS, false },
	{ " lrpepyh  vr", HV_PARALLELS, false },
	{ "bhyve bhyve ", HV_BHYVE, false },
	{ "ACRNACRNACRN", HV_ACRN, false },
	{ "QNXQVMBSQG", HV_QNX, false },
	{ "SRESRESRESRE", HV_SRE, false },
	{ "Apple VZ", HV_APPLE, false },
	{ "LKVMLKVMLKVM", HV_KVM, false }, /* kvmtool */
	{ "OpenBSDVMM58", HV_VMM, false },
	{ "Jailhouse", HV_VM_OTHER, false },
	{ "UnisysSpar64", HV_VM_OTHER, false },
};

/* Registers of (leaf, subleaf); false when there is no CPUID to ask. */
static bool cpuid_get(struct probe_ctx *ctx, uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
	if (ctx->cpuid_table) {
		cpuid_table_lookup(ctx->cpuid_table, leaf, subleaf, r);
		return true;
	}
#if HAVE_CPUID_INSN
	if (ctx->cpuid_instruction) {
		__cpuid_count(leaf, subleaf, r[0], r[1], r[2], r[3]);
		return true;
	}
#endif
	return false;
}

/* The 12 signature bytes as text; false unless printable with NUL padding. */
static bool signature_text(const uint32_t r[4], char out[13])
{
	memcpy(out, &r[1], 4);
	memcpy(out + 4, &r[2], 4);
	memcpy(out + 8, &r[3], 4);
	out[12] = '\0';
	size_t n = strnlen(out, 12);
	if (n == 0)
		return false;
	for (size_t i = 0; i < 12; i++)
		if (i < n ? (out[i] < ' ' || out[i] > '~') : out[i] != '\0')
			return false;
	return true;
}

/* Records the signature of base; NULL when it repeats one already seen
 * (some hypervisors answer every base alike) or the table is full. */
static struct cpuid_signature *record_signature(struct probe_ctx *ctx, uint32_t leaf,
						const uint32_t r[4], const char *text)
{
	struct signals *s = ctx->sig;
	uint32_t next[4];

	for (size_t i = 0; i < s->n_sigs; i++)
		if (streq(s->sigs[i].text, text))
			return NULL;
	if (s->n_sigs >= CPUID_MAX_SIGNATURES) {
		evidence_add(ctx, "cpuid", "0x%08x '%s': more than %d signatures, ignored", leaf,
			     text, CPUID_MAX_SIGNATURES);
		return NULL;
	}
	struct cpuid_signature *sig = &s->sigs[s->n_sigs++];
	*sig = (struct cpuid_signature){ .leaf = leaf, .max_leaf = r[0], .hv = HV_VM_OTHER };
	memcpy(sig->text, text, sizeof(sig->text));
	for (size_t i = 0; i < ELEMENTSOF(signatures); i++)
		if (streq(signatures[i].text, text)) {
			sig->hv = signatures[i].hv;
			sig->hyperv_compatible = signatures[i].hyperv_compatible;
		}
	/* A vendor id of the user's choosing (QEMU hv-vendor-id) still has the
	 * interface signature at base+1; a named hypervisor needs no look. */
	if (sig->hv == HV_VM_OTHER && r[0] > leaf) {
		cpuid_get(ctx, leaf + 1, 0, next);
		sig->hyperv_compatible = next[0] == HYPERV_INTERFACE_HV1;
	}
	evidence_add(ctx, "cpuid", "0x%08x '%s' max leaf 0x%08x: %s%s", leaf, text, r[0],
		     hypervisor_to_string(sig->hv),
		     sig->hyperv_compatible ? " (Hyper-V interface)" : "");
	return sig;
}

/* Partition privileges and nesting hints of a Hyper-V interface at base. */
static void probe_hyperv_leaves(struct probe_ctx *ctx, uint32_t base)
{
	struct signals *s = ctx->sig;
	uint32_t r[4];

	cpuid_get(ctx, base + 1, 0, r);
	if (r[0] != HYPERV_INTERFACE_HV1) {
		evidence_add(ctx, "cpuid", "0x%08x EAX 0x%08x: not the 'Hv#1' interface", base + 1,
			     r[0]);
		return;
	}
	cpuid_get(ctx, base + HYPERV_LEAF_FEATURES, 0, r);
	bool create = r[1] & HV_CREATE_PARTITIONS, cpu = r[1] & HV_CPU_MANAGEMENT;
	evidence_add(ctx, "cpuid", "0x%08x EBX 0x%08x: CreatePartitions %s, CpuManagement %s",
		     base + HYPERV_LEAF_FEATURES, r[1], create ? "yes" : "no", cpu ? "yes" : "no");
	cpuid_get(ctx, base + HYPERV_LEAF_ENLIGHTENMENT, 0, r);
	bool nested = r[0] & HV_X64_HYPERV_NESTED;
	if (nested) { /* each leaf is a VM exit: the nested one only when it can matter */
		evidence_add(ctx, "cpuid",
			     "0x%08x EAX 0x%08x: the hypervisor runs nested in a Hyper-V partition",
			     base + HYPERV_LEAF_ENLIGHTENMENT, r[0]);
		cpuid_get(ctx, base + HYPERV_LEAF_NESTED_FEATURES, 0, r);
		if (r[0] | r[1] | r[2] | r[3])
			evidence_add(ctx, "cpuid",
				     "0x%08x EAX 0x%08x: nested virtualization features",
				     base + HYPERV_LEAF_NESTED_FEATURES, r[0]);
	}
	if (!s->hyperv_create_partitions && !s->hyperv_cpu_management) {
		s->hyperv_create_partitions = create;
		s->hyperv_cpu_management = cpu;
	}
	s->hyperv_nested |= nested;
}

/* The vendor bases from 0x40000000: the next one only past a Hyper-V
 * interface, until a base has no signature. Returns the bases read. */
static unsigned scan_vendor_leaves(struct probe_ctx *ctx)
{
	unsigned bases = 0;
	uint32_t r[4];

	for (uint32_t leaf = LEAF_HV_FIRST; leaf <= LEAF_HV_LAST; leaf += LEAF_HV_STEP) {
		char text[13];
		bases++;
		cpuid_get(ctx, leaf, 0, r);
		if (!(r[1] | r[2] | r[3]))
			break;
		if (!signature_text(r, text)) {
			evidence_add(ctx, "cpuid",
				     "0x%08x EBX 0x%08x ECX 0x%08x EDX 0x%08x: not a signature",
				     leaf, r[1], r[2], r[3]);
			break;
		}
		const struct cpuid_signature *sig = record_signature(ctx, leaf, r, text);
		if (!sig || !sig->hyperv_compatible)
			break;
	}
	return bases;
}

static void run(struct probe_ctx *ctx)
{
	struct signals *s = ctx->sig;
	uint32_t r[4];

	if (!cpuid_get(ctx, 1, 0, r)) {
		evidence_add(ctx, "cpuid", "not available (another root, or not x86)");
		return;
	}
	s->cpuid_available = true;
	s->cpuid_hv_bit = r[2] & (1u << 31);
	evidence_add(ctx, "cpuid", "leaf 0x1 ECX 0x%08x: hypervisor bit %s", r[2],
		     s->cpuid_hv_bit ? "set" : "clear");
	if (!s->cpuid_hv_bit)
		return; /* bare-metal CPUs answer 0x4000xxxx with unrelated data */

	unsigned bases = scan_vendor_leaves(ctx);
	if (s->n_sigs == 0)
		evidence_add(ctx, "cpuid", "no vendor signature at 0x%08x", LEAF_HV_FIRST);
	else if (bases > 1)
		evidence_add(ctx, "cpuid", "%u vendor bases read, from 0x%08x to 0x%08x", bases,
			     LEAF_HV_FIRST, LEAF_HV_FIRST + (bases - 1) * LEAF_HV_STEP);

	/* The privileges matter only when the Hyper-V interface is the
	 * hypervisor itself, not an enlightenment of the one behind it. */
	const struct cpuid_signature *last = s->n_sigs > 0 ? &s->sigs[s->n_sigs - 1] : NULL;
	if (last && last->hyperv_compatible)
		probe_hyperv_leaves(ctx, s->sigs[0].leaf);
	if (last && last->hv == HV_XEN) {
		cpuid_get(ctx, last->leaf + 1, 0, r);
		evidence_add(ctx, "cpuid", "0x%08x EAX 0x%08x: Xen %u.%u", last->leaf + 1, r[0],
			     r[0] >> 16, r[0] & 0xffff);
	}
}

const struct probe probe_cpuid = { .name = "cpuid", .run = run };
