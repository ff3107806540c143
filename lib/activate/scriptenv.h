/* SPDX-License-Identifier: MIT */
/*
 * scriptenv.h - what the packages' own scripts (dpkg's maintainer scripts,
 * rpm's scriptlets) find first in their PATH while the agent's package
 * transaction runs: a directory on the root's filesystem (systemd mounts
 * /run noexec) with small shell commands that stand before the root's own.
 *
 * - systemctl: `daemon-reload` is nothing (debhelper's, update-rc.d's and
 *   Fedora's scripts run one per package and direction, seconds each under
 *   emulation); every other call goes to the root's systemctl. The agent
 *   reloads once afterwards, when a unit directory changed.
 * - udevadm: `trigger` without --settle (asynchronous: nothing may wait for
 *   it) is written down and run once after the transaction, each distinct
 *   argument list once, instead of re-running every udev rule on every
 *   device once per package; every other call goes to the root's udevadm.
 * - deb-systemd-helper: `debian-installed UNIT` (debhelper's postinst asks
 *   it once per unit, and each run of the Perl helper costs seconds under
 *   emulation) is answered from the helper's own state file
 *   (/var/lib/systemd/deb-systemd-helper-enabled/UNIT.dsh-also exists), as
 *   the helper answers it; every other call, and this one with options or
 *   under DPKG_ROOT, goes to the root's deb-systemd-helper, with this
 *   directory still first in PATH (the helper reloads systemd itself after
 *   a change: that reload is nothing too).
 * - invoke-rc.d and deb-systemd-invoke, only when the policy-rc.d that
 *   forbids every action is the agent's own (dpkgtx.c): they answer as they
 *   do when the policy forbids (exit 0, nothing done) without first asking
 *   systemd about the unit; --force, --query and --disclose-deny, which
 *   the policy does not settle, go to the root's own.
 */
#pragma once

#include <stdbool.h>

/* Absolute, for scripts that run chrooted into the root. */
#define SCRIPTENV_DIR "/var/lib/enlighten/script-path"

/* Writes the directory beneath root_fd; with policy_denies_all, the
 * invoke-rc.d and deb-systemd-invoke answers too. */
int scriptenv_begin(int root_fd, bool policy_denies_all);

/* The triggers written down, run now: only on the running system (root
 * "/"); in a tree there is no udev to ask, and they are dropped. A trigger
 * that fails is not the transaction's failure (the scripts ask with
 * `udevadm trigger || true`). Returns 0 or -ENOMEM. */
int scriptenv_finish(const char *root, int root_fd);

/* Removes the directory. */
void scriptenv_end(int root_fd);
