/* SPDX-License-Identifier: MIT */
/*
 * choose.h - which profile a root gets, decided in one place for the agent
 * and for `enlighten install`: --profile; else what the configuration
 * forces (firstboot.conf's Profile=, the kernel command line's
 * enlighten.profile=); else the detector's verdict. A configuration that
 * disables the agent, or a container, means nothing to do unless a profile
 * is forced. The one header of firstboot/ that `install` includes.
 */
#pragma once

#include <stdbool.h>

#include "firstboot/config.h"
#include "firstboot/sources.h"

enum fb_choice {
	FB_CHOICE_PROFILE,   /* *ret_profile is the one */
	FB_CHOICE_DISABLED,  /* config->disable_source says who; no --profile */
	FB_CHOICE_CONTAINER, /* verdict->container; nothing forced */
	FB_CHOICE_NONE,	     /* the detector names no profile; nothing forced */
};

struct fb_choose_opts {
	const char *root;	 /* absolute; "/" is the running system */
	const char *profile_opt; /* --profile, or NULL */
	bool detect_always;	 /* detect even when a profile is forced (the agent reports it) */
	bool check_root;	 /* fb_config_check_root() for a root other than "/" */
	bool live;		 /* test hook: root, not "/", is a running system's */
	const char *cpuid_file;	 /* the detector's CPUID input, or NULL */
};

/* Fills *config and, where it detects, *verdict (the caller frees both,
 * also on failure). Returns an enum fb_choice; with FB_CHOICE_PROFILE,
 * *ret_profile (borrowed from config or verdict) and *ret_forced. -errno with
 * a message when the configuration cannot be read or detection fails. */
int fb_choose(int root_fd, const struct fb_choose_opts *o, struct fb_config *config,
	      struct fb_verdict *verdict, const char **ret_profile, bool *ret_forced,
	      char **reterr_msg);
