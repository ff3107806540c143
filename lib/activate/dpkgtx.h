/* SPDX-License-Identifier: MIT */
/*
 * dpkgtx.h - Debian package transactions on a root tree through the root's
 * own dpkg, run by argv (never a shell), offline: the packages come as
 * files from the image's local repository, whose signed catalog already
 * vouched for each file's length and SHA-256.
 *
 * Before dpkg runs, each package file's control is read and checked
 * against the root's database: an architecture its dpkg installs, and each
 * dependency named by a package installed or in the set (dpkgtx.c). What
 * only dpkg checks (versions, Conflicts, Breaks) fails in the real run:
 * -EIO, and the caller (apply.c) undoes it by purging what it installed.
 * A purge, which cannot be undone, is tried first with dpkg --no-act.
 * dpkg's messages come back in *reterr_msg, never on stderr. Maintainer scripts may not
 * start services during the run (a policy-rc.d that says no, unless the
 * root has its own): the agent starts them afterwards.
 *
 * The database is the root's own var/lib/dpkg; when the root is not "/",
 * dpkg runs with --root=ROOT (maintainer scripts then run chrooted).
 */
#pragma once

/* Names of the packages installed in the root's dpkg database (status
 * "install ok installed" or "hold ok installed"; sorted, unique).
 * -ENOENT with a message when the root has no dpkg database. */
int dpkgtx_installed(int root_fd, char ***ret_names, char **reterr_msg);
/* The same from the status file's text (changed in place), read by the
 * caller from wherever the root is (a disk image's filesystem). */
int dpkg_status_installed(char *text, char ***ret_names);
#define DPKG_STATUS_MAX (256u << 20)

/* Of names, those the database lists with a file (var/lib/dpkg/info/
 * NAME.list; documentation left aside) missing from the tree: a run cut
 * short by a full disk, a file deleted. *ret_broken may be NULL (none). */
int dpkgtx_broken(int root_fd, char *const *names, char ***ret_broken);

/* Removes what a package transaction cut short by a power cut left in the
 * root: the agent's own policy-rc.d (known by its text; a root's own stays)
 * and the scripts' PATH directory (scriptenv.h), rpm's as well as dpkg's. */
void dpkgtx_recover(int root_fd);

/* Installs the package files (host paths) and then purges the named
 * packages. Returns 0, or -EPROTO with a message when the check or the
 * purge's trial refused (nothing changed), -EBADMSG when a file's control
 * cannot be read, or -EIO when a real run failed part way. */
int dpkgtx_run(const char *root, char *const *install_files, char *const *erase_names,
	       char **reterr_msg);

/* 1 when the root has a dpkg database (var/lib/dpkg/status), else 0. */
int dpkgtx_root_has_db(int root_fd);
