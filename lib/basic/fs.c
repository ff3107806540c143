/* SPDX-License-Identifier: MIT */
/*
 * fs.c - root-relative file access, bounded reads and atomic replace.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

#define MAX_SYMLINK_HOPS 40
#define MAX_DEPTH 128

static bool force_walk;

void fs_force_walk(bool on)
{
	force_walk = on;
}

int path_check_relative(const char *path)
{
	if (!path || !*path || *path == '/')
		return -EINVAL;
	if (strlen(path) >= PATH_MAX)
		return -ENAMETOOLONG;
	for (const char *p = path; *p;) {
		const char *e = strchrnul(p, '/');
		if (e - p == 2 && p[0] == '.' && p[1] == '.')
			return -EINVAL;
		if (*e == '\0')
			break;
		p = e + 1;
	}
	return 0;
}

int fs_path_stays_beneath(const char *root, const char *path)
{
	int r = path_check_relative(path);
	if (r < 0)
		return r;
	_cleanup_free_ char *top = realpath(root, NULL);
	if (!top)
		return negative_errno();
	_cleanup_free_ char *full = strjoin(top, "/", path);
	if (!full)
		return -ENOMEM;
	_cleanup_free_ char *real = realpath(full, NULL);
	struct stat st;
	if (!real && errno == ENOENT) {
		/* the last component missing (not a dangling link, which the
		 * program would follow): its directory decides */
		if (lstat(full, &st) == 0)
			return -EXDEV;
		char *slash = strrchr(full, '/');
		*slash = '\0';
		real = realpath(full, NULL);
	}
	if (!real)
		return negative_errno();
	if (streq(top, "/"))
		return 0;
	const char *rest = startswith(real, top);
	return rest && (*rest == '\0' || *rest == '/') ? 0 : -EXDEV;
}

/* The portable walk: one component at a time, never following a link the
 * kernel resolves for us, so every step is checked against the root. */
static int open_walk(int root_fd, const char *path, int flags, mode_t mode)
{
	int dirs[MAX_DEPTH];
	int depth = 0, hops = 0, r;
	char todo[PATH_MAX * 2];

	if (strlen(path) >= sizeof(todo))
		return -ENAMETOOLONG;
	strcpy(todo, path); /* length checked above */

	dirs[0] = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirs[0] < 0)
		return negative_errno();

	char *p = todo;
	for (;;) {
		while (*p == '/')
			p++;
		char *e = strchrnul(p, '/');
		bool last = true;
		for (char *q = e; *q; q++)
			if (*q != '/') {
				last = false;
				break;
			}
		char comp[NAME_MAX + 1];
		size_t n = (size_t)(e - p);
		if (n > NAME_MAX) {
			r = -ENAMETOOLONG;
			goto fail;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		p = e;

		if (n == 0 || streq(comp, ".")) {
			if (last) {
				r = openat(dirs[depth], ".", flags | O_CLOEXEC, mode);
				if (r < 0)
					r = negative_errno();
				goto done;
			}
			continue;
		}
		if (streq(comp, "..")) {
			if (depth == 0) {
				r = -EXDEV;
				goto fail;
			}
			safe_close(dirs[depth--]);
			if (last) {
				r = openat(dirs[depth], ".", flags | O_CLOEXEC, mode);
				if (r < 0)
					r = negative_errno();
				goto done;
			}
			continue;
		}

		struct stat st;
		bool is_link = fstatat(dirs[depth], comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			       S_ISLNK(st.st_mode);
		if (is_link && !(last && (flags & O_NOFOLLOW))) {
			char target[PATH_MAX];
			ssize_t l = readlinkat(dirs[depth], comp, target, sizeof(target) - 1);
			if (l < 0) {
				r = negative_errno();
				goto fail;
			}
			target[l] = '\0';
			if (target[0] == '/') {
				r = -EXDEV;
				goto fail;
			}
			if (++hops > MAX_SYMLINK_HOPS) {
				r = -ELOOP;
				goto fail;
			}
			size_t rest = strlen(p);
			if ((size_t)l + 1 + rest >= sizeof(todo)) {
				r = -ENAMETOOLONG;
				goto fail;
			}
			memmove(todo + l + 1, p, rest + 1);
			memcpy(todo, target, (size_t)l);
			todo[l] = '/';
			p = todo;
			continue;
		}

		if (last) {
			r = openat(dirs[depth], comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
			if (r < 0)
				r = negative_errno();
			goto done;
		}

		if (depth + 1 >= MAX_DEPTH) {
			r = -ENAMETOOLONG;
			goto fail;
		}
		int fd = openat(dirs[depth], comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			r = negative_errno();
			goto fail;
		}
		dirs[++depth] = fd;
	}
done:
fail:
	for (int i = 0; i <= depth; i++)
		safe_close(dirs[i]);
	return r;
}

int fs_open_beneath(int root_fd, const char *path, int flags, mode_t mode)
{
	int r = path_check_relative(path);
	if (r < 0)
		return r;

	if (!force_walk) {
		struct open_how how = {
			.flags = (uint64_t)(flags | O_CLOEXEC),
			.mode = (flags & (O_CREAT | __O_TMPFILE)) ? mode : 0,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
		};
		long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno != ENOSYS && errno != EPERM) /* EPERM: seccomp filters */
			return negative_errno();
	}
	return open_walk(root_fd, path, flags, mode);
}

int fs_read_fd(int fd, size_t max, char **ret, size_t *ret_size)
{
	size_t cap = MIN(max + 1, (size_t)4096), n = 0;
	_cleanup_free_ char *buf = malloc(cap + 1);
	if (!buf)
		return -ENOMEM;

	for (;;) {
		if (n == cap) {
			if (cap > max)
				return -EFBIG;
			size_t ncap = MIN(cap * 2, max + 1);
			char *nb = realloc(buf, ncap + 1);
			if (!nb)
				return -ENOMEM;
			buf = nb;
			cap = ncap;
		}
		ssize_t k = read(fd, buf + n, cap - n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (k == 0)
			break;
		n += (size_t)k;
		if (n > max)
			return -EFBIG;
	}
	buf[n] = '\0';
	if (ret_size)
		*ret_size = n;
	*ret = TAKE_PTR(buf);
	return 0;
}

/* A file to read: beneath root_fd, or with AT_FDCWD the caller's own path
 * (absolute, or relative to the working directory), as open() takes it. */
static int open_to_read(int root_fd, const char *path)
{
	int flags = O_RDONLY | O_NOCTTY | O_NONBLOCK;
	if (root_fd != AT_FDCWD)
		return fs_open_beneath(root_fd, path, flags, 0);
	if (!path || !*path)
		return -EINVAL;
	int fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? negative_errno() : fd;
}

int fs_read_file_at(int root_fd, const char *path, size_t max, char **ret, size_t *ret_size)
{
	_cleanup_close_ int fd = open_to_read(root_fd, path);
	if (fd < 0)
		return fd;

	struct stat st;
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EINVAL; /* FIFOs, devices, sockets: could block or be endless */
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	return fs_read_fd(fd, max, ret, ret_size);
}

int fs_open_input(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	struct stat st;
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return negative_errno();
	return TAKE_FD(fd);
}

const char *fs_input_strerror(int r)
{
	switch (r) {
	case -EISDIR:
		return "a directory, not a file";
	case -EINVAL:
		return "not a regular file (a FIFO, a device or a socket is never read)";
	default:
		return strerror(-r);
	}
}

int fs_read_line_at(int root_fd, const char *path, size_t max, char **ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t n;
	/* Read a little past max so that a long first line is told apart from a
	 * long file whose first line is short. */
	int r = fs_read_file_at(root_fd, path, max + 4096, &buf, &n);
	if (r == -EFBIG) {
		_cleanup_close_ int fd = open_to_read(root_fd, path);
		if (fd < 0)
			return fd;
		buf = malloc(max + 2);
		if (!buf)
			return -ENOMEM;
		ssize_t k = read(fd, buf, max + 1);
		if (k < 0)
			return negative_errno();
		n = (size_t)k;
		buf[n] = '\0';
	} else if (r < 0)
		return r;

	if (memchr(buf, '\0', n))
		return -EBADMSG; /* binary junk */
	char *nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	else if (n > max)
		return -EFBIG;
	if (strlen(buf) > max)
		return -EFBIG;
	size_t l = strlen(buf);
	while (l > 0 && (buf[l - 1] == ' ' || buf[l - 1] == '\t' || buf[l - 1] == '\r'))
		buf[--l] = '\0';
	*ret = TAKE_PTR(buf);
	return 0;
}

int fs_mkdir_p_at(int root_fd, const char *path, mode_t mode)
{
	int r = path_check_relative(path);
	if (r < 0)
		return r;

	/* One component at a time, each opened beneath the one before, so a
	 * symlink on the way cannot lead the creation outside the root. */
	_cleanup_close_ int cur = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return negative_errno();
	for (const char *p = path; *p;) {
		const char *e = strchrnul(p, '/');
		char comp[NAME_MAX + 1];
		size_t n = (size_t)(e - p);
		if (n > NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(comp, p, n);
		comp[n] = '\0';
		p = *e ? e + 1 : e;
		if (n == 0 || streq(comp, "."))
			continue;

		int fd = fs_open_beneath(cur, comp, O_PATH | O_DIRECTORY, 0);
		if (fd == -ENOENT) {
			if (mkdirat(cur, comp, mode) < 0 && errno != EEXIST)
				return negative_errno();
			fd = fs_open_beneath(cur, comp, O_PATH | O_DIRECTORY, 0);
		}
		if (fd < 0)
			return fd;
		safe_close(cur);
		cur = fd;
	}
	return 0;
}

int fs_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (k == 0)
			return -EIO;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int atomic_file_open(int root_fd, const char *path, mode_t mode, struct atomic_file **ret)
{
	_cleanup_free_ char *dir = NULL;
	const char *base;
	const char *slash = strrchr(path, '/');
	int r;

	if (slash) {
		dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
		base = slash + 1;
	} else {
		dir = strdup(".");
		base = path;
	}
	if (!dir)
		return -ENOMEM;
	if (!*base || streq(base, ".") || streq(base, ".."))
		return -EINVAL;

	struct atomic_file *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->fd = -EBADF;
	f->dir_fd = root_fd == AT_FDCWD
			    ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
			    : (streq(dir, ".")
				       ? openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
				       : fs_open_beneath(root_fd, dir, O_RDONLY | O_DIRECTORY, 0));
	if (f->dir_fd == -1)
		f->dir_fd = negative_errno();
	if (f->dir_fd < 0) {
		r = f->dir_fd;
		free(f);
		return r;
	}

	uint64_t rnd;
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint64_t)getpid() << 20 ^ (uint64_t)(uintptr_t)f;
	char suffix[17];
	hex_encode(&rnd, sizeof(rnd), suffix);
	f->name = strdup(base);
	f->tmp = strjoin(".#", base, ".", suffix);
	if (!f->name || !f->tmp) {
		atomic_file_free(f);
		return -ENOMEM;
	}
	f->fd = openat(f->dir_fd, f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		       mode);
	if (f->fd < 0) {
		r = negative_errno();
		f->fd = -EBADF;
		free(f->tmp);
		f->tmp = NULL; /* nothing to unlink */
		atomic_file_free(f);
		return r;
	}
	if (fchmod(f->fd, mode) < 0) {
		r = negative_errno();
		atomic_file_free(f);
		return r;
	}
	*ret = f;
	return 0;
}

int atomic_file_commit(struct atomic_file *f)
{
	if (fsync(f->fd) < 0)
		return negative_errno();
	if (close(f->fd) < 0) {
		f->fd = -EBADF;
		return negative_errno();
	}
	f->fd = -EBADF;
	if (renameat(f->dir_fd, f->tmp, f->dir_fd, f->name) < 0)
		return negative_errno();
	f->committed = true;
	if (fsync(f->dir_fd) < 0)
		return negative_errno();
	return 0;
}

void atomic_file_free(struct atomic_file *f)
{
	if (!f)
		return;
	safe_close(f->fd);
	if (!f->committed && f->tmp)
		(void)unlinkat(f->dir_fd, f->tmp, 0);
	safe_close(f->dir_fd);
	free(f->name);
	free(f->tmp);
	free(f);
}

int fs_write_file_atomic_at(int root_fd, const char *path, const void *buf, size_t n, mode_t mode)
{
	_cleanup_atomic_file_ struct atomic_file *f = NULL;
	int r = atomic_file_open(root_fd, path, mode, &f);
	if (r < 0)
		return r;
	r = fs_write_all(f->fd, buf, n);
	if (r < 0)
		return r;
	return atomic_file_commit(f);
}

static bool list_keep(const struct fs_list_opts *o, int fd, const struct dirent *de)
{
	const char *n = de->d_name;
	if (streq(n, ".") || streq(n, ".."))
		return false;
	if ((n[0] == '.' && !o->hidden) || (o->prefix && !startswith(n, o->prefix)) ||
	    (o->suffix && !endswith(n, o->suffix)))
		return false;
	if (o->regular) {
		struct stat st;
		if (de->d_type != DT_UNKNOWN)
			return de->d_type == DT_REG;
		return fstatat(fd, n, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
	}
	return true;
}

static int list_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int fs_list_dir(int dir_fd, const char *path, const struct fs_list_opts *o, char ***ret)
{
	static const struct fs_list_opts all_visible = {};
	o = o ? o : &all_visible;
	size_t max = o->max ? o->max : FS_LIST_MAX;
	int fd = path ? fs_open_beneath(dir_fd, path, O_RDONLY | O_DIRECTORY, 0)
		      : openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return path ? fd : negative_errno();
	DIR *d = fdopendir(fd);
	if (!d) {
		int r = negative_errno();
		safe_close(fd);
		return r;
	}

	_cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
	size_t n = 0, cap = 1;
	int r = l ? 0 : -ENOMEM;
	while (r == 0) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			r = errno > 0 ? -errno : 0;
			break;
		}
		if (!list_keep(o, dirfd(d), de))
			continue;
		if (n >= max) {
			r = o->truncate ? 1 : -E2BIG;
			break;
		}
		if (n + 1 >= cap) {
			char **nl = reallocarray(l, cap * 2, sizeof(char *));
			if (!nl) {
				r = -ENOMEM;
				break;
			}
			l = nl;
			cap *= 2;
		}
		if (!(l[n] = strdup(de->d_name)))
			r = -ENOMEM;
		else
			l[++n] = NULL;
	}
	closedir(d);
	if (r < 0)
		return r;
	qsort(l, n, sizeof(char *), list_cmp);
	*ret = TAKE_PTR(l);
	return r;
}

static int rm_one(const char *p, const struct stat *st _unused_, int flag _unused_,
		  struct FTW *ftw _unused_)
{
	return remove(p) < 0 && errno != ENOENT ? -1 : 0;
}

int fs_rm_rf(const char *path)
{
	if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return negative_errno();
	return 0;
}
