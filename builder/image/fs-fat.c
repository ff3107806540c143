/* SPDX-License-Identifier: MIT */
/*
 * fs-fat.c - the EFI system partition writer: FAT32 in the ESP slot through
 * mtools (img@@offset, no mount), with systemd-boot as the removable-media
 * loader and one Boot Loader Specification entry for the base's kernel, or
 * GRUB's EFI image (loader-grub.c) with the kernel left on the root.
 * mtools stamps files with SOURCE_DATE_EPOCH, so the slot is reproducible.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "builder/image/image.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/spawn.h"
#include "lib/basic/string-util.h"

extern char **environ;

struct mtools {
	const char *path;
	char image[4096 + 32]; /* "path@@offset" */
	char **envp;
	char epoch[TOOL_ENV_EPOCH_SIZE];
	char **reterr_msg;
};

/* Whether the filesystem holding path has (next to) no space left. */
static bool output_full(const char *path)
{
	struct statvfs sv;
	if (!path || statvfs(path, &sv) < 0)
		return false;
	uint64_t avail = (uint64_t)(geteuid() == 0 ? sv.f_bfree : sv.f_bavail) * sv.f_frsize;
	return avail < 1024 * 1024;
}

static int mtools_run(struct mtools *m, char *const argv[])
{
	struct spawn_opts opts = { .stdin_fd = -1, .stdout_fd = -1, .envp = m->envp };
	struct spawn_result res = {};
	int r = spawn_run(argv, &opts, &res);
	if (r < 0) {
		if (m->reterr_msg && asprintf(m->reterr_msg, "cannot run '%s' (install mtools): %s",
					      argv[0], strerror(-r)) < 0)
			*m->reterr_msg = NULL;
		return r;
	}
	if (res.exit_status != 0 && output_full(m->path)) {
		/* mformat may even crash (SIGSEGV) on a write that found no space */
		if (m->reterr_msg &&
		    asprintf(m->reterr_msg,
			     "'%s' failed (%s %d): the filesystem the image is written to is full "
			     "(free space there, or give -o another directory)",
			     argv[0], res.exit_status > 128 ? "signal" : "exit status",
			     res.exit_status > 128 ? res.exit_status - 128 : res.exit_status) < 0)
			*m->reterr_msg = NULL;
		spawn_result_done(&res);
		return -ENOSPC;
	}
	if (res.exit_status != 0) {
		if (m->reterr_msg &&
		    asprintf(m->reterr_msg, "'%s' failed with exit status %d: %s", argv[0],
			     res.exit_status, res.err ? strstrip(res.err) : "") < 0)
			*m->reterr_msg = NULL;
		spawn_result_done(&res);
		return -EIO;
	}
	spawn_result_done(&res);
	return 0;
}

static int mcopy_fd(struct mtools *m, int fd, const char *target)
{
	char src[32];
	snprintf(src, sizeof(src), "/dev/fd/%d", fd);
	char *argv[] = { "mcopy", "-i", m->image, src, (char *)target, NULL };
	return mtools_run(m, argv);
}

static int mcopy_text(struct mtools *m, const char *text, const char *target)
{
	_cleanup_close_ int fd = memfd_create("enlighten-esp", 0); /* inherited by mcopy */
	if (fd < 0)
		return -errno;
	int r = fs_write_all(fd, text, strlen(text));
	if (r < 0)
		return r;
	return mcopy_fd(m, fd, target);
}

/* The Windows Boot Manager's files as \EFI\Microsoft\Boot, where bcdboot
 * puts them, and a loader entry that chain-loads it (systemd-boot would
 * also find it by itself, as "auto-windows"). */
static int fat_add_windows(struct mtools *m, const struct esp_content *c)
{
	_cleanup_free_ char *src = strjoin(c->windows_boot_dir, "/EFI/Microsoft"), *entry = NULL;
	if (!src || asprintf(&entry, "title %s\nefi /EFI/Microsoft/Boot/bootmgfw.efi\n",
			     c->windows_title ?: "Windows Boot Manager") < 0)
		return -ENOMEM;
	char *mcopy[] = { "mcopy", "-s", "-i", m->image, src, "::/EFI/", NULL };
	int r = mtools_run(m, mcopy);
	if (r < 0)
		return r;
	return mcopy_text(m, entry, "::/loader/entries/windows.conf");
}

/* xen.efi and xen.cfg in the kernel's directory, where xen.efi looks for
 * its configuration and the files it names, and (with_entry) a
 * systemd-boot entry that starts it. */
static int fat_add_xen(struct mtools *m, const struct esp_content *c, const char *kdir,
		       bool with_entry)
{
	_cleanup_free_ char *efi = strjoin(kdir, "/xen.efi"), *cfg = strjoin(kdir, "/xen.cfg"),
			    *entry = NULL, *entry_path = NULL;
	if (!efi || !cfg ||
	    asprintf(&entry, "title %s (Xen)\nversion %s\nefi /%s/%s/xen.efi\n", c->title,
		     c->kernel_version, c->entry_name, c->kernel_version) < 0 ||
	    asprintf(&entry_path, "::/loader/entries/%s-xen.conf", c->entry_name) < 0)
		return -ENOMEM;
	int r = mcopy_fd(m, c->xen_efi_fd, efi);
	if (r >= 0)
		r = mcopy_text(m, c->xen_cfg, cfg);
	if (r >= 0 && with_entry)
		r = mcopy_text(m, entry, entry_path);
	return r;
}

/* GRUB's Xen entry chain-loads xen.efi from the ESP: it, xen.cfg, and the
 * kernel and initrd xen.cfg names go where systemd-boot's entry has them. */
static int fat_add_xen_for_grub(struct mtools *m, const struct esp_content *c)
{
	_cleanup_free_ char *dir = NULL, *kdir = NULL, *kpath = NULL, *ipath = NULL;
	if (asprintf(&dir, "::/%s", c->entry_name) < 0 ||
	    asprintf(&kdir, "::/%s/%s", c->entry_name, c->kernel_version) < 0 ||
	    asprintf(&kpath, "%s/linux", kdir) < 0 || asprintf(&ipath, "%s/initrd", kdir) < 0)
		return -ENOMEM;
	char *mmd[] = { "mmd", "-i", m->image, dir, kdir, NULL };
	int r = mtools_run(m, mmd);
	if (r >= 0)
		r = mcopy_fd(m, c->kernel_fd, kpath);
	if (r >= 0)
		r = mcopy_fd(m, c->initrd_fd, ipath);
	if (r >= 0)
		r = fat_add_xen(m, c, kdir, false);
	return r;
}

int tool_env(time_t now, char epoch[TOOL_ENV_EPOCH_SIZE], char ***ret_envp)
{
	size_t n = 0, k = 0;
	snprintf(epoch, TOOL_ENV_EPOCH_SIZE, "SOURCE_DATE_EPOCH=%lld", (long long)now);
	while (environ[n])
		n++;
	char **envp = calloc(n + 4, sizeof(char *));
	if (!envp)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!startswith(environ[i], "SOURCE_DATE_EPOCH=") &&
		    !startswith(environ[i], "MTOOLSRC=") &&
		    !startswith(environ[i], "MTOOLS_SKIP_CHECK="))
			envp[k++] = environ[i];
	envp[k++] = epoch;
	envp[k++] = "MTOOLS_SKIP_CHECK=1";
	envp[k++] = "MTOOLSRC=/dev/null";
	*ret_envp = envp;
	return 0;
}

static int mtools_env(struct mtools *m, time_t now, char ***ret_envp)
{
	int r = tool_env(now, m->epoch, ret_envp);
	if (r >= 0)
		m->envp = *ret_envp;
	return r;
}

/* GRUB's ESP: shim, the signed GRUB and MokManager under Secure Boot, or
 * our GRUB as the fallback loader; then Xen's and Windows' files. */
static int fat_write_grub(struct mtools *m, const struct esp_content *c)
{
	int r;
	if (c->shim) {
		char *mmd[] = { "mmd",		 "-i", m->image, "::/EFI", "::/EFI/BOOT",
				"::/EFI/debian", NULL };
		char *shim[] = {
			"mcopy", "-i", m->image, (char *)c->shim, "::/EFI/BOOT/BOOTX64.EFI", NULL
		};
		char *grub[] = {
			"mcopy", "-i", m->image, (char *)c->signed_grub, "::/EFI/BOOT/grubx64.efi",
			NULL
		};
		char *mm[] = {
			"mcopy", "-i", m->image, (char *)c->mok_manager, "::/EFI/BOOT/mmx64.efi",
			NULL
		};
		r = mtools_run(m, mmd);
		if (r >= 0)
			r = mtools_run(m, shim);
		if (r >= 0)
			r = mtools_run(m, grub);
		if (r >= 0 && c->mok_manager)
			r = mtools_run(m, mm);
		if (r >= 0)
			r = mcopy_text(m, c->grub_stub, "::/EFI/debian/grub.cfg");
	} else {
		char *mmd[] = { "mmd", "-i", m->image, "::/EFI", "::/EFI/BOOT", NULL };
		r = mtools_run(m, mmd);
		if (r >= 0)
			r = mcopy_fd(m, c->grub_fd, "::/EFI/BOOT/BOOTX64.EFI");
	}
	if (r >= 0 && c->xen_cfg)
		r = fat_add_xen_for_grub(m, c);
	if (r >= 0 && c->windows_boot_dir) {
		_cleanup_free_ char *src = strjoin(c->windows_boot_dir, "/EFI/Microsoft");
		if (!src)
			return -ENOMEM;
		char *mcopy[] = { "mcopy", "-s", "-i", m->image, src, "::/EFI/", NULL };
		r = mtools_run(m, mcopy);
	}
	return r;
}

/* systemd-boot's ESP: the loader, the kernel and initrd under
 * ENTRY/VERSION/, loader.conf and the entry; then Xen's and Windows'. */
static int fat_write_systemd_boot(struct mtools *m, const struct esp_content *c)
{
	_cleanup_free_ char *loader = NULL, *entry = NULL, *entry_path = NULL, *dir = NULL,
			    *kdir = NULL, *kpath = NULL, *ipath = NULL;
	if (asprintf(&dir, "::/%s", c->entry_name) < 0 ||
	    asprintf(&kdir, "::/%s/%s", c->entry_name, c->kernel_version) < 0 ||
	    asprintf(&kpath, "%s/linux", kdir) < 0 || asprintf(&ipath, "%s/initrd", kdir) < 0 ||
	    asprintf(&entry_path, "::/loader/entries/%s.conf", c->entry_name) < 0)
		return -ENOMEM;
	char *mmd[] = { "mmd",	       "-i",
			m->image,      "::/EFI",
			"::/EFI/BOOT", "::/EFI/systemd",
			"::/loader",   "::/loader/entries",
			dir,	       kdir,
			NULL };
	int r = mtools_run(m, mmd);
	if (r < 0)
		return r;

	char *boot1[] = {
		"mcopy", "-i", m->image, (char *)c->systemd_boot, "::/EFI/BOOT/BOOTX64.EFI", NULL
	};
	char *boot2[] = { "mcopy",
			  "-i",
			  m->image,
			  (char *)c->systemd_boot,
			  "::/EFI/systemd/systemd-bootx64.efi",
			  NULL };
	r = mtools_run(m, boot1);
	if (r >= 0)
		r = mtools_run(m, boot2);
	if (r >= 0)
		r = mcopy_fd(m, c->kernel_fd, kpath);
	if (r >= 0)
		r = mcopy_fd(m, c->initrd_fd, ipath);
	if (r < 0)
		return r;

	/* with two systems on the disk the menu shows for a moment */
	if (asprintf(&loader, "timeout %d\ndefault %s%s.conf\neditor no\n",
		     c->windows_boot_dir ? 5 : 0, c->entry_name,
		     c->xen_cfg && c->xen_default ? "-xen" : "") < 0 ||
	    asprintf(&entry,
		     "title %s\nversion %s\nlinux /%s/%s/linux\ninitrd /%s/%s/initrd\n"
		     "options %s\n",
		     c->title, c->kernel_version, c->entry_name, c->kernel_version, c->entry_name,
		     c->kernel_version, c->cmdline) < 0)
		return -ENOMEM;
	r = mcopy_text(m, loader, "::/loader/loader.conf");
	if (r >= 0)
		r = mcopy_text(m, entry, entry_path);
	if (r >= 0 && c->xen_cfg)
		r = fat_add_xen(m, c, kdir, true);
	if (r >= 0 && c->windows_boot_dir)
		r = fat_add_windows(m, c);
	return r;
}

int fat_write(const char *path, const struct image_slot *slot, const struct esp_content *c,
	      char **reterr_msg)
{
	struct mtools m = { .path = path, .reterr_msg = reterr_msg };
	_cleanup_free_ char **envp = NULL;
	char sectors[32], serial[16];

	snprintf(m.image, sizeof(m.image), "%s@@%" PRIu64, path, slot->offset);
	int r = mtools_env(&m, c->now, &envp);
	if (r < 0)
		return r;
	snprintf(sectors, sizeof(sectors), "%" PRIu64, slot->size / SECTOR_SIZE);
	/* the volume serial: the first 32 bits of the derived filesystem UUID */
	snprintf(serial, sizeof(serial), "%.8s", slot->fs_uuid);
	char *mformat[] = { "mformat",		 "-i", m.image, "-F", "-T", sectors, "-v",
			    (char *)slot->label, "-N", serial,	"::", NULL };
	r = mtools_run(&m, mformat);
	if (r < 0)
		return r;
	return c->shim || c->grub_fd >= 0 ? fat_write_grub(&m, c) : fat_write_systemd_boot(&m, c);
}
