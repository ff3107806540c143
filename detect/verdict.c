/* SPDX-License-Identifier: MIT */
/*
 * verdict.c - the verdict's names, its JSON form and its destructor.
 */
#include <stdlib.h>

#include "detect/detect.h"
#include "lib/basic/macro.h"
#ifndef _WIN32
#include "lib/basic/json.h"
#endif

static const char *const hypervisor_table[_HV_MAX] = {
	[HV_NONE] = "none",
	[HV_MICROSOFT] = "microsoft",
	[HV_XEN] = "xen",
	[HV_KVM] = "kvm",
	[HV_QEMU] = "qemu",
	[HV_VMWARE] = "vmware",
	[HV_ORACLE] = "oracle",
	[HV_PARALLELS] = "parallels",
	[HV_BHYVE] = "bhyve",
	[HV_ZVM] = "zvm",
	[HV_POWERVM] = "powervm",
	[HV_ACRN] = "acrn",
	[HV_APPLE] = "apple",
	[HV_UML] = "uml",
	[HV_QNX] = "qnx",
	[HV_SRE] = "sre",
	[HV_VMM] = "vmm",
	[HV_VIRTAGE] = "virtage",
	[HV_VIRTUALPC] = "virtualpc",
	[HV_PRSM] = "prsm",
	[HV_VM_OTHER] = "vm-other",
};
DEFINE_STRING_TABLE_LOOKUP(hypervisor, enum hypervisor);

static const char *const role_table[_ROLE_MAX] = {
	[ROLE_NONE] = "none",
	[ROLE_GUEST] = "guest",
	[ROLE_ROOT] = "root",
	[ROLE_DOM0] = "dom0",
};
DEFINE_STRING_TABLE_LOOKUP(role, enum role);

static const char *const xen_mode_table[_XEN_MODE_MAX] = {
	[XEN_MODE_NONE] = "none",
	[XEN_MODE_PV] = "pv",
	[XEN_MODE_HVM] = "hvm",
	[XEN_MODE_PVH] = "pvh",
};
DEFINE_STRING_TABLE_LOOKUP(xen_mode, enum xen_mode);

void verdict_free(struct verdict *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n_evidence; i++) {
		free(v->evidence[i].source);
		free(v->evidence[i].detail);
	}
	free(v->evidence);
	free(v->cloud);
	free(v->container);
	free(v->profile);
	free(v);
}

#ifndef _WIN32 /* the Windows agent writes its JSON without json-c */
static int add(json_object *o, const char *key, json_object *val, bool may_be_null)
{
	if (!val && !may_be_null)
		return -ENOMEM;
	if (json_object_object_add(o, key, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

json_object *verdict_to_json(const struct verdict *v)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	json_object *ev;

	if (!o)
		return NULL;
	if (add(o, "schema", json_object_new_int(1), false) < 0 ||
	    add(o, "hypervisor", json_object_new_string(hypervisor_to_string(v->hypervisor)),
		false) < 0 ||
	    add(o, "role", json_object_new_string(role_to_string(v->role)), false) < 0 ||
	    add(o, "xen_mode",
		v->hypervisor == HV_XEN ? json_object_new_string(xen_mode_to_string(v->xen_mode))
					: NULL,
		v->hypervisor != HV_XEN) < 0 ||
	    add(o, "cloud", json_string_or_null(v->cloud), !v->cloud) < 0 ||
	    add(o, "container", json_string_or_null(v->container), !v->container) < 0 ||
	    add(o, "profile", json_object_new_string(v->profile ? v->profile : ""), false) < 0 ||
	    add(o, "evidence", ev = json_object_new_array(), false) < 0)
		return NULL;
	for (size_t i = 0; i < v->n_evidence; i++) {
		json_object *e = json_object_new_object();
		if (!e || json_object_array_add(ev, e) < 0) {
			json_object_put(e);
			return NULL;
		}
		if (add(e, "source", json_object_new_string(v->evidence[i].source), false) < 0 ||
		    add(e, "detail", json_object_new_string(v->evidence[i].detail), false) < 0)
			return NULL;
	}
	return TAKE_PTR(o);
}
#endif
