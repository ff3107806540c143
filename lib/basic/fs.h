/* SPDX-License-Identifier: MIT */
/*
 * fs.h - file access relative to a root directory, for every path that comes
 * from an input (archive entry, catalog, recipe, --root fixture tree).
 *
 * A path is resolved beneath root_fd: absolute paths and ".." components are
 * refused (-EINVAL), and so is a symlink whose target would leave the root
 * (-EXDEV). openat2(RESOLVE_BENEATH) does it where the kernel has it; a walk
 * of our own, component by component with O_NOFOLLOW, does it elsewhere.
 * Reads are bounded: a file larger than the caller's cap gives -EFBIG.
 */
#pragma once

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Checks that path is relative, non-empty, without "..", "//" or NUL tricks.
 * "." components are allowed. Returns 0 or -EINVAL. */
int path_check_relative(const char *path);

/* Opens path beneath root_fd with open(2) flags and mode; returns an fd
 * (O_CLOEXEC always) or -errno: -EINVAL for a bad path, -EXDEV for a symlink
 * escape, -ELOOP for too many links, else what open says. */
int fs_open_beneath(int root_fd, const char *path, int flags, mode_t mode);

/* For handing root/path to another program (librpm, dracut), which follows
 * every symlink in it: checks that the path as a plain string resolves
 * beneath root, the last component allowed to be missing. 0, -EXDEV when it
 * leads outside, -EINVAL for a bad path, else -errno. */
int fs_path_stays_beneath(const char *root, const char *path);

/* Test hook: force the portable walk even when openat2 works. */
void fs_force_walk(bool on);

/* Reads all of fd (from its current offset) into a NUL-terminated buffer.
 * More than max bytes: -EFBIG. ret_size may be NULL. */
int fs_read_fd(int fd, size_t max, char **ret, size_t *ret_size);

/* fs_open_beneath + fs_read_fd. Refuses non-regular files (-EISDIR for a
 * directory, -EINVAL otherwise); a regular file that reports size 0 (in
 * /proc and /sys) is read up to max. With root_fd AT_FDCWD, path is the
 * caller's own, absolute or relative to the working directory, and is not
 * kept beneath anything. */
int fs_read_file_at(int root_fd, const char *path, size_t max, char **ret, size_t *ret_size);

/* Opens a file a user named as input (a recipe, a tarball, an image) for
 * reading: a FIFO does not block the open, and anything but a regular file
 * is refused (-EISDIR for a directory, -EINVAL for a FIFO, device or socket,
 * which could block or never end), so no input waits or reads forever.
 * Returns the fd (O_CLOEXEC, blocking reads) or -errno. */
int fs_open_input(const char *path);

/* What went wrong with fs_open_input(), as the end of a sentence. */
const char *fs_input_strerror(int r);

/* First line of the file, trailing white space removed; lines longer than max
 * give -EFBIG. An empty file gives "". root_fd and path as fs_read_file_at(). */
int fs_read_line_at(int root_fd, const char *path, size_t max, char **ret);

/* Creates every missing directory of path beneath root_fd. */
int fs_mkdir_p_at(int root_fd, const char *path, mode_t mode);

/* Atomic replace: the data goes to a temporary file beside the target, which
 * is fsync'ed and renamed over it, and the directory fsync'ed. A failure at
 * any step removes the temporary file and leaves the old target untouched. */
struct atomic_file {
	int dir_fd; /* owned */
	int fd;	    /* the temporary file, or -EBADF */
	char *name; /* final name within dir_fd */
	char *tmp;  /* temporary name within dir_fd */
	bool committed;
};

/* Starts an atomic write of path beneath root_fd (AT_FDCWD for plain paths). */
int atomic_file_open(int root_fd, const char *path, mode_t mode, struct atomic_file **ret);
/* fsync, rename into place, fsync the directory. */
int atomic_file_commit(struct atomic_file *f);
/* Unlinks the temporary file unless committed; accepts NULL. */
void atomic_file_free(struct atomic_file *f);
static inline void atomic_file_freep(struct atomic_file **f)
{
	atomic_file_free(*f);
}
#define _cleanup_atomic_file_ __attribute__((__cleanup__(atomic_file_freep)))

/* Writes all of buf to fd, retrying short writes and EINTR. */
int fs_write_all(int fd, const void *buf, size_t n);

/* atomic_file_open + write + commit. */
int fs_write_file_atomic_at(int root_fd, const char *path, const void *buf, size_t n, mode_t mode);

/* Which names fs_list_dir() keeps; "." and ".." never. */
struct fs_list_opts {
	const char *prefix; /* the name starts with it (NULL: any) */
	const char *suffix; /* the name ends with it (NULL: any) */
	bool hidden;	    /* keep names that start with '.' */
	bool regular;	    /* only regular files (not following symlinks) */
	size_t max;	    /* names kept at the most (0: FS_LIST_MAX) */
	bool truncate;	    /* past max: stop and return 1, instead of -E2BIG */
};
#define FS_LIST_MAX 100000

/* The names in the directory path beneath dir_fd (path NULL: dir_fd itself),
 * sorted by strcmp(), as a NULL-terminated strv (never NULL itself). Returns
 * 0, 1 when cut at max (o->truncate), or -errno: -E2BIG past max, what
 * fs_open_beneath() says. o may be NULL: all names but hidden ones. */
int fs_list_dir(int dir_fd, const char *path, const struct fs_list_opts *o, char ***ret);

/* Removes a tree (for tests and temporary directories); 0 when it is gone. */
int fs_rm_rf(const char *path);
