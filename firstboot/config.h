/* SPDX-License-Identifier: MIT */
/*
 * config.h - the agent's settings: /etc/enlighten/firstboot.conf (INI,
 * docs/firstboot-conf.md), then the kernel command line (enlighten.profile=,
 * enlighten.disable=), then the command line options, each overriding the
 * one before.
 */
#pragma once

#include <stdbool.h>

#include "lib/activate/rpmtx.h"

struct fb_config {
	char *profile;		    /* forced profile, or NULL */
	const char *profile_source; /* "firstboot.conf", "kernel command line", "--profile" */
	bool disable;
	const char *disable_source;
	char *repository; /* beneath the root */
	char *public_key; /* beneath the root; NULL: every IMAGE_KEYS_DIR/\*.pub */
	enum rpmtx_verify verify;
	char *initrd_tool; /* NULL: dracut */
	bool no_grow_root; /* GrowRoot=no: leave the root's size as the image has it */
	/* the catalog's product and channel this system follows; NULL: any
	 * for the image's repository, the portal client's default for
	 * `enlighten install` */
	char *product, *channel;
};

void fb_config_done(struct fb_config *c);

/* Loads IMAGE_FIRSTBOOT_CONF beneath root_fd (absent: defaults). -EINVAL with a
 * message naming the line for anything it does not understand. */
int fb_config_load(int root_fd, struct fb_config *c, char **reterr_msg);

/* With a root other than "/", the tree is input, not the system that
 * trusts it: InitrdTool= must name one of the host's own initrd builders
 * (-EPERM with a message otherwise). */
int fb_config_check_root(const struct fb_config *c, const char *root, char **reterr_msg);

/* Applies enlighten.profile= and enlighten.disable= from proc/cmdline
 * beneath root_fd (absent: nothing). */
int fb_config_cmdline(int root_fd, struct fb_config *c, char **reterr_msg);
