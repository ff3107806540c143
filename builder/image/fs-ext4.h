/* SPDX-License-Identifier: MIT */
/*
 * fs-ext4.h - an ext4 filesystem in a byte range of an image file, written
 * and read through libext2fs (unix_io with an offset): no mount, no loop
 * device, no root. Files come from a tarball stream or from the builder.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "lib/basic/macro.h"

struct ext4;

/* Lays out an empty ext4 filesystem of size bytes at offset in path with
 * mke2fs (libext2fs's formatter), with fixed UUID, hash seed and times;
 * config (NULL: the host's) is the mke2fs.conf that sets the features. */
int ext4_format(const char *path, uint64_t offset, uint64_t size, const char *uuid,
		const char *label, time_t now, const char *config, char **reterr_msg);

/* Opens the filesystem at offset; writable when rw. now stamps what the
 * builder creates (and the superblock), so builds are reproducible. */
int ext4_open(const char *path, uint64_t offset, bool rw, time_t now, struct ext4 **ret,
	      char **reterr_msg);
/* Writes everything out (when writable) and frees; returns the first error. */
int ext4_close(struct ext4 *e);
void ext4_abort(struct ext4 *e);
/* Why a write into the filesystem failed (r, a negative errno), for a
 * message: the filesystem the image file is on being full is said as such,
 * apart from the root partition being full. */
const char *ext4_strerror(const struct ext4 *e, int r);

/* Called for each regular file of the tarball before its data is written;
 * returns an fd that gets a copy of the data, or -1. */
typedef int (*ext4_tee_fn)(const char *name, uint64_t size, void *userdata);

/* Called for each entry after its checks; true leaves it out of the
 * filesystem (a hard link to an entry left out is left out too). */
typedef bool (*ext4_skip_fn)(const char *name, void *userdata);

struct ext4_tar_stats {
	uint64_t entries;
	uint64_t bytes;
	uint64_t skipped; /* left out by skip */
};

/* Streams a tarball (any compression libarchive reads) from fd into the
 * filesystem: owners, modes, times, xattrs, symlinks, hard links and device
 * nodes as in the archive. Each entry goes through extract_check_entry()
 * (lib/basic/extract.h: names, types, hard links, caps), symlink targets being
 * data here; an entry written through a symlink or over a non-directory is
 * refused too, with a message naming it. hash (may be NULL) gets every byte read from fd. */
struct sha256;
struct progress;
struct ext4_tar_opts {
	struct sha256 *hash;	   /* may be NULL */
	ext4_tee_fn tee;	   /* may be NULL */
	void *userdata;		   /* for tee */
	struct progress *progress; /* bytes read from fd; may be NULL */
	uint64_t max_bytes;	   /* file data cap; 0: none to speak of */
	ext4_skip_fn skip;	   /* may be NULL */
	void *skip_userdata;	   /* for skip */
	/* an overlay over what is there: an entry replaces a file, symlink or
	 * node at its path; a directory that is there keeps its owner and mode
	 * (the root's too); a directory is never replaced by a non-directory,
	 * nor the reverse */
	bool overlay;
};
int ext4_add_tarball(struct ext4 *e, int fd, const struct ext4_tar_opts *o,
		     struct ext4_tar_stats *ret_stats, char **reterr_msg);

/* Builder-made content (parents are created 0755 root:root). */
int ext4_mkdir_p(struct ext4 *e, const char *path, mode_t mode);
int ext4_write_file(struct ext4 *e, const char *path, const void *buf, size_t n, mode_t mode);
/* fd's bytes from its offset, as many as fstat gave when it began (a file
 * that grows: -EFBIG); each byte read once, fed to h on the way (NULL: no
 * hash); ret_len (may be NULL) gets the bytes copied. */
int ext4_write_file_fd(struct ext4 *e, const char *path, int fd, mode_t mode, struct sha256 *h,
		       uint64_t *ret_len);
int ext4_symlink(struct ext4 *e, const char *path, const char *target);

/* Where the regular file at path lies in the filesystem: the byte offset of
 * its data, held in one run of blocks, and its size; for a tool that
 * rewrites the file in place without the filesystem, as GRUB's save_env
 * does with its environment block. -ERANGE: empty, inline, sparse or in
 * more than one run. */
int ext4_file_place(struct ext4 *e, const char *path, uint64_t *ret_offset, uint64_t *ret_size);

/* Reads a regular file (symlinks in the path are not followed); -EFBIG past max. */
int ext4_read_file(struct ext4 *e, const char *path, size_t max, char **ret, size_t *ret_size);
/* The same, symlinks followed as the image's own root would follow them
 * (an absolute target is read from the image's root, never the host's). */
int ext4_read_file_follow(struct ext4 *e, const char *path, size_t max, char **ret,
			  size_t *ret_size);
/* A regular file opened for reads at offsets (symlinks followed as above):
 * for a reader that needs a few parts of a large file. */
struct ext4_file;
int ext4_file_open_follow(struct ext4 *e, const char *path, struct ext4_file **ret,
			  uint64_t *ret_size);
/* Exactly n bytes at off; -EIO when the file ends first. */
int ext4_file_pread(struct ext4_file *f, void *buf, size_t n, uint64_t off);
struct ext4_file *ext4_file_close(struct ext4_file *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct ext4_file *, ext4_file_close);
/* Size of a regular file (symlinks in the path are not followed). */
int ext4_file_size(struct ext4 *e, const char *path, uint64_t *ret);
/* The type bits (S_IFREG, S_IFLNK, ...) of what path names, the leaf not
 * followed; -ENOENT when nothing is there. */
int ext4_lstat_type(struct ext4 *e, const char *path, mode_t *ret);
/* Whether the journal holds writes not yet in place (the filesystem was not
 * unmounted cleanly): what the reader sees may then be older than that. */
bool ext4_needs_recovery(struct ext4 *e);
/* Names in a directory, sorted, without "." and "..". */
int ext4_list_dir(struct ext4 *e, const char *path, char ***ret);
