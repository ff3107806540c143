/* SPDX-License-Identifier: MIT */
/*
 * overlay.c - the recipe's overlays: files from a directory or a tarball
 * laid over the base root, through the same tarball writer as the base
 * (fs-ext4.c), with its checks. A directory is first turned into a
 * canonical tarball in memory: names sorted, owner root, modes 0755 or
 * 0644 by the owner's execute bit, times SOURCE_DATE_EPOCH; so its digest,
 * and the image, depend only on the tree's names, contents and execute bits.
 */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/image/overlay.h"
#include "lib/basic/macro.h"
#include "lib/basic/copy.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/hash.h"
#include "lib/basic/string-util.h"

#define OVERLAY_DEPTH_MAX 64
#define OVERLAY_ENTRIES_MAX (1u << 20)

struct walk {
	struct archive *a;
	const char *top; /* the directory as the recipe names it, for messages */
	time_t now;
	uint64_t entries, bytes, max_bytes;
};

static int walk_fail_archive(struct walk *w, const char *rel, char **reterr_msg)
{
	return errmsg_set(reterr_msg, -EIO, "overlay '%s': cannot add '%s': %s", w->top, rel,
			  archive_error_string(w->a));
}

/* copy_stream's sink: a file's bytes into the archive; -EBADE when the
 * archive refuses them (its own message is in archive_error_string). */
static int archive_sink_write(void *userdata, const void *buf, size_t n)
{
	return archive_write_data(userdata, buf, n) == (la_ssize_t)n ? 0 : -EBADE;
}

static int add_file(struct walk *w, int dir_fd, const char *name, const char *rel,
		    struct archive_entry *entry, const struct stat *st, char **reterr_msg)
{
	_cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errmsg_set(reterr_msg, -errno, "overlay '%s': cannot open '%s': %m", w->top,
				  rel);
	w->bytes += (uint64_t)st->st_size;
	if (w->bytes > w->max_bytes)
		return errmsg_set(reterr_msg, -EFBIG,
				  "overlay '%s': more data than the root partition holds at '%s' "
				  "(make Size= larger)",
				  w->top, rel);
	archive_entry_set_size(entry, st->st_size);
	if (archive_write_header(w->a, entry) != ARCHIVE_OK)
		return walk_fail_archive(w, rel, reterr_msg);
	uint64_t len = 0;
	int r = copy_stream(fd,
			    &(struct copy_sink){ .write = archive_sink_write, .userdata = w->a },
			    (uint64_t)st->st_size, NULL, &len);
	if (r == -EBADE)
		return walk_fail_archive(w, rel, reterr_msg);
	if (r < 0 && r != -EFBIG)
		return errmsg_set(reterr_msg, r, "overlay '%s': cannot read '%s': %s", w->top, rel,
				  strerror(-r));
	if (r == -EFBIG || len != (uint64_t)st->st_size)
		return errmsg_set(reterr_msg, -EIO,
				  "overlay '%s': '%s' changed size while it was read; build again "
				  "once nothing writes to the overlay",
				  w->top, rel);
	return 0;
}

static int walk_dir(struct walk *w, int dir_fd, const char *prefix, unsigned depth,
		    char **reterr_msg);

/* One name of a directory: its entry, and for a directory what it holds. */
static int walk_one(struct walk *w, int dir_fd, const char *name, const char *rel, unsigned depth,
		    char **reterr_msg)
{
	struct stat st;
	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errmsg_set(reterr_msg, -errno, "overlay '%s': cannot read '%s': %m", w->top,
				  rel);
	if (++w->entries > OVERLAY_ENTRIES_MAX)
		return errmsg_set(reterr_msg, -E2BIG, "overlay '%s': more than %u entries", w->top,
				  OVERLAY_ENTRIES_MAX);

	struct archive_entry *entry = archive_entry_new();
	if (!entry)
		return -ENOMEM;
	archive_entry_set_pathname(entry, rel);
	archive_entry_set_uid(entry, 0);
	archive_entry_set_gid(entry, 0);
	archive_entry_set_mtime(entry, w->now, 0);
	int r = 0;
	if (S_ISDIR(st.st_mode)) {
		archive_entry_set_filetype(entry, AE_IFDIR);
		archive_entry_set_perm(entry, 0755);
		if (archive_write_header(w->a, entry) != ARCHIVE_OK)
			r = walk_fail_archive(w, rel, reterr_msg);
		archive_entry_free(entry);
		if (r < 0)
			return r;
		if (depth >= OVERLAY_DEPTH_MAX)
			return errmsg_set(reterr_msg, -ELOOP,
					  "overlay '%s': '%s' is nested deeper than %d directories",
					  w->top, rel, OVERLAY_DEPTH_MAX);
		_cleanup_close_ int fd =
			openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return errmsg_set(reterr_msg, -errno, "overlay '%s': cannot open '%s': %m",
					  w->top, rel);
		return walk_dir(w, fd, rel, depth + 1, reterr_msg);
	}
	if (S_ISREG(st.st_mode)) {
		archive_entry_set_filetype(entry, AE_IFREG);
		archive_entry_set_perm(entry, st.st_mode & S_IXUSR ? 0755 : 0644);
		r = add_file(w, dir_fd, name, rel, entry, &st, reterr_msg);
	} else if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(dir_fd, name, target, sizeof(target) - 1);
		if (n < 0)
			r = errmsg_set(reterr_msg, -errno, "overlay '%s': cannot read '%s': %m",
				       w->top, rel);
		else {
			target[n] = '\0';
			archive_entry_set_filetype(entry, AE_IFLNK);
			archive_entry_set_perm(entry, 0777);
			archive_entry_set_symlink(entry, target);
			if (archive_write_header(w->a, entry) != ARCHIVE_OK)
				r = walk_fail_archive(w, rel, reterr_msg);
		}
	} else
		r = errmsg_set(reterr_msg, -EINVAL,
			       "overlay '%s': '%s' is a device, FIFO or socket; refused (a "
			       "directory overlay holds files, directories and symlinks; give "
			       "device nodes in a tarball overlay)",
			       w->top, rel);
	archive_entry_free(entry);
	return r;
}

static int walk_dir(struct walk *w, int dir_fd, const char *prefix, unsigned depth,
		    char **reterr_msg)
{
	_cleanup_strv_free_ char **names = NULL;
	int r = fs_list_dir(dir_fd, NULL, &(struct fs_list_opts){ .hidden = true }, &names);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "overlay '%s': cannot list '%s': %s", w->top,
				  prefix ? prefix : ".", strerror(-r));
	STRV_FOREACH(n, names)
	{
		_cleanup_free_ char *rel = prefix ? strjoin(prefix, "/", *n) : strdup(*n);
		if (!rel)
			return -ENOMEM;
		r = walk_one(w, dir_fd, *n, rel, depth, reterr_msg);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The canonical tarball of directory path, in a memory file; its fd at 0. */
static int dir_to_tar(const char *path, time_t now, uint64_t max_bytes, int *ret_fd,
		      char **reterr_msg)
{
	_cleanup_close_ int dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return errmsg_set(reterr_msg, -errno, "cannot open overlay '%s': %m", path);
	_cleanup_close_ int fd = memfd_create("enlighten-overlay", MFD_CLOEXEC);
	if (fd < 0)
		return errmsg_set(reterr_msg, -errno, "cannot make a memory file: %m");
	struct walk w = {
		.a = archive_write_new(),
		.top = path,
		.now = now,
		.max_bytes = max_bytes,
	};
	if (!w.a) {
		archive_write_free(w.a);
		return -ENOMEM;
	}
	int r = 0;
	if (archive_write_set_format_pax_restricted(w.a) != ARCHIVE_OK ||
	    archive_write_open_fd(w.a, fd) != ARCHIVE_OK)
		r = errmsg_set(reterr_msg, -EIO, "overlay '%s': %s", path,
			       archive_error_string(w.a));
	if (r >= 0)
		r = walk_dir(&w, dir_fd, NULL, 0, reterr_msg);
	if (r >= 0 && archive_write_close(w.a) != ARCHIVE_OK)
		r = errmsg_set(reterr_msg, -EIO, "overlay '%s': %s", path,
			       archive_error_string(w.a));
	archive_write_free(w.a);
	if (r < 0)
		return r;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int overlay_add(struct ext4 *e, const char *path, const struct overlay_opts *o,
		uint8_t ret_sha[SHA256_DIGEST_SIZE], uint64_t *ret_size, char **reterr_msg)
{
	_cleanup_free_ char *msg = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int r;

	if (stat(path, &st) < 0)
		return errmsg_set(reterr_msg, -errno,
				  "cannot open overlay '%s': %m (give a directory or a tarball)",
				  path);
	if (S_ISDIR(st.st_mode)) {
		r = dir_to_tar(path, o->now, o->max_bytes, &fd, reterr_msg);
		if (r < 0)
			return r;
	} else {
		fd = fs_open_input(path);
		if (fd < 0)
			return errmsg_set(reterr_msg, fd, "cannot open overlay '%s': %s", path,
					  fs_input_strerror(fd));
	}

	_cleanup_sha256_ struct sha256 *h = NULL;
	r = sha256_new(&h);
	if (r < 0)
		return r;
	struct ext4_tar_opts to = {
		.hash = h,
		.max_bytes = o->max_bytes,
		.skip = o->skip,
		.skip_userdata = o->skip_userdata,
		.overlay = true,
	};
	r = ext4_add_tarball(e, fd, &to, NULL, &msg);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "overlay '%s': %s", path,
				  msg ? msg : strerror(-r));
	if (fstat(fd, &st) < 0)
		return -errno;
	r = sha256_final(h, ret_sha);
	if (r < 0)
		return r;
	*ret_size = (uint64_t)st.st_size;
	return 0;
}
