/* SPDX-License-Identifier: MIT */
/*
 * profile-map.c - verdict -> integration profile name. The profile matrix
 * (payloads/profiles/<name>.conf, [Match]) must agree with this table; a
 * test compares them. The first row that matches wins; ANY matches all.
 */
#include "detect/detect.h"
#include "lib/basic/macro.h"

#define ANY (-1)

static const struct {
	int hv, role, mode;
	const char *profile;
} profile_map[] = {
	{ HV_NONE, ANY, ANY, "metal" },
	{ HV_MICROSOFT, ROLE_ROOT, ANY, "hyperv-root" },
	{ HV_MICROSOFT, ANY, ANY, "hyperv-guest" },
	{ HV_XEN, ROLE_DOM0, ANY, "xen-dom0" },
	{ HV_XEN, ANY, XEN_MODE_PVH, "xen-pvh" },
	{ HV_XEN, ANY, XEN_MODE_PV, "xen-pv" },
	{ HV_XEN, ANY, ANY, "xen-hvm" },
	{ HV_VMWARE, ANY, ANY, "vmware-guest" },
	{ HV_KVM, ANY, ANY, "kvm-guest" },
	{ HV_QEMU, ANY, ANY, "kvm-guest" },
	{ HV_BHYVE, ANY, ANY, "kvm-guest" }, /* virtio devices */
	{ HV_ACRN, ANY, ANY, "kvm-guest" },  /* virtio devices */
	{ ANY, ANY, ANY, "generic-guest" },  /* oracle, parallels, zvm, powervm, apple, vm-other */
};

const char *verdict_profile(enum hypervisor h, enum role r, enum xen_mode m)
{
	for (size_t i = 0; i < ELEMENTSOF(profile_map); i++)
		if ((profile_map[i].hv == ANY || profile_map[i].hv == (int)h) &&
		    (profile_map[i].role == ANY || profile_map[i].role == (int)r) &&
		    (profile_map[i].mode == ANY || profile_map[i].mode == (int)m))
			return profile_map[i].profile;
	return "generic-guest";
}
