/* SPDX-License-Identifier: MIT */
/*
 * installer.c - the installer medium, NAME.iso (Formats=installer): an
 * ISO 9660 filesystem holding the raw image (zisofs-compressed, so its
 * holes cost nothing) and its block map, the base's kernel and initrd, the
 * installer's initramfs segment (installer-initrd.c) and GRUB, bootable
 * from UEFI (an EFI system partition appended to the ISO, with GRUB's EFI
 * image as EFI/BOOT/BOOTX64.EFI) and from BIOS (GRUB's El Torito image,
 * boot_hybrid.img in the MBR for a USB stick). Made with xorriso in a
 * staging directory beside the output. See docs/installer.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/image/build-private.h"
#include "builder/image/installer.h"
#include "lib/basic/copy.h"
#include "lib/basic/fs.h"
#include "lib/basic/spawn.h"

#define GRUB_HYBRID_MBR GRUB_PC_DIR "/boot_hybrid.img"
#define EFI_IMG_MIN (4u << 20)
#define REPORTS_IMG_SIZE (4u << 20)
#define REPORTS_README                                                                             \
	"This partition of the enlighten installer medium keeps the report of\r\n"                 \
	"each machine it installed: one JSON line per disk written, appended to\r\n"               \
	"reports.jsonl (see docs/installer.md). It is written when the medium is\r\n"              \
	"writable (a USB stick), not when it is a CD.\r\n"

/* Runs argv in envp (NULL: ours); on failure a message naming tool and
 * what to install. */
static int run_tool(char *const *argv, char *const *envp, const char *package, char **reterr_msg)
{
	struct spawn_opts so = { .stdin_fd = -1, .stdout_fd = -1, .envp = envp };
	struct spawn_result res = {};
	int r = spawn_run(argv, &so, &res);
	if (r == -ENOENT)
		return errmsg_set(reterr_msg, r,
				  "Formats=installer needs '%s', which is not installed (install "
				  "%s)",
				  argv[0], package);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot run '%s': %m", argv[0]);
	if (res.exit_status != 0)
		r = errmsg_set(reterr_msg, -EIO, "'%s' failed with exit status %d: %s", argv[0],
			       res.exit_status, res.err ? strstrip(res.err) : "");
	spawn_result_done(&res);
	return r;
}

int installer_check_tools(char **reterr_msg)
{
	char *xorriso[] = { "xorriso", "-version", NULL };
	int r = run_tool(xorriso, NULL, "xorriso", reterr_msg);
	if (r < 0)
		return r;
	if (access(GRUB_HYBRID_MBR, R_OK) < 0)
		return errmsg_errno(reterr_msg, errno,
				    "Formats=installer needs GRUB's '%s' (install grub-pc-bin): %m",
				    GRUB_HYBRID_MBR);
	if (access(GRUB_EFI_DIR "/normal.mod", R_OK) < 0)
		return errmsg_errno(reterr_msg, errno,
				    "Formats=installer needs GRUB's EFI modules in '%s' (install "
				    "grub-efi-amd64-bin): %m",
				    GRUB_EFI_DIR);
	_cleanup_free_ char *bb = NULL;
	return installer_busybox(&bb, reterr_msg);
}

static int write_file(const char *dir, const char *name, const void *data, size_t n,
		      char **reterr_msg)
{
	_cleanup_free_ char *p = strjoin(dir, "/", name);
	if (!p)
		return errmsg_oom(reterr_msg);
	_cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int r = fd < 0 ? -errno : fs_write_all(fd, data, n);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot write '%s': %m", p);
	return 0;
}

static int copy_boot_file(const struct boot_file *f, const char *dir, const char *name,
			  char **reterr_msg)
{
	_cleanup_free_ char *p = strjoin(dir, "/", name);
	if (!p)
		return errmsg_oom(reterr_msg);
	_cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int r = fd < 0 ? -errno : lseek(f->fd, 0, SEEK_SET) < 0 ? -errno : 0;
	if (r >= 0)
		r = copy_stream(f->fd, COPY_SINK_FD(fd), UINT64_MAX, NULL, NULL);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot copy '%s' to '%s': %m", f->name, p);
	return 0;
}

/* The files GRUB reads: its configuration, found through a marker file
 * named after the image's disk GUID, so another medium is never taken. */
static int stage_grub(struct build *b, const char *iso, const char *stage, char **err)
{
	_cleanup_free_ char *early = NULL, *cfg = NULL, *eltorito = NULL, *efi = NULL;
	char *extra[] = { "iso9660", NULL };
	if (asprintf(&early,
		     "search --no-floppy --file --set=root /enlighten/installer-%s\n"
		     "set prefix=($root)/boot/grub\n",
		     b->disk_uuid) < 0 ||
	    asprintf(&cfg,
		     "serial --unit=0 --speed=115200\n"
		     "terminal_input serial console\n"
		     "terminal_output serial console\n"
		     "set timeout=3\n"
		     "menuentry 'Install %s (writes the one empty disk)' {\n"
		     "\tlinux /boot/vmlinuz console=tty0 console=ttyS0,115200 panic=10\n"
		     "\tinitrd /boot/initrd.img /boot/installer.img\n"
		     "}\n",
		     b->recipe->name) < 0)
		return errmsg_oom(err);
	int r = write_file(iso, "boot/grub/grub.cfg", cfg, strlen(cfg), err);
	eltorito = strjoin(iso, "/boot/grub/eltorito.img");
	efi = strjoin(stage, "/bootx64.efi");
	if (!eltorito || !efi)
		return errmsg_oom(err);
	/* inherited by grub-mkimage, which writes to /dev/fd/N */
	_cleanup_close_ int e1 = open(eltorito, O_WRONLY | O_CREAT | O_TRUNC, 0644),
			    e2 = open(efi, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (r >= 0 && (e1 < 0 || e2 < 0))
		r = errmsg_errno(err, errno, "cannot write GRUB's images in '%s': %m", stage);
	if (r >= 0)
		r = grub_mkimage_early("i386-pc-eltorito", GRUB_PC_DIR, "boot/grub", early, extra,
				       e1, err);
	if (r >= 0)
		r = grub_mkimage_early("x86_64-efi", GRUB_EFI_DIR, "boot/grub", early, extra, e2,
				       err);
	return r;
}

/* A FAT volume serial from the image's disk GUID (which the build derives
 * from the recipe and its inputs): 8 of its hex digits, from digit at. */
static void fat_serial(const struct build *b, size_t at, char out[9])
{
	size_t n = 0, digit = 0;
	for (const char *p = b->disk_uuid; *p && n < 8; p++)
		if (*p != '-' && digit++ >= at)
			out[n++] = *p;
	out[n] = '\0';
}

/* The EFI system partition appended to the ISO: FAT (mtools), holding
 * GRUB's EFI image as the removable-media loader. */
static int stage_efi(struct build *b, const char *stage, char *const *envp, char **err)
{
	_cleanup_free_ char *img = strjoin(stage, "/efi.img"),
			    *efi = strjoin(stage, "/bootx64.efi");
	if (!img || !efi)
		return errmsg_oom(err);
	struct stat st;
	if (stat(efi, &st) < 0)
		return errmsg_errno(err, errno, "cannot stat '%s': %m", efi);
	uint64_t size =
		MAX((uint64_t)EFI_IMG_MIN, ((uint64_t)st.st_size + (2u << 20)) & ~0xfffffULL);
	_cleanup_close_ int fd = open(img, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		return errmsg_errno(err, errno, "cannot make '%s': %m", img);
	char serial[9];
	fat_serial(b, 0, serial);
	char *mformat[] = { "mformat", "-i", img, "-v", "EFI", "-N", serial, "::", NULL };
	char *mmd[] = { "mmd", "-i", img, "::/EFI", "::/EFI/BOOT", NULL };
	char *mcopy[] = { "mcopy", "-i", img, efi, "::/EFI/BOOT/BOOTX64.EFI", NULL };
	int r = run_tool(mformat, envp, "mtools", err);
	if (r >= 0)
		r = run_tool(mmd, envp, "mtools", err);
	if (r >= 0)
		r = run_tool(mcopy, envp, "mtools", err);
	return r;
}

/* The report partition appended to the ISO: FAT labelled REPORTS, with a
 * README and a marker named after the image's disk GUID, by which /init
 * knows it among the medium's partitions; reports.jsonl is made there by
 * the first machine installed from a writable medium. */
static int stage_reports(struct build *b, const char *stage, char *const *envp, char **err)
{
	_cleanup_free_ char *img = strjoin(stage, "/reports.img"),
			    *readme = strjoin(stage, "/README.TXT"),
			    *marker = strjoin("::/installer-", b->disk_uuid);
	if (!img || !readme || !marker)
		return errmsg_oom(err);
	_cleanup_close_ int fd = open(img, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, REPORTS_IMG_SIZE) < 0)
		return errmsg_errno(err, errno, "cannot make '%s': %m", img);
	int r = write_file(stage, "README.TXT", REPORTS_README, strlen(REPORTS_README), err);
	char serial[9];
	fat_serial(b, 8, serial);
	char *mformat[] = { "mformat", "-i", img, "-v", "REPORTS", "-N", serial, "::", NULL };
	char *mcopy[] = { "mcopy", "-i", img, readme, "::/README.TXT", NULL };
	char *mark[] = { "mcopy", "-i", img, readme, marker, NULL };
	if (r >= 0)
		r = run_tool(mformat, envp, "mtools", err);
	if (r >= 0)
		r = run_tool(mcopy, envp, "mtools", err);
	if (r >= 0)
		r = run_tool(mark, envp, "mtools", err);
	return r;
}

/* The names of the FAT modules of the kernel booted (the base's initrd
 * may lack them), in load order, for installer.conf. */
static char *module_list(const struct boot_file *const *m, unsigned n)
{
	char *out = strdup("");
	for (unsigned i = 0; out && i < n; i++) {
		char *next = strjoin(out, i ? " " : "", basename(m[i]->name));
		free(out);
		out = next;
	}
	return out;
}

/* The installer's initramfs segment, boot/installer.img. */
static int stage_initrd(struct build *b, const char *iso, char **err)
{
	_cleanup_free_ char *init = strjoin(b->datadir, "/templates/installer/init.sh"),
			    *path = strjoin(iso, "/boot/installer.img"), *conf = NULL,
			    *busybox = NULL, *interp = NULL, *mods = NULL;
	_cleanup_strv_free_ char **libs = NULL;
	const struct boot_file *m[BOOT_MODULES_MAX];
	const char *names[BOOT_MODULES_MAX];
	int fds[BOOT_MODULES_MAX];
	unsigned n =
		boot_fat_modules(&b->boot, kernel_version(b->kernel->name), m, BOOT_MODULES_MAX);
	for (unsigned i = 0; i < n; i++) {
		names[i] = m[i]->name;
		fds[i] = m[i]->fd;
	}
	if (!init || !path || !(mods = module_list(m, n)) ||
	    asprintf(&conf, "IMAGE='%s.raw'\nID='%s'\nMODULES='%s'\n", b->recipe->name,
		     b->disk_uuid, mods) < 0)
		return errmsg_oom(err);
	if (access(init, R_OK) < 0)
		return errmsg_errno(err, errno,
				    "cannot read '%s' (is enlighten installed completely?): %m",
				    init);
	int r = installer_busybox(&busybox, err);
	if (r >= 0)
		r = installer_closure("/proc/self/exe", &interp, &libs, err);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return errmsg_errno(err, errno, "cannot write '%s': %m", path);
	struct installer_initrd in = { .init = init,
				       .conf = conf,
				       .busybox = busybox,
				       .program = "/proc/self/exe",
				       .interp = interp,
				       .libs = libs,
				       .module_names = names,
				       .module_fds = fds,
				       .n_modules = n,
				       .now = b->now };
	return installer_initrd_write(&in, fd, err);
}

/* The image (a hard link to the raw image under construction) and its map. */
static int stage_image(struct build *b, const char *iso, char **err)
{
	_cleanup_free_ char *raw = strjoin(iso, "/", b->recipe->name, ".raw"),
			    *bmap = strjoin(b->recipe->name, ".bmap"), *text = NULL,
			    *marker = strjoin("enlighten/installer-", b->disk_uuid);
	size_t len = 0;
	if (!raw || !bmap || !marker)
		return errmsg_oom(err);
	if (b->recipe->size >= (4ULL << 30))
		return errmsg_set(err, -EFBIG,
				  "Formats=installer: the image is %llu MiB; the installer medium "
				  "holds images under 4 GiB for now (zisofs version 1): make "
				  "Size= smaller or use Formats=raw with 'enlighten deploy'",
				  (unsigned long long)(b->recipe->size >> 20));
	if (linkat(b->dir_fd, b->raw->tmp, AT_FDCWD, raw, 0) < 0)
		return errmsg_errno(err, errno, "cannot link the image into '%s': %m", iso);
	int r = raw_map_text(b, &text, &len);
	if (r >= 0)
		r = write_file(iso, bmap, text, len, err);
	if (r >= 0)
		r = write_file(iso, marker, b->recipe->name, strlen(b->recipe->name), err);
	return r;
}

/* xorriso: El Torito for BIOS (GRUB's eltorito.img) and for UEFI (the
 * appended EFI partition), boot_hybrid.img in the MBR, and the image
 * compressed with zisofs (the Linux kernel reads it as it is). */
static int make_iso(struct build *b, const char *stage, const char *iso, const char *out,
		    char *const *envp, char **err)
{
	_cleanup_free_ char *efi = strjoin(stage, "/efi.img"),
			    *reports = strjoin(stage, "/reports.img"),
			    *raw = strjoin("/", b->recipe->name, ".raw"), *date = NULL;
	if (!efi || !reports || !raw || asprintf(&date, "=%lld", (long long)b->now) < 0)
		return errmsg_oom(err);
	char *argv[] = { "xorriso",
			 "-as",
			 "mkisofs",
			 "-quiet",
			 "-o",
			 (char *)out,
			 "-R",
			 "-uid",
			 "0",
			 "-gid",
			 "0",
			 "-file-mode",
			 "0444",
			 "-dir-mode",
			 "0555",
			 "--set_all_file_dates",
			 date,
			 "-V",
			 "ENLIGHTEN_INSTALLER",
			 "-partition_offset",
			 "16",
			 "-b",
			 "boot/grub/eltorito.img",
			 "-no-emul-boot",
			 "-boot-load-size",
			 "4",
			 "-boot-info-table",
			 "--grub2-boot-info",
			 "--grub2-mbr",
			 GRUB_HYBRID_MBR,
			 "-append_partition",
			 "2",
			 "0xef",
			 efi,
			 "-append_partition",
			 "3",
			 "0x0c",
			 reports,
			 "-appended_part_as_gpt",
			 "-eltorito-alt-boot",
			 "-e",
			 "--interval:appended_partition_2:all::",
			 "-no-emul-boot",
			 (char *)iso,
			 "--",
			 "-set_filter_r",
			 "--zisofs",
			 raw,
			 "--",
			 NULL };
	return run_tool(argv, envp, "xorriso", err);
}

static int installer_stage(struct build *b, const char *stage, const char *out)
{
	char **err = b->err;
	_cleanup_free_ char *iso = strjoin(stage, "/iso");
	if (!iso)
		return errmsg_oom(err);
	static const char *const dirs[] = { "", "/boot", "/boot/grub", "/enlighten" };
	int r = 0;
	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(dirs); i++) {
		_cleanup_free_ char *d = strjoin(iso, dirs[i]);
		if (!d)
			return errmsg_oom(err);
		if (mkdir(d, 0755) < 0)
			r = errmsg_errno(err, errno, "cannot make '%s': %m", d);
	}
	if (r < 0)
		return r;
	char epoch[TOOL_ENV_EPOCH_SIZE];
	_cleanup_free_ char **envp = NULL;
	if (tool_env(b->now, epoch, &envp) < 0)
		return errmsg_oom(err);
	r = copy_boot_file(b->kernel, iso, "boot/vmlinuz", err);
	if (r >= 0)
		r = copy_boot_file(b->initrd, iso, "boot/initrd.img", err);
	if (r >= 0)
		r = stage_image(b, iso, err);
	if (r >= 0)
		r = stage_grub(b, iso, stage, err);
	if (r >= 0)
		r = stage_efi(b, stage, envp, err);
	if (r >= 0)
		r = stage_reports(b, stage, envp, err);
	if (r >= 0)
		r = stage_initrd(b, iso, err);
	if (r >= 0)
		r = make_iso(b, stage, iso, out, envp, err);
	return r;
}

int installer_make(struct build *b, struct atomic_file *f)
{
	if (!b->kernel || !b->initrd)
		return errmsg_set(
			b->err, -ENOENT,
			"Formats=installer needs the base's kernel and initrd to boot the "
			"installer, and base '%s' has none",
			b->recipe->tarball);
	_cleanup_free_ char *stage = strjoin(b->output_dir, "/.#", b->recipe->name,
					     ".installer.XXXXXX"),
			    *out = strjoin(b->output_dir, "/", f->tmp);
	if (!stage || !out)
		return errmsg_oom(b->err);
	if (!mkdtemp(stage))
		return errmsg_errno(b->err, errno, "cannot make a directory in '%s': %m",
				    b->output_dir);
	int r = installer_stage(b, stage, out);
	(void)fs_rm_rf(stage);
	return r;
}
