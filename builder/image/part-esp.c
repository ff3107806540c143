/* SPDX-License-Identifier: MIT */
/*
 * part-esp.c - the EFI system partition's row: FAT32 (fs-fat.c) with
 * systemd-boot and the base's kernel, or GRUB's EFI image; under Secure
 * Boot shim and the signed GRUB, each signature checked; a Xen entry and
 * the Windows Boot Manager where the recipe has them.
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
#include <sys/mman.h>
#include <time.h>

#include "builder/image/loader-grub.h"
#include "builder/image/secure-boot.h"
#include "builder/image/xen.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/string-util.h"

/* The Xen entry's parts: the dom0 kernel checked for Xen support from
 * its boot/config-V, xen.efi out of the signed hypervisor package, and
 * xen.cfg. */
static int xen_entry(struct build *b, const struct boot_files *boot, const struct boot_file *kernel,
		     const char *cmdline, struct xen_efi *ret_efi, char **ret_cfg)
{
	const struct recipe *r = b->recipe;
	const char *v = kernel_version(kernel->name);
	_cleanup_free_ char *config = NULL, *want = strjoin("boot/config-", v), *msg = NULL;
	if (!want)
		return errmsg_oom(b->err);
	for (unsigned i = 0; i < boot->n_configs; i++) {
		if (!streq(boot->configs[i].name, want))
			continue;
		int k = lseek(boot->configs[i].fd, 0, SEEK_SET) < 0 ? -errno : 0;
		if (k >= 0)
			k = fs_read_fd(boot->configs[i].fd, XEN_KERNEL_CONFIG_MAX, &config, NULL);
		if (k < 0)
			return errmsg_errno(b->err, k, "cannot read '%s' of the base: %m", want);
	}
	if (!config)
		return errmsg_errno(b->err, ENOENT,
				    "[Xen]: the base tarball '%s' has no '%s', so the dom0 kernel "
				    "'%s' cannot be checked for Xen support; ship the kernel's "
				    "config with it, or remove [Xen]",
				    r->tarball, want, kernel->name);
	if (!xen_kernel_config_has_dom0(config))
		return errmsg_errno(
			b->err, ENOTSUP,
			"[Xen]: the kernel '%s' of base tarball '%s' cannot run as the "
			"Xen control domain ('%s' lacks CONFIG_XEN_DOM0=y); use a kernel "
			"built with Xen dom0 support (Debian's linux-image-amd64, SUSE's "
			"kernel-default) or remove [Xen]",
			kernel->name, r->tarball, want);

	int k = xen_efi_from_payload(b->repo_fd, b->catalog, r->xen_hypervisor, ret_efi, &msg);
	if (k < 0)
		return errmsg_errno(b->err, k, "[Xen] Hypervisor=: %s", msg ? msg : strerror(-k));
	struct xen_cfg_opts o = {
		.section = r->name,
		.dom0_memory = r->xen_dom0_memory,
		.dom0_cpus = r->xen_dom0_cpus,
		.options = r->xen_options,
		.cmdline = cmdline,
		.xen_cmdline = r->xen_cmdline,
	};
	*ret_cfg = xen_cfg_text(&o);
	if (!*ret_cfg) {
		xen_efi_done(ret_efi);
		return errmsg_oom(b->err);
	}
	if (r->loader == LOADER_GRUB)
		build_note(
			b,
			"Xen entry '%s (Xen)' in grub.cfg, under UEFI%s: %s from package '%s' %s",
			r->name, r->xen_default ? " the default" : "", ret_efi->member,
			r->xen_hypervisor,
			ret_efi->payload->version ? ret_efi->payload->version : "");
	else
		build_note(b, "Xen entry '%s-xen.conf'%s: %s from package '%s' %s", r->name,
			   r->xen_default ? " (the default)" : "", ret_efi->member,
			   r->xen_hypervisor,
			   ret_efi->payload->version ? ret_efi->payload->version : "");
	return 0;
}

#define SB_LOADER_MAX (16 * 1024 * 1024)
#define SB_KERNEL_MAX (256 * 1024 * 1024)

/* A file the recipe or the host names (absolute paths too), up to max bytes. */
static int read_host_file(const char *path, size_t max, char **ret, size_t *ret_size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return fs_read_fd(fd, max, ret, ret_size);
}

/* SecureBoot=yes: shim, the signed GRUB and the kernel must each be signed;
 * the CAs they need go to the notes, a chain that depends only on expired
 * CAs to the warnings. Fills *ret_mok with MokManager beside shim, if any. */
static int secure_boot_prepare(struct build *b, struct boot_file *kernel, char **ret_mok)
{
	const struct recipe *r = b->recipe;
	_cleanup_free_ char *shim = NULL, *grub = NULL, *vmlinuz = NULL, *kname = NULL, *mok = NULL,
			    *msg = NULL;
	size_t n_shim = 0, n_grub = 0, n_kernel = 0;
	int k;

	k = read_host_file(r->shim, SB_LOADER_MAX, &shim, &n_shim);
	if (k < 0)
		return errmsg_errno(b->err, k,
				    "cannot read shim '%s' (install shim-signed or set Shim= in "
				    "[Boot]): %m",
				    r->shim);
	k = read_host_file(r->signed_grub, SB_LOADER_MAX, &grub, &n_grub);
	if (k < 0)
		return errmsg_errno(b->err, k,
				    "cannot read the signed GRUB '%s' (install "
				    "grub-efi-amd64-signed or set SignedGrub= in [Boot]): %m",
				    r->signed_grub);
	if (lseek(kernel->fd, 0, SEEK_SET) < 0 ||
	    (k = fs_read_fd(kernel->fd, SB_KERNEL_MAX, &vmlinuz, &n_kernel)) < 0)
		return errmsg_errno(b->err, k < 0 ? k : -errno, "cannot read back the kernel: %m");
	kname = strjoin("/", kernel->name, "' of base tarball '", r->tarball);
	if (!kname)
		return errmsg_oom(b->err);
	const struct sb_file files[] = {
		{ "shim", r->shim, shim, n_shim,
		  "set Shim= in [Boot] to a shim signed by Microsoft's UEFI CA, such as Debian's "
		  "/usr/lib/shim/shimx64.efi.signed (shim-signed)" },
		{ "GRUB", r->signed_grub, grub, n_grub,
		  "set SignedGrub= in [Boot] to a GRUB signed by the distribution, such as "
		  "Debian's /usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed "
		  "(grub-efi-amd64-signed)" },
		/* the name reads: kernel '/boot/vmlinuz-V' of base tarball 'T' */
		{ "kernel", kname, vmlinuz, n_kernel,
		  "use a base with the distribution's signed kernel (Debian: linux-image-amd64)" },
	};
	k = sb_check(files, ELEMENTSOF(files), time(NULL), &b->res->notes, &b->res->warnings,
		     b->err);
	if (k < 0)
		return k;
	k = add_input(b, "shim", r->shim);
	if (k >= 0)
		k = add_input(b, "signed-grub", r->signed_grub);
	if (k < 0)
		return k;

	const char *slash = strrchr(r->shim, '/');
	mok = slash ? strndup(r->shim, (size_t)(slash - r->shim + 1)) : strdup("");
	if (!mok)
		return errmsg_oom(b->err);
	*ret_mok = strjoin(mok, "mmx64.efi.signed");
	if (!*ret_mok)
		return errmsg_oom(b->err);
	if (access(*ret_mok, R_OK) < 0) {
		free(*ret_mok);
		*ret_mok = NULL;
	}
	return 0;
}

static int write_esp(struct build *b, const struct boot_files *boot, struct boot_file *kernel,
		     struct boot_file *initrd)
{
	const struct recipe *r = b->recipe;
	_cleanup_free_ char *cmdline = NULL, *title = NULL, *msg = NULL;
	_cleanup_close_ int grub_fd = -EBADF;

	int k = boot_cmdline(b, &cmdline);
	if (k < 0)
		return k;
	if (asprintf(&title, "%s", r->name) < 0)
		return errmsg_oom(b->err);

	_cleanup_free_ char *mok = NULL, *stub = NULL;
	if (r->secure_boot) {
		k = secure_boot_prepare(b, kernel, &mok);
		if (k < 0)
			return k;
		stub = grub_signed_stub(b->grub.prefix, b->root->fs_uuid);
		if (!stub)
			return errmsg_oom(b->err);
	} else if (r->loader == LOADER_GRUB) {
		grub_fd = memfd_create("enlighten-grub-efi", 0); /* inherited by mcopy */
		if (grub_fd < 0)
			return errmsg_errno(b->err, errno, "cannot make GRUB's EFI image: %m");
		k = grub_mkimage("x86_64-efi", GRUB_EFI_DIR, b->grub.prefix, b->root->fs_uuid,
				 grub_fd, &msg);
		if (k < 0)
			return errmsg_errno(b->err, k, "%s", msg);
	}

	struct esp_content c = {
		.grub_fd = grub_fd,
		.shim = r->secure_boot ? r->shim : NULL,
		.signed_grub = r->signed_grub,
		.mok_manager = mok,
		.grub_stub = stub,
		.kernel_fd = kernel->fd,
		.initrd_fd = initrd->fd,
		.kernel_version = kernel_version(kernel->name),
		.title = title,
		.cmdline = cmdline,
		.entry_name = r->name,
		.systemd_boot = r->systemd_boot,
		.now = b->now,
	};
	if (r->loader == LOADER_SYSTEMD_BOOT) {
		int lfd = fs_open_input(r->systemd_boot);
		if (lfd < 0)
			return errmsg_set(
				b->err, lfd,
				"cannot read the boot loader '%s' (install systemd-boot-efi "
				"or set Loader= in [Boot]): %s",
				r->systemd_boot, fs_input_strerror(lfd));
		safe_close(lfd);
	}
	c.windows_boot_dir = b->windows_esp;
	_cleanup_free_ char *xen_cfg = NULL;
	struct xen_efi xen = { .fd = -EBADF };
	k = r->xen_hypervisor ? xen_entry(b, boot, kernel, cmdline, &xen, &xen_cfg) : 0;
	if (k < 0)
		return k;
	c.xen_cfg = xen_cfg;
	c.xen_efi_fd = xen.fd;
	c.xen_default = r->xen_default;
	k = fat_write(b->raw_path, b->esp, &c, &msg);
	xen_efi_done(&xen);
	if (k < 0)
		return errmsg_errno(b->err, k, "cannot write the ESP: %s",
				    msg ? msg : strerror(-k));
	return 0;
}

static int esp_write(struct build *b, struct image_slot *slot _unused_)
{
	return write_esp(b, &b->boot, b->kernel, b->initrd);
}

static uint64_t esp_size(const struct recipe *r)
{
	return r->esp_size;
}

static const char *esp_label(const struct recipe *r)
{
	return r->esp_label;
}

const struct partition_kind partition_esp = {
	.name = "esp",
	.type = GPT_TYPE_ESP,
	.fs = "vfat",
	.fs_uuid = true,
	.size = esp_size,
	.label = esp_label,
	.phase = PARTITION_PHASE_BOOT,
	.write = esp_write,
};
