/* SPDX-License-Identifier: MIT */
/*
 * boot-files.c - the boot files of the build, taken from the base tarball
 * as it streams into the root (kernels, initrds, their configs, the
 * modules.builtin list): the newest kernel and its initrd picked, the
 * initrd checked for the profiles' boot storage drivers on a thread of its
 * own, and the kernel command line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/image/build-private.h"
#include <pthread.h>
#include <sys/mman.h>

#include "builder/image/initrd-check.h"
#include "builder/image/xen.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/string-util.h"

void boot_files_done(struct boot_files *b)
{
	for (unsigned i = 0; i < b->n_kernels; i++) {
		free(b->kernels[i].name);
		safe_close(b->kernels[i].fd);
	}
	for (unsigned i = 0; i < b->n_initrds; i++) {
		free(b->initrds[i].name);
		safe_close(b->initrds[i].fd);
	}
	for (unsigned i = 0; i < b->n_configs; i++) {
		free(b->configs[i].name);
		safe_close(b->configs[i].fd);
	}
	for (unsigned i = 0; i < b->n_modules; i++) {
		free(b->modules[i].name);
		safe_close(b->modules[i].fd);
	}
	safe_close(b->builtin_fd);
}

static bool is_kernel_name(const char *n)
{
	return startswith(n, "boot/vmlinuz-") && !strchr(n + 5, '/');
}

static bool is_initrd_name(const char *n)
{
	return (startswith(n, "boot/initrd.img-") || startswith(n, "boot/initramfs-") ||
		startswith(n, "boot/initrd-")) &&
	       !strchr(n + 5, '/');
}

/* The FAT filesystem and the code pages it mounts with by default, in load
 * order: what mounting a FAT partition needs when the initrd lacks it. */
static const char *const fat_modules[] = { "kernel/fs/fat/fat.ko", "kernel/fs/fat/vfat.ko",
					   "kernel/fs/nls/nls_cp437.ko",
					   "kernel/fs/nls/nls_ascii.ko",
					   "kernel/fs/nls/nls_utf8.ko" };

/* The index in fat_modules of "[usr/]lib/modules/VERSION/kernel/..." (a
 * module compressed or not), with *ret_version pointing at VERSION; -1. */
static int fat_module_index(const char *name, const char **ret_version)
{
	const char *v = startswith(name, "usr/lib/modules/");
	if (!v)
		v = startswith(name, "lib/modules/");
	const char *rest = v ? strchr(v, '/') : NULL;
	if (!rest)
		return -1;
	for (size_t i = 0; i < ELEMENTSOF(fat_modules); i++) {
		const char *tail = startswith(rest + 1, fat_modules[i]);
		if (tail && (streq(tail, "") || streq(tail, ".xz") || streq(tail, ".zst") ||
			     streq(tail, ".gz"))) {
			*ret_version = v;
			return (int)i;
		}
	}
	return -1;
}

unsigned boot_fat_modules(const struct boot_files *b, const char *version,
			  const struct boot_file **ret, unsigned max)
{
	unsigned n = 0;
	for (size_t k = 0; k < ELEMENTSOF(fat_modules); k++)
		for (unsigned i = 0; i < b->n_modules && n < max; i++) {
			const char *v = NULL;
			if (fat_module_index(b->modules[i].name, &v) == (int)k &&
			    startswith(v, version) && v[strlen(version)] == '/')
				ret[n++] = &b->modules[i];
		}
	return n;
}

int boot_tee(const char *name, uint64_t size, void *userdata)
{
	struct boot_files *b = userdata;
	const struct recipe *r = b->recipe;
	struct boot_file *list;
	unsigned *n;

	if (r->kernel ? streq(name, r->kernel) : is_kernel_name(name)) {
		list = b->kernels;
		n = &b->n_kernels;
	} else if (r->initrd ? streq(name, r->initrd) : is_initrd_name(name)) {
		list = b->initrds;
		n = &b->n_initrds;
	} else if (b->builtin_fd < 0 &&
		   (startswith(name, "lib/modules/") || startswith(name, "usr/lib/modules/")) &&
		   endswith(name, "/modules.builtin")) {
		b->builtin_fd = memfd_create("modules.builtin", MFD_CLOEXEC);
		return b->builtin_fd;
	} else if (b->want_fat_modules && fat_module_index(name, &(const char *){ NULL }) >= 0) {
		list = b->modules;
		n = &b->n_modules;
		if (*n >= BOOT_MODULES_MAX)
			return -1;
	} else if (r->xen_hypervisor && startswith(name, "boot/config-") &&
		   !strchr(name + 5, '/') && size <= XEN_KERNEL_CONFIG_MAX) {
		list = b->configs;
		n = &b->n_configs;
	} else
		return -1;
	if (*n >= BOOT_CANDIDATES_MAX && list != b->modules)
		return -1;
	/* not close-on-exec: mcopy reads it as /dev/fd/N */
	int fd = memfd_create("enlighten-boot", 0);
	if (fd < 0)
		return -1;
	list[*n].name = strdup(name);
	if (!list[*n].name) {
		close(fd);
		return -1;
	}
	list[*n].fd = fd;
	(*n)++;
	return fd;
}

/* The kernel's version from its name: "boot/vmlinuz-6.1.0-56-amd64" -> "6.1.0-56-amd64". */
const char *kernel_version(const char *name)
{
	const char *b = strrchr(name, '/');
	b = b ? b + 1 : name;
	return startswith(b, "vmlinuz-") ? b + strlen("vmlinuz-") : b;
}

/* Picks the newest kernel and the initrd of the same version. */
int boot_files_pick(struct boot_files *b, const struct recipe *r, struct boot_file **ret_k,
		    struct boot_file **ret_i, char **err)
{
	struct boot_file *k = NULL, *ird = NULL;
	for (unsigned i = 0; i < b->n_kernels; i++)
		if (!k || strverscmp(b->kernels[i].name, k->name) > 0)
			k = &b->kernels[i];
	if (!k)
		return errmsg_errno(err, ENOENT,
				    "base tarball '%s' has no kernel %s; set Kernel= in [Base]",
				    r->tarball, r->kernel ? r->kernel : "boot/vmlinuz-*");
	if (r->initrd)
		ird = b->n_initrds > 0 ? &b->initrds[0] : NULL;
	else {
		const char *v = kernel_version(k->name);
		for (unsigned i = 0; i < b->n_initrds && !ird; i++) {
			const char *n = b->initrds[i].name + strlen("boot/");
			if ((startswith(n, "initrd.img-") && streq(n + 11, v)) ||
			    (startswith(n, "initrd-") && streq(n + 7, v)) ||
			    (startswith(n, "initramfs-") && startswith(n + 10, v) &&
			     streq(n + 10 + strlen(v), ".img")))
				ird = &b->initrds[i];
		}
	}
	if (!ird)
		return errmsg_errno(err, ENOENT,
				    "base tarball '%s' has no initrd for kernel '%s'; set Initrd= "
				    "in [Base]",
				    r->tarball, k->name);
	*ret_k = k;
	*ret_i = ird;
	return 0;
}

static char *join_words(char *const *l)
{
	size_t n = 1;
	for (char *const *p = l; p && *p; p++)
		n += strlen(*p) + 2;
	char *s = calloc(1, n);
	for (char *const *p = l; s && p && *p; p++) {
		if (p != l)
			strcat(s, ", ");
		strcat(s, *p);
	}
	return s;
}

/* Adds its warnings to *warnings; on failure, a message in *err. */
static int check_initrd(const struct build *b, struct boot_file *ird, int builtin_fd,
			char ***warnings, char **err)
{
	const struct recipe *r = b->recipe;
	_cleanup_free_ char *builtin = NULL, *msg = NULL;
	_cleanup_free_ struct initrd_missing *missing = NULL;
	size_t n = 0;
	int k;

	if (r->initrd_check == INITRD_CHECK_NO)
		return 0;
	if (builtin_fd >= 0) {
		lseek(builtin_fd, 0, SEEK_SET);
		(void)fs_read_fd(builtin_fd, BUILTIN_MAX, &builtin, NULL);
	}
	k = initrd_check_drivers(ird->fd, builtin, b->profile_set, r->profiles, &missing, &n, &msg);
	if (k == -EINVAL)
		return errmsg_errno(err, k, "recipe '%s': %s in Profiles=", r->path,
				    msg ? msg : "");
	if (k < 0)
		return errmsg_errno(err, k, "cannot read initrd '%s' from the base: %s", ird->name,
				    msg ? msg : strerror(-k));
	_cleanup_free_ char *lacking = NULL;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *hv = join_words(missing[i].hypervisors), *line = NULL;
		if (asprintf(&line,
			     "initrd '%s' lacks boot storage driver '%s' (profile %s): the image "
			     "%s not boot on %s",
			     ird->name, missing[i].driver, missing[i].profile,
			     r->initrd_check == INITRD_CHECK_WARN ? "will" : "would",
			     hv && *hv ? hv : missing[i].profile) < 0)
			return errmsg_oom(err);
		if (r->initrd_check == INITRD_CHECK_WARN) {
			if (strv_extend(warnings, line) < 0)
				return errmsg_oom(err);
		} else if (!lacking)
			lacking = TAKE_PTR(line);
	}
	if (lacking)
		return errmsg_errno(
			err, ENOENT,
			"%s; add the drivers to the base's initrd, drop the profiles from "
			"Profiles=, or set InitrdCheck=warn in [Base]",
			lacking);
	return 0;
}

static void *initrd_job_main(void *arg)
{
	struct initrd_job *j = arg;
	j->result = check_initrd(j->build, j->initrd, j->builtin_fd, &j->warnings, &j->msg);
	return NULL;
}

int initrd_job_start(struct initrd_job *j, const struct build *b, struct boot_file *ird,
		     int builtin_fd)
{
	*j = (struct initrd_job){ .build = b, .initrd = ird, .builtin_fd = builtin_fd };
	int k = pthread_create(&j->thread, NULL, initrd_job_main, j);
	if (k != 0) /* no thread: check it here */
		return check_initrd(b, ird, builtin_fd, &b->res->warnings, b->err);
	j->started = true;
	return 0;
}

int initrd_job_wait(struct initrd_job *j, char ***warnings, char **err)
{
	if (!j->started)
		return 0;
	pthread_join(j->thread, NULL);
	j->started = false;
	int k = j->result;
	STRV_FOREACH(w, j->warnings)
	if (k >= 0 && strv_extend(warnings, *w) < 0)
		k = -ENOMEM;
	j->warnings = strv_free(j->warnings);
	if (k < 0 && err)
		errmsg_take(err, k, TAKE_PTR(j->msg));
	if (k == -ENOMEM && err && !*err)
		errmsg_oom(err);
	free(j->msg);
	j->msg = NULL;
	return k;
}

/* The kernel command line: the recipe's, after root= and rw unless it has
 * its own root=. */
int boot_cmdline(struct build *b, char **ret)
{
	const char *extra = b->recipe->cmdline ? b->recipe->cmdline : "";
	char *cmdline = NULL;
	if (strstr(extra, "root=") == extra || strstr(extra, " root="))
		cmdline = strdup(extra);
	else if (asprintf(&cmdline, "root=PARTUUID=%s rw%s%s", b->root->uuid, *extra ? " " : "",
			  extra) < 0)
		cmdline = NULL;
	if (!cmdline)
		return errmsg_oom(b->err);
	*ret = cmdline;
	return 0;
}
