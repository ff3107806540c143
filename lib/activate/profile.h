/* SPDX-License-Identifier: MIT */
/*
 * profile.h - the profile matrix: what each (hypervisor, role, xen_mode)
 * needs, one INI file per profile (payloads/profiles/<name>.conf, format in
 * docs/profile-format.md).
 *
 * Every key holds a list. "Word" keys split their value at white space;
 * "line" keys (ModprobeOptions, UdevRules, Installers, Remove) take one
 * element per line. A value continues on the following lines that start
 * with white space. Unknown sections and keys, bad names and oversized
 * files are errors that name the file and the line.
 */
#pragma once

#include <stddef.h>

#include "lib/basic/macro.h"

enum profile_key {
	PROFILE_MATCH_HYPERVISOR,
	PROFILE_MATCH_ROLE,
	PROFILE_MATCH_XEN_MODE,
	PROFILE_LINUX_MODULES,
	PROFILE_LINUX_INITRD_MODULES,
	PROFILE_LINUX_BLACKLIST,
	PROFILE_LINUX_MODPROBE_OPTIONS,
	PROFILE_LINUX_UDEV_RULES,
	PROFILE_LINUX_SERVICES,
	PROFILE_LINUX_DISABLE_SERVICES,
	PROFILE_LINUX_PACKAGES,
	PROFILE_LINUX_REMOVE_PACKAGES,
	PROFILE_LINUX_KERNEL_ARGS,
	PROFILE_LINUX_REMOVE_KERNEL_ARGS,
	PROFILE_DEBIAN_PACKAGES, /* [Debian] and [SUSE]: the family's own names */
	PROFILE_DEBIAN_SERVICES,
	PROFILE_SUSE_PACKAGES,
	PROFILE_SUSE_SERVICES,
	PROFILE_WINDOWS_INBOX_DRIVERS,
	PROFILE_WINDOWS_DRIVERS,
	PROFILE_WINDOWS_BOOT_CRITICAL,
	PROFILE_WINDOWS_SERVICES,
	PROFILE_WINDOWS_FEATURES,
	PROFILE_WINDOWS_INSTALLERS,
	PROFILE_WINDOWS_REMOVE,
	_PROFILE_KEY_MAX,
};

/* Caps on what an input may make us hold. */
#define PROFILE_FILE_MAX (64 * 1024)
#define PROFILE_LINE_MAX 200 /* a longer list continues on indented lines */
#define PROFILE_SET_MAX 256

struct profile;
struct profile_set;

/* "Section" and "Key" of a key, e.g. "Linux", "InitrdModules". */
const char *profile_key_section(enum profile_key k);
const char *profile_key_name(enum profile_key k);

/* Parses one profile from text; name is the profile name (the file name
 * without .conf) and file what error messages call it. Returns 0, -EINVAL
 * (or -ENOMEM) with *reterr_msg (may be NULL) saying file, line and what. */
int profile_parse(const char *name, const char *file, const char *text, struct profile **ret,
		  char **reterr_msg);
void profile_free(struct profile *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct profile *, profile_free);
#define _cleanup_profile_ _cleanup_(profile_freep)

const char *profile_name(const struct profile *p);
/* The key's values: a NULL-terminated list, never NULL (empty when unset). */
char *const *profile_get(const struct profile *p, enum profile_key k);

/* A [Linux] key as one distribution family names it: for Packages and
 * Services, the [Debian] or [SUSE] section's value when the profile sets
 * it and family is "debian" or "suse", else the [Linux] value. family may
 * be NULL (the [Linux] names: Fedora and the others). */
char *const *profile_get_for(const struct profile *p, const char *family, enum profile_key k);

/* Loads every *.conf in dir (other files are ignored), sorted by name.
 * Returns 0; -ENOENT when dir has no profile; -EINVAL with the message of
 * the first bad file; -E2BIG beyond PROFILE_SET_MAX files; else -errno. */
int profile_set_load(const char *dir, struct profile_set **ret, char **reterr_msg);
void profile_set_free(struct profile_set *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct profile_set *, profile_set_free);
#define _cleanup_profile_set_ _cleanup_(profile_set_freep)

size_t profile_set_size(const struct profile_set *s);
const struct profile *profile_set_get(const struct profile_set *s, size_t i);
/* NULL when there is no profile of that name. */
const struct profile *profile_set_find(const struct profile_set *s, const char *name);

/* The profile whose [Match] section fits the verdict's strings (as
 * detect.h names them; xen_mode NULL or "none" when not Xen). A key a
 * profile leaves out matches anything; of several matches the one that
 * sets the most keys wins. -ENOENT when none fits, -ENOTUNIQ when two
 * equally specific profiles fit. */
int profile_set_match(const struct profile_set *s, const char *hypervisor, const char *role,
		      const char *xen_mode, const struct profile **ret);
