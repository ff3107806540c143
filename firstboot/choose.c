/* SPDX-License-Identifier: MIT */
/*
 * choose.c - the profile a root gets (choose.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "firstboot/choose.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/string-util.h"

int fb_choose(int root_fd, const struct fb_choose_opts *o, struct fb_config *config,
	      struct fb_verdict *verdict, const char **ret_profile, bool *ret_forced,
	      char **reterr_msg)
{
	int r = fb_config_load(root_fd, config, reterr_msg);
	if (r >= 0)
		r = fb_config_cmdline(root_fd, config, reterr_msg);
	if (r >= 0 && o->check_root)
		r = fb_config_check_root(config, o->root, reterr_msg);
	if (r < 0)
		return errmsg_default(reterr_msg, r, "cannot read the configuration: %s",
				      strerror(-r));
	if (o->profile_opt) {
		free(config->profile);
		config->profile = strdup(o->profile_opt);
		config->profile_source = "--profile";
		if (!config->profile)
			return -ENOMEM;
	}
	if (config->disable && !o->profile_opt)
		return FB_CHOICE_DISABLED;

	bool forced = config->profile != NULL;
	if (!forced || o->detect_always) {
		r = fb_detect(streq(o->root, "/") ? NULL : o->root, o->live, o->cpuid_file, verdict,
			      reterr_msg);
		if (r < 0)
			return errmsg_default(reterr_msg, r, "detection failed: %s", strerror(-r));
	}
	if (!forced && verdict->container)
		return FB_CHOICE_CONTAINER; /* the hypervisor and its drivers are the host's */
	const char *profile = forced ? config->profile : verdict->profile;
	if (!profile)
		return FB_CHOICE_NONE;
	*ret_profile = profile;
	*ret_forced = forced;
	return FB_CHOICE_PROFILE;
}
