/* SPDX-License-Identifier: MIT */
/*
 * units.h - enabling and disabling systemd units in a root tree, making and
 * removing the same symlinks `systemctl --root DIR enable|disable` does:
 * from the unit's [Install] section, WantedBy= and RequiredBy= give
 * etc/systemd/system/TARGET.wants|.requires/UNIT, Alias= gives
 * etc/systemd/system/ALIAS, Also= names units handled along with it; each
 * link points at the unit file's absolute path inside the root
 * ("/usr/lib/systemd/system/UNIT"). Preset files are read the way systemd
 * reads them (first match wins, etc/ over usr/lib/ for the same name).
 * NAME.service with no unit file but a System V script etc/init.d/NAME
 * (which systemd-sysv-generator turns into the unit) is enabled by the S
 * links in etc/rc[2-5].d that update-rc.d makes.
 */
#pragma once

#include <stdbool.h>

/* Makes the unit's links. Returns 1 when something changed, 0 when every link
 * was already there, -ENOENT when the unit file is not found, -ERFKILL when
 * it is masked, -EBADMSG for an [Install] section it cannot use (with a
 * message). */
int unit_enable(int root_fd, const char *unit, char **reterr_msg);

/* Removes the unit's links (those its [Install] section names and any link
 * named after it in a .wants/.requires directory). Returns 1 when something
 * was removed, 0 when nothing was there. A missing unit file is not an
 * error: the links named after the unit are still removed. */
int unit_disable(int root_fd, const char *unit, char **reterr_msg);

/* 1 when every link unit_enable would make is there, 0 when not (or the unit
 * has no [Install] links), -ENOENT when the unit file is not found. */
int unit_is_enabled(int root_fd, const char *unit);

/* 1 when some link of the unit exists (what disable would remove), else 0. */
int unit_has_links(int root_fd, const char *unit);

/* The preset policy that names the unit exactly (no wildcard): 1 enable,
 * 0 disable, -ENOENT when no preset line names it. */
int unit_preset_exact(int root_fd, const char *unit);
