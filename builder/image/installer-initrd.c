/* SPDX-License-Identifier: MIT */
/*
 * installer-initrd.c - the installer medium's own initramfs segment: /init
 * (templates/installer/init.sh), its settings, a static busybox, and this
 * very enlighten program with the shared libraries it needs (the ELF NEEDED
 * closure, resolved on the host the way ld.so would in the standard
 * directories) and its program interpreter, all under /enlighten so that
 * nothing of the base's initramfs loaded before it is replaced but /init.
 * One newc cpio archive, compressed with zstd (libarchive).
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
#include <sys/stat.h>
#include <unistd.h>

#include "builder/image/elf.h"
#include "builder/image/installer.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

#define CLOSURE_MAX 256

static const char *const busybox_paths[] = { "/usr/bin/busybox", "/bin/busybox" };

static int fd_pread(void *userdata, void *buf, size_t n, uint64_t off)
{
	ssize_t k = pread(*(int *)userdata, buf, n, (off_t)off);
	return k == (ssize_t)n ? 0 : k < 0 ? -errno : -EIO;
}

static int elf_of(const char *path, struct elf_info **ret, char **reterr_msg)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return errmsg_errno(reterr_msg, errno, "cannot read '%s': %m", path);
	_cleanup_free_ char *why = NULL;
	int r = elf_read(fd_pread, &fd, (uint64_t)st.st_size, ret, &why);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot read '%s' as ELF: %s", path,
				  why ? why : strerror(-r));
	return 0;
}

/* Where ld.so would find the library name (the host's standard directories). */
static char *find_library(const char *name, uint16_t machine)
{
	const char *t = elf_machine_triplet(machine);
	const char *dirs[] = { "/lib/", "/usr/lib/", "/lib64/", "/usr/lib64/" };
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
			if (pass == 0 && !t)
				continue;
			char *p =
				pass == 0 ? strjoin(dirs[i], t, "/", name) : strjoin(dirs[i], name);
			if (p && access(p, R_OK) == 0)
				return p;
			free(p);
		}
	return NULL;
}

/* The program's interpreter and every library it needs, directly or not. */
int installer_closure(const char *program, char **ret_interp, char ***ret_libs, char **reterr_msg)
{
	_cleanup_(elf_info_freep) struct elf_info *prog = NULL;
	_cleanup_strv_free_ char **names = NULL, **paths = NULL;
	int r = elf_of(program, &prog, reterr_msg);
	if (r < 0)
		return r;
	if (prog->partial)
		return errmsg_set(reterr_msg, -EMEDIUMTYPE, "'%s' is not a 64-bit x86 program",
				  program);
	STRV_FOREACH(n, prog->needed)
	if (strv_extend(&names, *n) < 0)
		return errmsg_oom(reterr_msg);
	for (size_t i = 0; i < strv_length(names); i++) {
		if (i >= CLOSURE_MAX)
			return errmsg_set(reterr_msg, -E2BIG, "'%s' needs over %d libraries",
					  program, CLOSURE_MAX);
		_cleanup_free_ char *path = find_library(names[i], prog->machine);
		if (!path)
			return errmsg_set(reterr_msg, -ENOENT,
					  "cannot find '%s', which '%s' needs, in the standard "
					  "library directories",
					  names[i], program);
		_cleanup_(elf_info_freep) struct elf_info *lib = NULL;
		r = elf_of(path, &lib, reterr_msg);
		if (r < 0)
			return r;
		STRV_FOREACH(n, lib->needed)
		if (!strv_contains(names, *n) && strv_extend(&names, *n) < 0)
			return errmsg_oom(reterr_msg);
		if (strv_extend(&paths, path) < 0)
			return errmsg_oom(reterr_msg);
	}
	*ret_interp = prog->interp ? strdup(prog->interp) : NULL;
	if (prog->interp && !*ret_interp)
		return errmsg_oom(reterr_msg);
	*ret_libs = TAKE_PTR(paths);
	return 0;
}

/* A static busybox for /init's shell, mount and poweroff. */
int installer_busybox(char **ret, char **reterr_msg)
{
	for (size_t i = 0; i < ELEMENTSOF(busybox_paths); i++) {
		if (access(busybox_paths[i], X_OK) < 0)
			continue;
		_cleanup_(elf_info_freep) struct elf_info *e = NULL;
		int r = elf_of(busybox_paths[i], &e, reterr_msg);
		if (r < 0)
			return r;
		if (e->interp || e->needed)
			return errmsg_set(reterr_msg, -ENOEXEC,
					  "'%s' is not a static program: the installer medium "
					  "needs a static busybox (install busybox-static)",
					  busybox_paths[i]);
		*ret = strdup(busybox_paths[i]);
		return *ret ? 0 : errmsg_oom(reterr_msg);
	}
	return errmsg_set(reterr_msg, -ENOENT,
			  "the installer medium needs a static busybox and there is none in "
			  "'/usr/bin' or '/bin' (install busybox-static)");
}

struct cpio {
	struct archive *a;
	time_t now;
	char **err;
};

static int cpio_error(struct cpio *c, const char *what)
{
	return errmsg_set(c->err, -EIO, "cannot write the installer's initramfs (%s): %s", what,
			  archive_error_string(c->a) ? archive_error_string(c->a)
						     : "unknown error");
}

static int cpio_entry(struct cpio *c, const char *name, mode_t mode, const void *data, size_t n)
{
	struct archive_entry *e = archive_entry_new();
	if (!e)
		return errmsg_oom(c->err);
	archive_entry_set_pathname(e, name);
	archive_entry_set_mode(e, mode);
	archive_entry_set_size(e, S_ISREG(mode) ? (la_int64_t)n : 0);
	archive_entry_set_mtime(e, c->now, 0);
	archive_entry_set_nlink(e, S_ISDIR(mode) ? 2 : 1);
	int r = archive_write_header(c->a, e) == ARCHIVE_OK ? 0 : cpio_error(c, name);
	archive_entry_free(e);
	if (r >= 0 && n > 0 && archive_write_data(c->a, data, n) != (la_ssize_t)n)
		r = cpio_error(c, name);
	return r;
}

#define CPIO_FILE_MAX (256u << 20)

static int cpio_modules(struct cpio *c, const struct installer_initrd *in)
{
	int r = in->n_modules ? cpio_entry(c, "enlighten/modules", S_IFDIR | 0755, NULL, 0) : 0;
	for (unsigned i = 0; r >= 0 && i < in->n_modules; i++) {
		_cleanup_free_ char *data = NULL, *name = NULL;
		size_t n = 0;
		r = lseek(in->module_fds[i], 0, SEEK_SET) < 0
			    ? -errno
			    : fs_read_fd(in->module_fds[i], CPIO_FILE_MAX, &data, &n);
		if (r < 0)
			return errmsg_errno(c->err, r, "cannot read '%s' for the installer: %m",
					    in->module_names[i]);
		name = strjoin("enlighten/modules/", basename(in->module_names[i]));
		r = name ? cpio_entry(c, name, S_IFREG | 0644, data, n) : errmsg_oom(c->err);
	}
	return r;
}

static int cpio_file(struct cpio *c, const char *name, const char *path, mode_t mode)
{
	_cleanup_free_ char *data = NULL;
	size_t n = 0;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	int r = fd < 0 ? -errno : fs_read_fd(fd, CPIO_FILE_MAX, &data, &n);
	if (r < 0)
		return errmsg_errno(c->err, r, "cannot read '%s' for the installer: %m", path);
	return cpio_entry(c, name, S_IFREG | mode, data, n);
}

static int cpio_libs(struct cpio *c, const char *interp, char **libs)
{
	int r = 0;
	if (interp) {
		_cleanup_free_ char *name = strjoin("enlighten/lib/", basename(interp));
		r = name ? cpio_file(c, name, interp, 0755) : errmsg_oom(c->err);
	}
	STRV_FOREACH(l, libs)
	{
		if (r < 0)
			break;
		/* libc needs the interpreter too: once, executable */
		if (interp && streq(basename(*l), basename(interp)))
			continue;
		_cleanup_free_ char *name = strjoin("enlighten/lib/", basename(*l));
		r = name ? cpio_file(c, name, *l, 0644) : errmsg_oom(c->err);
	}
	return r;
}

int installer_initrd_write(const struct installer_initrd *in, int out_fd, char **reterr_msg)
{
	struct cpio c = { .a = archive_write_new(), .now = in->now, .err = reterr_msg };
	static const char *const dirs[] = { "enlighten", "enlighten/bin", "enlighten/lib" };
	int r = 0;

	if (!c.a)
		return errmsg_oom(reterr_msg);
	if (archive_write_set_format_cpio_newc(c.a) != ARCHIVE_OK ||
	    archive_write_add_filter_zstd(c.a) != ARCHIVE_OK ||
	    archive_write_open_fd(c.a, out_fd) != ARCHIVE_OK)
		r = cpio_error(&c, "zstd-compressed newc cpio");
	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(dirs); i++)
		r = cpio_entry(&c, dirs[i], S_IFDIR | 0755, NULL, 0);
	if (r >= 0)
		r = cpio_file(&c, "init", in->init, 0755);
	if (r >= 0)
		r = cpio_entry(&c, "enlighten/installer.conf", S_IFREG | 0644, in->conf,
			       strlen(in->conf));
	if (r >= 0)
		r = cpio_file(&c, "enlighten/bin/busybox", in->busybox, 0755);
	if (r >= 0)
		r = cpio_file(&c, "enlighten/bin/enlighten", in->program, 0755);
	if (r >= 0)
		r = cpio_libs(&c, in->interp, in->libs);
	if (r >= 0)
		r = cpio_modules(&c, in);
	if (r >= 0 && archive_write_close(c.a) != ARCHIVE_OK)
		r = cpio_error(&c, "closing it");
	archive_write_free(c.a);
	return r;
}
