/* SPDX-License-Identifier: MIT */
/*
 * extract.h - the one way enlighten unpacks an archive: tar (any
 * compression), cpio, zip, cab, iso9660 and the cpio payload of an RPM, over
 * libarchive, writing only beneath a target root (docs/extract.md).
 *
 * Every entry goes through extract_check_entry() first, which refuses:
 *   - absolute names and ".." components; names with control characters,
 *     components over NAME_MAX or names over PATH_MAX (and, for Windows
 *     targets, characters and device names Windows cannot hold);
 *   - symlinks whose target is absolute or climbs above the root, and any
 *     entry whose path goes through a symlink extracted before;
 *   - hardlinks to anything but a regular file extracted before;
 *   - device nodes, and setuid/setgid bits, unless the policy allows them;
 *   - more entries or more bytes than the policy's caps (archive bombs).
 * The image builder, which streams tar entries into ext4 without unpacking
 * them, calls the same check for each entry and extract_account_bytes() for
 * the data.
 *
 * extract_archive() is all or nothing: it unpacks into a fresh temporary
 * directory beside the target and renames it into place at the end; on any
 * refusal or error the temporary directory is removed and the target does
 * not exist. Ownership is not restored (files belong to the caller);
 * permissions and file modification times are.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct archive_entry;

#define EXTRACT_DEFAULT_MAX_ENTRIES 100000
#define EXTRACT_DEFAULT_MAX_BYTES (8ULL << 30)

struct extract_policy {
	uint64_t max_entries;  /* 0: EXTRACT_DEFAULT_MAX_ENTRIES */
	uint64_t max_bytes;    /* regular file data in total; 0: EXTRACT_DEFAULT_MAX_BYTES */
	bool allow_devices;    /* character and block devices (FIFOs are always allowed) */
	bool allow_setuid;     /* setuid and setgid bits */
	bool windows_names;    /* also refuse names a Windows file system cannot hold */
	bool symlinks_as_data; /* any symlink target (absolute, "..") is allowed: for a
				* tree that is never resolved on this host, such as a
				* root filesystem written into an image; the caller
				* then refuses entries through symlinks itself */
};

/* What the check needs to know of one entry. */
struct extract_entry_info {
	const char *name;     /* as in the archive */
	mode_t mode;	      /* type bits (S_IFREG, ...) and permissions */
	const char *symlink;  /* link target, or NULL */
	const char *hardlink; /* name of the entry this one is a hard link to, or NULL */
	int64_t size;	      /* data bytes the header announces (-1 unknown) */
};

/* Counts entries and bytes, and remembers the regular files seen (the only
 * valid hardlink targets), across the entries of one archive. */
struct extract_tracker;
int extract_tracker_new(struct extract_tracker **ret);
void extract_tracker_free(struct extract_tracker *t);
static inline void extract_tracker_freep(struct extract_tracker **t)
{
	extract_tracker_free(*t);
}
#define _cleanup_extract_tracker_ __attribute__((__cleanup__(extract_tracker_freep)))

/* Checks one entry against the policy and counts it. On success *ret_path
 * is the normalized relative path (no "./", no trailing "/"), malloc'ed, or
 * NULL for an entry naming the root itself ("./"), which has nothing to do.
 * Returns -EPERM (refused by policy), -E2BIG (a cap), -ENOMEM; *reterr_msg
 * names the entry and says why (without the archive name). */
int extract_check_entry(const struct extract_policy *p, struct extract_tracker *t,
			const struct extract_entry_info *e, char **ret_path, char **reterr_msg);

/* The same for a libarchive entry. */
int extract_check_archive_entry(const struct extract_policy *p, struct extract_tracker *t,
				struct archive_entry *ae, char **ret_path, char **reterr_msg);

/* The normalized form of an archive name, as extract_check_entry() makes it
 * (NULL for the root itself); -EPERM for a name it refuses. */
int extract_normalize_name(const char *name, char **ret_path, char **reterr_msg);

/* Counts n more bytes of file data; -E2BIG past the cap. */
int extract_account_bytes(const struct extract_policy *p, struct extract_tracker *t, uint64_t n,
			  char **reterr_msg);

struct extract_stats {
	uint64_t entries;
	uint64_t bytes;
};

/* Unpacks the archive at archive_path into target, a directory that must
 * not exist yet (its parent must). Messages name the archive and the entry:
 * "archive 'x.tar': entry '../evil': '..' in the name". ret_stats may be
 * NULL. */
int extract_archive(const char *archive_path, const char *target, const struct extract_policy *p,
		    struct extract_stats *ret_stats, char **reterr_msg);
