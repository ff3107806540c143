/* SPDX-License-Identifier: MIT */
/*
 * test-choose.c - the profile a root gets, as the agent and `install` both
 * choose it: --profile over the configuration over the detector; a disabled
 * agent does nothing unless a profile is given; a broken configuration is an
 * error that names its line. The detector runs on the kvm fixture.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "firstboot/choose.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"
#include "tests/unit/tap.h"

struct got {
	struct fb_config config;
	struct fb_verdict verdict;
	const char *profile;
	bool forced;
	char *msg;
};

static void got_done(struct got *g)
{
	fb_config_done(&g->config);
	fb_verdict_done(&g->verdict);
	free(g->msg);
	*g = (struct got){};
}

static int choose(const char *root, const struct fb_choose_opts *opts, struct got *g)
{
	struct fb_choose_opts o = *opts;
	o.root = root;
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = fb_choose(fd, &o, &g->config, &g->verdict, &g->profile, &g->forced, &g->msg);
	close(fd);
	return r;
}

static void conf_root(const char *name, const char *conf)
{
	char p[PATH_MAX];
	mkdir(name, 0755);
	snprintf(p, sizeof(p), "%s/etc", name);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/etc/enlighten", name);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/etc/enlighten/firstboot.conf", name);
	tap_write(p, conf);
}

int main(void)
{
	const char *src = getenv("ENLIGHTEN_SRCDIR");
	_cleanup_free_ char *kvm = strjoin(src ? src : ".", "/tests/fixtures/detect/kvm/root");
	_cleanup_free_ char *cpuid = strjoin(src ? src : ".", "/tests/fixtures/detect/kvm/cpuid");
	struct got g = {};

	is_int(choose(kvm, &(struct fb_choose_opts){ .cpuid_file = cpuid }, &g), FB_CHOICE_PROFILE,
	       "nothing forced: the detector chooses");
	is_str(g.profile, "kvm-guest", "... kvm-guest on the kvm fixture");
	ok(!g.forced, "... not forced");
	got_done(&g);

	is_int(choose(kvm,
		      &(struct fb_choose_opts){ .profile_opt = "xen-hvm", .cpuid_file = cpuid },
		      &g),
	       FB_CHOICE_PROFILE, "--profile");
	is_str(g.profile, "xen-hvm", "... wins over the detector");
	ok(g.forced, "... forced");
	is_str(g.config.profile_source, "--profile", "... and says where it came from");
	ok(!g.verdict.hypervisor, "... without detecting (as install chooses)");
	got_done(&g);

	is_int(choose(kvm,
		      &(struct fb_choose_opts){ .profile_opt = "xen-hvm",
						.detect_always = true,
						.cpuid_file = cpuid },
		      &g),
	       FB_CHOICE_PROFILE, "--profile, detecting all the same (as the agent chooses)");
	is_str(g.verdict.hypervisor, "kvm", "... the verdict is there for the report");
	is_str(g.profile, "xen-hvm", "... and the profile is still the forced one");
	got_done(&g);

	tap_tmpdir();
	conf_root("pinned", "[Firstboot]\nProfile=hyperv-guest\n");
	is_int(choose("pinned", &(struct fb_choose_opts){}, &g), FB_CHOICE_PROFILE,
	       "firstboot.conf's Profile=");
	is_str(g.profile, "hyperv-guest", "... is the profile");
	is_str(g.config.profile_source, "firstboot.conf", "... from firstboot.conf");
	ok(g.forced, "... forced");
	got_done(&g);

	conf_root("off", "Disable=yes\n");
	is_int(choose("off", &(struct fb_choose_opts){}, &g), FB_CHOICE_DISABLED,
	       "Disable=yes: nothing to do");
	got_done(&g);
	is_int(choose("off", &(struct fb_choose_opts){ .profile_opt = "kvm-guest" }, &g),
	       FB_CHOICE_PROFILE, "... unless --profile is given");
	got_done(&g);

	conf_root("bad", "[Firstboot]\nProfil=kvm-guest\n");
	is_int(choose("bad", &(struct fb_choose_opts){}, &g), -EINVAL, "a broken configuration");
	ok(g.msg && strstr(g.msg, "line 2") && strstr(g.msg, "did you mean 'Profile'"),
	   "... names its line and the right key: %s", g.msg);
	got_done(&g);
	return tap_done();
}
