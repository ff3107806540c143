/* SPDX-License-Identifier: MIT */
/*
 * test-grub-entry.c - boot-test's reading of a GRUB disk (entry.h), on a
 * small raw disk made here: a GPT with a root partition whose ext4 holds
 * grub.cfg as grub-mkconfig writes it (set default by title, a submenu, a
 * chain-loaded entry), a /vmlinuz symlink and two initrds. The default
 * entry's kernel must come out through the symlink, its initrds
 * concatenated, its command line unquoted; a disk without grub.cfg says so,
 * and one without a Xen entry when one is asked for. Where a file lies in
 * the root (grubenv, which boot-test rewrites in place). The kernel and
 * initrds are stand-in files (a few bytes each).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/boot-test/entry.h"
#include "builder/image/fs-ext4.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "tests/unit/root-disk.h"
#include "tests/unit/tap.h"

static const char grub_cfg[] =
	"set default=\"Debian GNU/Linux, with Linux 6.1.0-2-amd64\"\n"
	"menuentry 'Windows Boot Manager' --id windows {\n"
	"\tchainloader /EFI/Microsoft/Boot/bootmgfw.efi\n"
	"}\n"
	"menuentry 'Debian GNU/Linux' --class debian $menuentry_id_option 'gnulinux-simple' {\n"
	"\tlinux\t/boot/vmlinuz-6.1.0-1-amd64 root=UUID=1 ro quiet\n"
	"\tinitrd\t/boot/initrd.img-6.1.0-1-amd64\n"
	"}\n"
	"submenu 'Advanced options for Debian GNU/Linux' {\n"
	"\tmenuentry 'Debian GNU/Linux, with Linux 6.1.0-1-amd64 (recovery mode)' {\n"
	"\t\tlinux\t/boot/vmlinuz-6.1.0-1-amd64 single\n"
	"\t}\n"
	"}\n"
	"menuentry 'Debian GNU/Linux, with Linux 6.1.0-2-amd64' --id two {\n"
	"\tif [ x$grub_platform = xxen ]; then insmod xzio; fi\n"
	"\tlinux /vmlinuz root=PARTUUID=2 rw 'console=ttyS0,115200' quiet\\ splash\n"
	"\tinitrd /boot/ucode.img /initrd.img\n"
	"}\n";

static int make_disk(const char *path, bool with_cfg)
{
	struct ext4 *e = NULL;
	int r = root_disk_make(path, &e);
	if (r < 0)
		return r;
	if (with_cfg)
		r = ext4_mkdir_p(e, "boot/grub", 0755);
	if (r >= 0 && with_cfg)
		r = ext4_write_file(e, "boot/grub/grub.cfg", grub_cfg, strlen(grub_cfg), 0644);
	if (r >= 0)
		r = ext4_mkdir_p(e, "boot", 0755);
	if (r >= 0)
		r = ext4_write_file(e, "boot/vmlinuz-6.1.0-2-amd64", "kernel two\n", 11, 0644);
	if (r >= 0)
		r = ext4_write_file(e, "boot/initrd.img-6.1.0-2-amd64", "initrd two\n", 11, 0644);
	if (r >= 0)
		r = ext4_write_file(e, "boot/ucode.img", "ucode\n", 6, 0644);
	if (r >= 0)
		r = ext4_symlink(e, "vmlinuz", "boot/vmlinuz-6.1.0-2-amd64");
	if (r >= 0)
		r = ext4_symlink(e, "initrd.img", "boot/initrd.img-6.1.0-2-amd64");
	int q = ext4_close(e);
	return r < 0 ? r : q;
}

static char *slurp(const char *path)
{
	char *s = NULL;
	size_t n;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 || fs_read_fd(fd, 4096, &s, &n) < 0 ? NULL : s;
}

/* Where a file lies in the root's ext4, as boot-test finds grubenv to
 * write next_entry in place: the bytes at that place of the disk are the
 * file's. */
static void test_place(void)
{
	struct ext4 *e = NULL;
	char block[4096], got[4096];
	memset(block, '#', sizeof(block));
	memcpy(block, "# GRUB Environment Block\n", 25);
	ok(root_disk_make("place.raw", &e) == 0, "a root disk");
	if (!e)
		return;
	int r = ext4_mkdir_p(e, "boot/grub", 0755);
	if (r >= 0)
		r = ext4_write_file(e, "boot/grub/grubenv", block, 1024, 0644);
	if (r >= 0)
		r = ext4_write_file(e, "boot/big", block, sizeof(block), 0644);
	if (r >= 0)
		r = ext4_write_file(e, "boot/empty", "", 0, 0644);
	uint64_t off = 0, size = 0;
	is_int(ext4_file_place(e, "boot/grub/grubenv", &off, &size), 0, "grubenv's place found");
	is_int((int)size, 1024, "... its size");
	is_int(ext4_file_place(e, "boot/empty", &off, &size), -ERANGE,
	       "an empty file has no place");
	is_int(ext4_file_place(e, "boot", &off, &size), -EINVAL, "nor a directory");
	is_int(ext4_file_place(e, "boot/none", &off, &size), -ENOENT, "nor a file not there");
	ok(ext4_file_place(e, "boot/grub/grubenv", &off, &size) == 0 && ext4_close(e) == 0,
	   "written out");
	_cleanup_close_ int fd = open("place.raw", O_RDONLY | O_CLOEXEC);
	ok(fd >= 0 && pread(fd, got, 1024, (off_t)(ROOT_DISK_MIB + off)) == 1024 &&
		   memcmp(got, block, 1024) == 0,
	   "the disk holds the file's bytes there");
}

int main(void)
{
	struct boot_entry *e = NULL;
	char *msg = NULL;
	tap_tmpdir();
	char *dir = get_current_dir_name();
	if (access("/usr/bin/qemu-img", X_OK) != 0) {
		printf("1..0 # SKIP qemu-img missing\n");
		return 0;
	}

	ok(make_disk("grub.raw", true) == 0, "a GPT disk whose root holds grub.cfg");
	int r = boot_entry_extract_grub("grub.raw", "raw", dir, BOOT_ENTRY_PLAIN, &e, &msg);
	is_int(r, 0, "its GRUB entry read");
	if (r < 0)
		printf("# %s\n", msg);
	if (e) {
		is_str(e->id, "grub.cfg", "... named after grub.cfg");
		is_str(e->title, "Debian GNU/Linux, with Linux 6.1.0-2-amd64",
		       "... the entry 'set default' names, past a submenu and a chain-loader");
		is_str(e->options, "root=PARTUUID=2 rw console=ttyS0,115200 quiet splash",
		       "... its command line, quotes and backslashes undone");
		_cleanup_free_ char *k = slurp(e->kernel), *i = slurp(e->initrd);
		is_str(k, "kernel two\n", "... the kernel, through the /vmlinuz symlink");
		is_str(i, "ucode\ninitrd two\n", "... both initrds, in order");
		boot_entry_free(e);
		e = NULL;
	}
	ok(access("root.raw", F_OK) != 0, "the root's copy is removed");

	r = boot_entry_extract_grub("grub.raw", "raw", dir, BOOT_ENTRY_XEN, &e, &msg);
	is_int(r, -ENOENT, "a grub.cfg without an entry that chain-loads xen*.efi: no Xen entry");
	ok(msg && strstr(msg, "has no Xen entry (a menu entry that chain-loads xen*.efi); build "
			      "it with a [Xen] section"),
	   "... said plainly: %s", msg);
	free(msg);
	msg = NULL;
	test_place();

	ok(make_disk("nocfg.raw", false) == 0, "a disk without grub.cfg");
	r = boot_entry_extract_grub("nocfg.raw", "raw", dir, BOOT_ENTRY_PLAIN, &e, &msg);
	is_int(r, -ENOENT, "no entry");
	ok(msg && strstr(msg, "'nocfg.raw' has neither a systemd-boot entry nor a grub.cfg"),
	   "... said plainly: %s", msg);
	free(msg);
	free(dir);
	return tap_done();
}
