/* SPDX-License-Identifier: MIT */
/*
 * test-profile-matrix.c - the shipped matrix (payloads/profiles) loads, and
 * for every (hypervisor, role, xen_mode) the detector can say, the profile
 * whose [Match] fits is the one the detector's table names
 * (verdict_profile(), detect/profile-map.c). Also: each profile installs
 * its own enlighten-ic package and removes nothing it installs.
 */
#include <errno.h>
#include <stdio.h>

#include "detect/detect.h"

#include "lib/activate/profile.h"
#include "lib/basic/string-util.h"
#include "tests/unit/tap.h"

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

	/* every triple, one test each way would be 224 lines: report mismatches */
	unsigned checked = 0, wrong = 0;
	for (int h = 0; h < _HV_MAX; h++)
		for (int r = 0; r < _ROLE_MAX; r++)
			for (int m = 0; m < _XEN_MODE_MAX; m++) {
				const char *hv = hypervisor_to_string(h);
				const char *role = role_to_string(r);
				const char *mode = xen_mode_to_string(m);
				const char *want = verdict_profile(h, r, m);
				const struct profile *p = NULL;
				int k = profile_set_match(s, hv, role, mode, &p);
				checked++;
				if (k < 0 || !streq(profile_name(p), want)) {
					wrong++;
					printf("# %s/%s/%s: detector says '%s', matrix says '%s'\n",
					       hv, role, mode, want,
					       k == -ENOTUNIQ ? "(ambiguous)"
					       : k < 0	      ? "(none)"
							      : profile_name(p));
				}
			}
	is_int(checked, _HV_MAX * _ROLE_MAX * _XEN_MODE_MAX, "every verdict checked");
	is_int(wrong, 0, "[Match] agrees with the detector's table for every verdict");

	/* and every profile the detector names exists */
	for (int h = 0; h < _HV_MAX; h++)
		ok(profile_set_find(s, verdict_profile(h, ROLE_GUEST, XEN_MODE_NONE)),
		   "profile '%s' exists", verdict_profile(h, ROLE_GUEST, XEN_MODE_NONE));
	ok(profile_set_find(s, verdict_profile(HV_MICROSOFT, ROLE_ROOT, XEN_MODE_NONE)),
	   "hyperv-root exists");
	ok(profile_set_find(s, verdict_profile(HV_XEN, ROLE_DOM0, XEN_MODE_PV)), "xen-dom0 exists");
	for (size_t i = 0; i < profile_set_size(s); i++)
		check_profile(profile_set_get(s, i));

	profile_set_free(s);
	return tap_done();
}
