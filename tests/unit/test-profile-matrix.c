/* SPDX-License-Identifier: MIT */
/*
 * test-profile-matrix.c - the shipped matrix (payloads/profiles) loads, and
 * every verdict maps to the profile the detector's table names (RULES
 * contract 1): each profile's [Match] agrees with the detector. Also: each
 * profile installs its own enlighten-ic package and removes nothing it
 * installs.
 */
#include <errno.h>
#include <stdio.h>

#include "lib/profile.h"
#include "lib/string-util.h"
#include "tests/unit/tap.h"

/* The detector's verdict -> profile table (contract 1). NULL xen_mode: not Xen. */
static const struct {
	const char *hypervisor, *role, *xen_mode, *profile;
} verdicts[] = {
	{ "none", "none", NULL, "metal" },
	{ "microsoft", "guest", NULL, "hyperv-guest" },
	{ "microsoft", "root", NULL, "hyperv-root" },
	{ "xen", "guest", "hvm", "xen-hvm" },
	{ "xen", "guest", "pvh", "xen-pvh" },
	{ "xen", "guest", "pv", "xen-pv" },
	{ "xen", "dom0", "pv", "xen-dom0" },
	{ "xen", "dom0", "pvh", "xen-dom0" },
	{ "xen", "dom0", NULL, "xen-dom0" },
	{ "vmware", "guest", NULL, "vmware-guest" },
	{ "kvm", "guest", NULL, "kvm-guest" },
	{ "qemu", "guest", NULL, "kvm-guest" },
	{ "bhyve", "guest", NULL, "kvm-guest" },
	{ "acrn", "guest", NULL, "kvm-guest" },
	{ "oracle", "guest", NULL, "generic-guest" },
	{ "parallels", "guest", NULL, "generic-guest" },
	{ "zvm", "guest", NULL, "generic-guest" },
	{ "powervm", "guest", NULL, "generic-guest" },
	{ "apple", "guest", NULL, "generic-guest" },
	{ "vm-other", "guest", NULL, "generic-guest" },
};

static void check_profile(const struct profile *p)
{
	const char *name = profile_name(p);
	char *const *pk = profile_get(p, PROFILE_LINUX_PACKAGES);
	char *const *rm = profile_get(p, PROFILE_LINUX_REMOVE_PACKAGES);
	_cleanup_free_ char *own = strjoin("enlighten-ic-", name);

	ok(strv_contains(pk, own), "%s installs %s", name, own);
	bool overlap = false;
	for (char *const *i = pk; *i; i++)
		if (strv_contains(rm, *i))
			overlap = true;
	ok(!overlap, "%s removes none of the packages it installs", name);

	/* boot-critical storage drivers are listed as modules to load or are
	 * the emulated controllers the generic initrd already has */
	char *const *mods = profile_get(p, PROFILE_LINUX_MODULES);
	char *const *bl = profile_get(p, PROFILE_LINUX_BLACKLIST);
	bool bad = false;
	for (char *const *i = profile_get(p, PROFILE_LINUX_INITRD_MODULES); *i; i++)
		if (strv_contains(bl, *i))
			bad = true;
	for (char *const *i = mods; *i; i++)
		if (strv_contains(bl, *i))
			bad = true;
	ok(!bad, "%s blacklists nothing it loads", name);
}

int main(void)
{
	const char *src = getenv("ENLIGHTEN_SRCDIR");
	_cleanup_free_ char *dir = strjoin(src ? src : ".", "/payloads/profiles");
	_cleanup_free_ char *msg = NULL;
	struct profile_set *s = NULL;

	is_int(profile_set_load(dir, &s, &msg), 0, "the shipped matrix loads");
	if (msg)
		printf("# %s\n", msg);
	if (!s)
		return tap_done();
	is_int(profile_set_size(s), 10, "ten profiles");

	for (size_t i = 0; i < ELEMENTSOF(verdicts); i++) {
		const struct profile *p = NULL;
		int r = profile_set_match(s, verdicts[i].hypervisor, verdicts[i].role,
					  verdicts[i].xen_mode, &p);
		is_int(r, 0, "%s/%s/%s matches one profile", verdicts[i].hypervisor,
		       verdicts[i].role, verdicts[i].xen_mode ?: "none");
		is_str(p ? profile_name(p) : NULL, verdicts[i].profile, "%s/%s/%s -> %s",
		       verdicts[i].hypervisor, verdicts[i].role, verdicts[i].xen_mode ?: "none",
		       verdicts[i].profile);
	}
	for (size_t i = 0; i < profile_set_size(s); i++)
		check_profile(profile_set_get(s, i));

	profile_set_free(s);
	return tap_done();
}
