/* SPDX-License-Identifier: MIT */
/*
 * paths.h - where enlighten's files live inside an image: the one list the
 * builder writes to, the agent reads from and `enlighten install` sets up
 * (docs/architecture.md). Relative to the image's root, for
 * fs_open_beneath(); a message puts '/' in front.
 */
#pragma once

/* Configuration the image is built with */
#define IMAGE_CONF_DIR "etc/enlighten"
#define IMAGE_FIRSTBOOT_CONF IMAGE_CONF_DIR "/firstboot.conf"
#define IMAGE_KEYS_DIR IMAGE_CONF_DIR "/keys"	      /* catalog keys, *.pub */
#define IMAGE_RPM_KEYS_DIR IMAGE_CONF_DIR "/rpm-keys" /* package-signing keys, *.asc */

/* What the agent keeps, and the local repository it installs from */
#define IMAGE_STATE_DIR "var/lib/enlighten"
#define IMAGE_STATE_FILE IMAGE_STATE_DIR "/state.json"
#define IMAGE_REPORT_FILE IMAGE_STATE_DIR "/report.json"
#define IMAGE_REPO_DIR IMAGE_STATE_DIR "/repo"
#define IMAGE_CLOSURE_FILE "closure.json" /* in IMAGE_REPO_DIR, beside the catalog */

/* What the build puts in */
#define IMAGE_DATA_DIR "usr/share/enlighten"
#define IMAGE_PROFILES_DIR IMAGE_DATA_DIR "/payloads/profiles"
#define IMAGE_BUILD_INFO IMAGE_DATA_DIR "/build.json"

/* The agent, its heavy half (which it execs when there is work) and its unit */
#define IMAGE_AGENT "usr/sbin/enlighten-firstboot"
#define IMAGE_AGENT_HELPER_NAME "enlighten-firstboot-apply"
#define IMAGE_AGENT_HELPER_DIR "usr/libexec/enlighten"
#define IMAGE_AGENT_HELPER IMAGE_AGENT_HELPER_DIR "/" IMAGE_AGENT_HELPER_NAME
#define IMAGE_UNIT "usr/lib/systemd/system/enlighten-firstboot.service"
#define IMAGE_UNIT_WANTS "etc/systemd/system/sysinit.target.wants/enlighten-firstboot.service"

/* The agent's heavy half for an agent in the directory agent_dir: beside it
 * (a build tree) or in ../libexec/enlighten/ (an install under any prefix).
 * Returns 0 with a malloc'ed path, -ENOENT when neither is executable. */
int agent_helper_find(const char *agent_dir, char **ret);
