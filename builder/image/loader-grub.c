/* SPDX-License-Identifier: MIT */
/*
 * loader-grub.c - GRUB 2 as the image's boot loader (loader-grub.h): the
 * grub-mkimage image with its early configuration, and grub.cfg on the root
 * in the form the distribution's kernel updates keep pointing at the newest
 * kernel (docs/boot-loaders.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/image/fs-ext4.h"
#include "builder/image/grubenv.h"
#include "builder/image/loader-grub.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/spawn.h"
#include "lib/basic/string-util.h"

/* Built into the image, so that neither an EFI nor a BIOS GRUB needs module
 * files on the disk: what grub.cfg here and grub-mkconfig's use. */
static const char *const grub_modules_common[] = {
	"part_gpt",	"part_msdos", "fat",	 "ext2",	   "normal",
	"boot",		"linux",      "search",	 "search_fs_uuid", "search_fs_file",
	"search_label", "configfile", "echo",	 "test",	   "gzio",
	"serial",	"terminal",   "loadenv", "reboot",	   "halt",
	"ls",		"cat",	      "regexp",	 "sleep",	   "true",
};
static const char *const grub_modules_efi[] = { "efi_gop", "chain" };
static const char *const grub_modules_pc[] = { "biosdisk" };

/* boot.img and the first sector of core.img (GRUB's include/grub/i386/pc/boot.h). */
#define SECTOR 512
#define BOOT_BPB_START 0x3
#define BOOT_BPB_END 0x5a
#define BOOT_KERNEL_SECTOR 0x5c /* LE64: the first sector of core.img */
#define BOOT_DRIVE 0x64		/* 0xff: the drive the BIOS booted from */
#define BOOT_DRIVE_CHECK 0x66	/* a jump grub-bios-setup turns into two NOPs for a disk */
#define BOOT_NT_MAGIC 0x1b8	/* from here on: disk signature, partition table, 55 AA */
#define BLOCKLIST_SIZE 12	/* LE64 start, LE16 sectors, LE16 segment */
#define KERNEL_SEGMENT 0x820	/* where diskboot loads the rest of core.img */

/* The kernel links a distribution keeps on its newest kernel, in the order
 * looked for: Debian's (linux-update-symlinks, /etc/kernel-img.conf), then
 * SUSE's (the kernel package's %post). */
static const struct {
	const char *kernel, *initrd, *kernel_old, *initrd_old;
} kernel_links[] = {
	{ "vmlinuz", "initrd.img", "vmlinuz.old", "initrd.img.old" },
	{ "boot/vmlinuz", "boot/initrd", NULL, NULL },
};

void grub_choice_done(struct grub_choice *c)
{
	free(c->prefix);
	free(c->kernel_link);
	*c = (struct grub_choice){};
}

static bool is_type(struct ext4 *e, const char *path, mode_t type)
{
	mode_t m;
	return ext4_lstat_type(e, path, &m) >= 0 && m == type;
}

/* A word of the command line as GRUB's script reader takes it literally. */
static void put_escaped(FILE *f, const char *s)
{
	for (const char *p = s; *p; p++) {
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			    "=._,:/+-@% \t",
			    *p))
			fputc('\\', f);
		fputc(*p, f);
	}
}

static void entry_write(FILE *f, const char *title, const char *id, const char *kernel,
			const char *initrd, const char *cmdline)
{
	fprintf(f, "menuentry '%s' --id %s {\n\tlinux /%s ", title, id, kernel);
	put_escaped(f, cmdline);
	fprintf(f, "\n\tinitrd /%s\n}\n", initrd);
}

static char *config_text(const struct grub_config *c, const struct grub_choice *ch,
			 const char *kernel, const char *initrd, const char *kernel_old,
			 const char *initrd_old)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	fprintf(f, "# /%s/grub.cfg, written by enlighten build (docs/boot-loaders.md).\n",
		ch->prefix);
	if (ch->kernel_link)
		fprintf(f,
			"# It boots /%s, the link the distribution's kernel packages move to\n"
			"# each kernel they install, so a kernel update boots the new kernel.\n",
			ch->kernel_link);
	else
		fprintf(f, "# It boots /%s: the base keeps no link to its newest kernel.\n",
			kernel);
	if (ch->mkconfig)
		fprintf(f, "# The base's grub-mkconfig (update-grub) replaces it when it runs.\n");
	/* with two systems on the disk the menu shows for a moment */
	fprintf(f, "set default=0\n%s",
		c->windows_title ? "set timeout=5\n" : "set timeout=1\nset timeout_style=hidden\n");
	if (strstr(c->cmdline, "console=ttyS0"))
		fprintf(f, "serial --unit=0 --speed=115200\nterminal_input console serial\n"
			   "terminal_output console serial\n");
	fprintf(f, "search --no-floppy --fs-uuid --set=root %s\n", c->root_fs_uuid);
	entry_write(f, c->title, "enlighten", kernel, initrd, c->cmdline);
	if (kernel_old) {
		_cleanup_free_ char *t = strjoin(c->title, ", previous kernel");
		if (!t) {
			fclose(f);
			free(text);
			return NULL;
		}
		entry_write(f, t, "enlighten-previous", kernel_old, initrd_old, c->cmdline);
	}
	if (c->xen_efi) {
		/* xen.efi is an EFI program: chain-loaded from the ESP, under UEFI only */
		fprintf(f,
			"if [ \"$grub_platform\" = efi ]; then\n"
			"menuentry '%s (Xen)' --id enlighten-xen {\n"
			"\tsearch --no-floppy --file --set=root %s\n"
			"\tchainloader %s\n}\n",
			c->title, c->xen_efi, c->xen_efi);
		if (c->xen_default)
			fprintf(f, "set default=enlighten-xen\n");
		fprintf(f, "fi\n");
	}
	if (c->windows_title)
		fprintf(f,
			"menuentry '%s' --id windows {\n"
			"\tsearch --no-floppy --file --set=root /EFI/Microsoft/Boot/bootmgfw.efi\n"
			"\tchainloader /EFI/Microsoft/Boot/bootmgfw.efi\n}\n",
			c->windows_title);
	/* `grub-reboot ID` (next_entry in grubenv) boots ID once, as Debian's
	 * and SUSE's grub-mkconfig headers do it */
	fprintf(f, "if [ -s $prefix/grubenv ]; then\n\tload_env\nfi\n"
		   "if [ \"${next_entry}\" ]; then\n\tset default=\"${next_entry}\"\n"
		   "\tset next_entry=\n\tsave_env next_entry\nfi\n");
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* /etc/default/grub.d/enlighten.cfg: the command line without root=, which
 * grub-mkconfig finds by itself. */
static char *defaults_text(const struct grub_config *c)
{
	_cleanup_free_ char *args = strdup("");
	_cleanup_free_ char *copy = strdup(c->cmdline);
	if (!args || !copy)
		return NULL;
	char *save = NULL;
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (startswith(w, "root=") || streq(w, "rw") || strchr(w, '"') || strchr(w, '\\') ||
		    strchr(w, '$') || strchr(w, '`'))
			continue;
		char *n = strjoin(args, *args ? " " : "", w);
		if (!n)
			return NULL;
		free(args);
		args = n;
	}
	return strjoin("# Written by enlighten build: the image's kernel command line, for\n"
		       "# update-grub (grub-mkconfig finds root= by itself).\n"
		       "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX ",
		       args, "\"\nGRUB_TIMEOUT=1\n");
}

/* An empty PREFIX/grubenv where the base has none: GRUB's save_env only
 * rewrites a block that exists (grub-install makes it on a real system).
 * On failure *path names it. */
static int grubenv_write(struct ext4 *e, const char *prefix, char **path)
{
	char block[GRUBENV_SIZE];
	mode_t m;
	free(*path);
	*path = strjoin(prefix, "/grubenv");
	if (!*path)
		return -ENOMEM;
	int r = ext4_lstat_type(e, *path, &m);
	if (r != -ENOENT)
		return r < 0 ? r : 0;
	r = grubenv_set(NULL, 0, NULL, NULL, block);
	return r < 0 ? r : ext4_write_file(e, *path, block, sizeof(block), 0644);
}

int grub_install_config(struct ext4 *e, const struct grub_config *c, struct grub_choice *ret,
			char **reterr_msg)
{
	struct grub_choice ch = {};
	const char *kernel = c->kernel, *initrd = c->initrd, *kernel_old = NULL, *initrd_old = NULL;
	_cleanup_free_ char *text = NULL, *path = NULL;
	int r;

	ch.mkconfig = is_type(e, "usr/sbin/update-grub", S_IFREG) ||
		      is_type(e, "usr/sbin/update-grub", S_IFLNK) ||
		      is_type(e, "usr/sbin/grub-mkconfig", S_IFREG) ||
		      is_type(e, "usr/sbin/grub2-mkconfig", S_IFREG);
	bool grub2 =
		is_type(e, "usr/sbin/grub2-mkconfig", S_IFREG) || is_type(e, "boot/grub2", S_IFDIR);
	ch.prefix = strdup(grub2 ? "boot/grub2" : "boot/grub");
	if (!ch.prefix)
		return errmsg_oom(reterr_msg);

	for (size_t i = 0; !c->kernel_pinned && i < ELEMENTSOF(kernel_links); i++) {
		if (!is_type(e, kernel_links[i].kernel, S_IFLNK) ||
		    !is_type(e, kernel_links[i].initrd, S_IFLNK))
			continue;
		kernel = kernel_links[i].kernel;
		initrd = kernel_links[i].initrd;
		if (kernel_links[i].kernel_old && is_type(e, kernel_links[i].kernel_old, S_IFLNK) &&
		    is_type(e, kernel_links[i].initrd_old, S_IFLNK)) {
			kernel_old = kernel_links[i].kernel_old;
			initrd_old = kernel_links[i].initrd_old;
		}
		ch.kernel_link = strdup(kernel);
		if (!ch.kernel_link) {
			grub_choice_done(&ch);
			return errmsg_oom(reterr_msg);
		}
		break;
	}

	text = config_text(c, &ch, kernel, initrd, kernel_old, initrd_old);
	path = strjoin(ch.prefix, "/grub.cfg");
	if (!text || !path) {
		grub_choice_done(&ch);
		return errmsg_oom(reterr_msg);
	}
	r = ext4_mkdir_p(e, ch.prefix, 0755);
	if (r >= 0)
		r = ext4_write_file(e, path, text, strlen(text), 0644);
	if (r >= 0)
		r = grubenv_write(e, ch.prefix, &path);
	if (r < 0) {
		grub_choice_done(&ch);
		return errmsg_set(reterr_msg, r, "cannot write '/%s' into the image: %s", path,
				  ext4_strerror(e, r));
	}
	if (ch.mkconfig) {
		_cleanup_free_ char *defaults = defaults_text(c);
		if (!defaults) {
			grub_choice_done(&ch);
			return errmsg_oom(reterr_msg);
		}
		r = ext4_mkdir_p(e, "etc/default/grub.d", 0755);
		if (r >= 0)
			r = ext4_write_file(e, "etc/default/grub.d/enlighten.cfg", defaults,
					    strlen(defaults), 0644);
		if (r < 0) {
			grub_choice_done(&ch);
			return errmsg_set(reterr_msg, r,
					  "cannot write '/etc/default/grub.d/enlighten.cfg' "
					  "into the image: %s",
					  ext4_strerror(e, r));
		}
	}
	*ret = ch;
	return 0;
}

/* What grub-install writes as load.cfg: root and prefix set by the root
 * filesystem's UUID; the signed GRUB's stub then reads grub.cfg there. */
static char *early_config(const char *prefix, const char *root_fs_uuid, bool configfile)
{
	char *s = NULL;
	if (asprintf(&s,
		     "search --no-floppy --fs-uuid --set=root %s\n"
		     "set prefix=($root)/%s\n%s",
		     root_fs_uuid, prefix, configfile ? "configfile $prefix/grub.cfg\n" : "") < 0)
		return NULL;
	return s;
}

char *grub_signed_stub(const char *prefix, const char *root_fs_uuid)
{
	return early_config(prefix, root_fs_uuid, true);
}

static int memfd_text(const char *text)
{
	int fd = memfd_create("enlighten-grub", 0); /* inherited by grub-mkimage */
	if (fd < 0)
		return -errno;
	int r = fs_write_all(fd, text, strlen(text));
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int grub_mkimage(const char *format, const char *dir, const char *prefix, const char *root_fs_uuid,
		 int out_fd, char **reterr_msg)
{
	_cleanup_free_ char *early = early_config(prefix, root_fs_uuid, false);
	if (!early)
		return errmsg_oom(reterr_msg);
	return grub_mkimage_early(format, dir, prefix, early, NULL, out_fd, reterr_msg);
}

int grub_mkimage_early(const char *format, const char *dir, const char *prefix, const char *early,
		       char *const *extra, int out_fd, char **reterr_msg)
{
	_cleanup_free_ char *probe = NULL, *pfx = NULL;
	_cleanup_strv_free_ char **argv = NULL;
	_cleanup_close_ int cfg_fd = -EBADF;
	char cfg_path[32], out_path[32];
	bool efi = startswith(format, "x86_64-efi") != NULL;
	int r;

	probe = strjoin(dir, "/normal.mod");
	pfx = strjoin("/", prefix);
	if (!probe || !pfx)
		return errmsg_oom(reterr_msg);
	if (access(probe, R_OK) < 0)
		return errmsg_errno(reterr_msg, errno,
				    "GRUB's %s modules are not in '%s' (install %s): %m", format,
				    dir, efi ? "grub-efi-amd64-bin" : "grub-pc-bin");

	cfg_fd = memfd_text(early);
	if (cfg_fd < 0)
		return errmsg_errno(reterr_msg, cfg_fd,
				    "cannot make GRUB's early configuration: %m");
	snprintf(cfg_path, sizeof(cfg_path), "/dev/fd/%d", cfg_fd);
	snprintf(out_path, sizeof(out_path), "/dev/fd/%d", out_fd);

	const char *head[] = { "grub-mkimage", "-O",	 format, "-d",	  dir, "-p", pfx,
			       "-c",	       cfg_path, "-o",	 out_path };
	for (size_t i = 0; i < ELEMENTSOF(head); i++)
		if (strv_extend(&argv, head[i]) < 0)
			return errmsg_oom(reterr_msg);
	for (size_t i = 0; i < ELEMENTSOF(grub_modules_common); i++)
		if (strv_extend(&argv, grub_modules_common[i]) < 0)
			return errmsg_oom(reterr_msg);
	for (size_t i = 0; efi && i < ELEMENTSOF(grub_modules_efi); i++)
		if (strv_extend(&argv, grub_modules_efi[i]) < 0)
			return errmsg_oom(reterr_msg);
	for (size_t i = 0; !efi && i < ELEMENTSOF(grub_modules_pc); i++)
		if (strv_extend(&argv, grub_modules_pc[i]) < 0)
			return errmsg_oom(reterr_msg);
	STRV_FOREACH(m, extra)
	if (strv_extend(&argv, *m) < 0)
		return errmsg_oom(reterr_msg);

	struct spawn_opts o = { .stdin_fd = -1, .stdout_fd = -1 };
	struct spawn_result res = {};
	r = spawn_run(argv, &o, &res);
	if (r == -ENOENT)
		return errmsg_errno(reterr_msg, r,
				    "cannot run 'grub-mkimage' (install grub-common): %m");
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot run 'grub-mkimage': %m");
	if (res.exit_status != 0) {
		r = errmsg_set(reterr_msg, -EIO,
			       "'grub-mkimage -O %s' failed with exit status %d: %s", format,
			       res.exit_status, res.err ? strstrip(res.err) : "");
		spawn_result_done(&res);
		return r;
	}
	spawn_result_done(&res);
	return 0;
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

int grub_install_bios(const char *path, uint64_t offset, uint64_t size, const char *prefix,
		      const char *root_fs_uuid, char **reterr_msg)
{
	_cleanup_free_ char *core = NULL, *boot = NULL, *boot_path = NULL;
	_cleanup_close_ int core_fd = -EBADF, disk_fd = -EBADF, boot_fd = -EBADF;
	uint8_t mbr[SECTOR];
	size_t n_core = 0, n_boot = 0;
	int r;

	core_fd = memfd_create("enlighten-grub-core", 0); /* inherited by grub-mkimage */
	if (core_fd < 0)
		return errmsg_errno(reterr_msg, errno, "cannot make GRUB's core.img: %m");
	r = grub_mkimage("i386-pc", GRUB_PC_DIR, prefix, root_fs_uuid, core_fd, reterr_msg);
	if (r < 0)
		return r;
	if (lseek(core_fd, 0, SEEK_SET) < 0)
		return errmsg_errno(reterr_msg, errno, "cannot read GRUB's core.img: %m");
	r = fs_read_fd(core_fd, size + 1, &core, &n_core);
	if (r == -EFBIG || (r >= 0 && n_core > size))
		return errmsg_set(reterr_msg, -EFBIG,
				  "GRUB's core.img is larger than the %" PRIu64
				  " byte BIOS boot partition",
				  size);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot read GRUB's core.img: %m");
	uint64_t sectors = (n_core + SECTOR - 1) / SECTOR;
	uint8_t *list = (uint8_t *)core + SECTOR - BLOCKLIST_SIZE;
	if (n_core < SECTOR || get_le16(list + 8) != sectors - 1 ||
	    get_le16(list + 10) != KERNEL_SEGMENT)
		return errmsg_set(reterr_msg, -EBADMSG,
				  "GRUB's core.img from '%s' does not start with the diskboot "
				  "block list this grub-pc-bin should give",
				  GRUB_PC_DIR);
	/* diskboot loads the rest of core.img from the sectors after its own */
	put_le64(list, offset / SECTOR + 1);

	boot_path = strjoin(GRUB_PC_DIR, "/boot.img");
	if (!boot_path)
		return errmsg_oom(reterr_msg);
	boot_fd = open(boot_path, O_RDONLY | O_CLOEXEC);
	if (boot_fd < 0)
		return errmsg_errno(reterr_msg, errno, "cannot open '%s' (install grub-pc-bin): %m",
				    boot_path);
	r = fs_read_fd(boot_fd, SECTOR + 1, &boot, &n_boot);
	if (r >= 0 && n_boot != SECTOR)
		r = -EBADMSG;
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot read '%s' as one sector: %m", boot_path);

	disk_fd = open(path, O_RDWR | O_CLOEXEC);
	if (disk_fd < 0)
		return errmsg_errno(reterr_msg, errno, "cannot open '%s': %m", path);
	ssize_t got = pread(disk_fd, mbr, SECTOR, 0);
	if (got != SECTOR || mbr[510] != 0x55 || mbr[511] != 0xaa)
		return errmsg_set(reterr_msg, got < 0 ? -errno : -EBADMSG,
				  "'%s' has no protective MBR to put GRUB's boot code in", path);
	/* boot.img's code, with the MBR's own BPB area, signature and table */
	memcpy(boot + BOOT_BPB_START, mbr + BOOT_BPB_START, BOOT_BPB_END - BOOT_BPB_START);
	memcpy(boot + BOOT_NT_MAGIC, mbr + BOOT_NT_MAGIC, SECTOR - BOOT_NT_MAGIC);
	put_le64((uint8_t *)boot + BOOT_KERNEL_SECTOR, offset / SECTOR);
	boot[BOOT_DRIVE] = (char)0xff;
	boot[BOOT_DRIVE_CHECK] = (char)0x90;
	boot[BOOT_DRIVE_CHECK + 1] = (char)0x90;

	_cleanup_free_ char *padded = calloc(sectors, SECTOR);
	if (!padded)
		return errmsg_oom(reterr_msg);
	memcpy(padded, core, n_core);
	if (pwrite(disk_fd, padded, sectors * SECTOR, (off_t)offset) !=
		    (ssize_t)(sectors * SECTOR) ||
	    pwrite(disk_fd, boot, SECTOR, 0) != SECTOR)
		return errmsg_errno(reterr_msg, errno,
				    "cannot write GRUB's boot code into '%s': %m", path);
	return 0;
}
