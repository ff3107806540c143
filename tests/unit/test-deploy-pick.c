/* SPDX-License-Identifier: MIT */
/*
 * test-deploy-pick.c - the rules by which an unattended installer picks the
 * disk it writes (builder/deploy/pick.c: `deploy --pick`), without a
 * machine: each case makes a stand-in of a machine's /sys/block and /dev
 * (made-up directories and files, not a kernel's) beneath a root, with
 * disks as sparse files, the data disk holding a GPT made with libfdisk, and
 * the installer's medium as the disk holding the source image's filesystem
 * (its device number is the one the image file really lives on). What a
 * stand-in cannot show: a disk in use (the kernel's O_EXCL on a block
 * device); t9003 boots the real medium.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libfdisk/libfdisk.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "builder/deploy/deploy.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "tests/unit/tap.h"

#define MIB (1024ULL * 1024ULL)
#define IMAGE_SIZE (8 * MIB)
#define DISK(n, sz, ser, ...)                                                                      \
	{                                                                                          \
		.name = n, .size = sz, .serial = ser, __VA_ARGS__                                  \
	}

/* A disk of the stand-in machine. */
struct disk {
	const char *name;
	uint64_t size;
	const char *serial; /* NULL: none in sysfs */
	bool data;	    /* holds a GPT */
	bool removable, ro;
	bool virtual; /* no device/ (loop, dm) */
	bool medium;  /* its partition 1 is where the source image lives */
};

static unsigned case_no;
static char root[4200];

static void write_text(const char *dir, const char *file, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || fs_write_all(fd, text, strlen(text)) < 0) {
		printf("Bail out! cannot write %s\n", path);
		exit(1);
	}
}

static void mkdirs(const char *path)
{
	_cleanup_close_ int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fs_mkdir_p_at(fd, path + 1, 0755) < 0) {
		printf("Bail out! cannot make %s\n", path);
		exit(1);
	}
}

static void write_gpt(const char *path)
{
	struct fdisk_context *cxt = fdisk_new_context();
	fdisk_disable_dialogs(cxt, 1);
	int r = fdisk_assign_device(cxt, path, 0);
	if (r >= 0)
		r = fdisk_create_disklabel(cxt, "gpt");
	if (r >= 0)
		r = fdisk_write_disklabel(cxt);
	fdisk_deassign_device(cxt, 0);
	fdisk_unref_context(cxt);
	if (r < 0) {
		printf("Bail out! cannot write a GPT on %s\n", path);
		exit(1);
	}
}

/* A stand-in machine with these disks beneath a fresh root; src is the
 * device the source image's file lives on. */
static void make_machine(const struct disk *disks, size_t n, dev_t src)
{
	snprintf(root, sizeof(root), "%s/machine%u", tap_dir, ++case_no);
	char dir[4400], dev[4600], text[64];
	snprintf(dir, sizeof(dir), "%s/dev/disk/by-path", root);
	mkdirs(dir);
	snprintf(dir, sizeof(dir), "%s/sys/dev/block", root);
	mkdirs(dir);
	for (size_t i = 0; i < n; i++) {
		const struct disk *d = &disks[i];
		/* made-up device numbers, never the source's own */
		dev_t num = makedev(major(src) == 250 ? 251 : 250, 16 * (unsigned)i);
		snprintf(dir, sizeof(dir), "%s/sys/block/%s/queue", root, d->name);
		mkdirs(dir);
		snprintf(dir, sizeof(dir), "%s/sys/block/%s", root, d->name);
		snprintf(text, sizeof(text), "%u:%u\n", major(num), minor(num));
		write_text(dir, "dev", text);
		snprintf(text, sizeof(text), "%llu\n", (unsigned long long)(d->size / 512));
		write_text(dir, "size", text);
		write_text(dir, "removable", d->removable ? "1\n" : "0\n");
		write_text(dir, "ro", d->ro ? "1\n" : "0\n");
		write_text(dir, "queue/logical_block_size", "512\n");
		if (!d->virtual) {
			snprintf(dev, sizeof(dev), "%s/device", dir);
			mkdirs(dev);
			if (d->serial)
				write_text(dev, "serial", d->serial);
		}
		if (d->medium) { /* the source's filesystem is its partition 1 */
			snprintf(dev, sizeof(dev), "%s/%s1", dir, d->name);
			mkdirs(dev);
			write_text(dev, "partition", "1\n");
			snprintf(text, sizeof(text), "%u:%u\n", major(src), minor(src));
			write_text(dev, "dev", text);
			char link[4600], to[256];
			snprintf(link, sizeof(link), "%s/sys/dev/block/%u:%u", root, major(src),
				 minor(src));
			snprintf(to, sizeof(to), "../../block/%s/%s1", d->name, d->name);
			if (symlink(to, link) < 0)
				exit(1);
		}
		snprintf(dev, sizeof(dev), "%s/dev/%s", root, d->name);
		_cleanup_close_ int fd = open(dev, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || ftruncate(fd, (off_t)d->size) < 0)
			exit(1);
		if (d->data)
			write_gpt(dev);
	}
}

static void by_path(const char *link_name, const char *disk)
{
	char link[4400], to[128];
	snprintf(link, sizeof(link), "%s/dev/disk/by-path/%s", root, link_name);
	snprintf(to, sizeof(to), "../../%s", disk);
	if (symlink(to, link) < 0)
		exit(1);
}

static struct deploy_source src_image;
static dev_t src_dev;

/* deploy --pick RULE [--force-picked] on the stand-in: r, the path, the message. */
static int pick(const char *rule, bool force, char **ret_path, char **ret_msg)
{
	*ret_path = NULL;
	free(*ret_msg);
	*ret_msg = NULL;
	struct deploy_pick_opts o = { .rule = rule, .force = force, .root = root };
	return deploy_pick(&o, &src_image, ret_path, ret_msg);
}

static void is_picked(const char *rule, bool force, const char *disk, const char *what)
{
	_cleanup_free_ char *path = NULL, *msg = NULL, *want = NULL;
	int r = pick(rule, force, &path, &msg);
	if (asprintf(&want, "%s/dev/%s", root, disk) < 0)
		exit(1);
	is_int(r, 0, "%s: picked", what);
	is_str(path ? path : "(none)", want, "%s: %s", what, disk);
	if (r < 0)
		printf("#   %s\n", msg ? msg : "?");
}

/* Refused with r, the message holding each of the strings given. */
static void is_refused(const char *rule, bool force, int want, const char *what, ...)
{
	_cleanup_free_ char *path = NULL, *msg = NULL;
	int r = pick(rule, force, &path, &msg);
	is_int(r, want, "%s: refused", what);
	ok(!path, "%s: no path", what);
	va_list ap;
	va_start(ap, what);
	for (const char *s; (s = va_arg(ap, const char *));)
		ok(msg && strstr(msg, s), "%s: says '%s' (%s)", what, s, msg ? msg : "no message");
	va_end(ap);
}

int main(void)
{
	tap_tmpdir();
	/* the source: an image file in the test's directory; the stand-in's
	 * medium is the disk whose partition has that file's device number */
	struct stat st;
	struct bmap bmap = { .image_size = IMAGE_SIZE, .block_size = 4096 };
	write_text(tap_dir, "image.raw", "");
	src_image = (struct deploy_source){ .fd = open("image.raw", O_RDONLY | O_CLOEXEC),
					    .bmap = &bmap,
					    .sector_size = 512 };
	if (src_image.fd < 0 || fstat(src_image.fd, &st) < 0)
		exit(1);
	src_dev = st.st_dev;

	/* a machine with one empty disk large enough among others that are not */
	const struct disk line[] = {
		DISK("loop0", 64 * MIB, NULL, .virtual = true),
		DISK("sda", 32 * MIB, "MEDIUM-1", .medium = true),
		DISK("sdb", 32 * MIB, "USB-STICK", .removable = true),
		DISK("sr0", 32 * MIB, "CDROM", .ro = true),
		DISK("vda", 32 * MIB, "DATA-1", .data = true),
		DISK("vdb", 4 * MIB, "SMALL-1"),
		DISK("vdc", 16 * MIB, "EMPTY-1"),
	};
	make_machine(line, ELEMENTSOF(line), src_dev);
	by_path("pci-0000:00:04.0", "vda");
	by_path("pci-0000:00:05.0", "vdc");
	is_picked("empty", false, "vdc", "the one empty disk large enough");
	is_picked("serial:EMPTY-1", false, "vdc", "by serial");
	is_picked("/dev/disk/by-path/pci-0000:00:05.0", false, "vdc", "by path");
	is_picked("/dev/vdc", false, "vdc", "by its /dev name");
	is_refused("serial:NOPE", false, -ENOENT, "a serial no disk has", "'serial:NOPE'",
		   "vdc: serial EMPTY-1", "vda: serial DATA-1", NULL);
	is_refused("/dev/disk/by-path/pci-0000:00:09.0", false, -ENOENT,
		   "a path that names no disk", "vdc: not the named device", NULL);
	is_refused("serial:DATA-1", false, -ENOENT, "the data disk named, not forced", "vda: '",
		   "holds a gpt partition table", "--force-picked", NULL);
	is_refused("/dev/disk/by-path/pci-0000:00:04.0", false, -ENOENT,
		   "the data disk by path, not forced", "holds a gpt partition table", NULL);
	is_picked("serial:DATA-1", true, "vda", "the data disk named and forced");
	is_picked("/dev/disk/by-path/pci-0000:00:04.0", true, "vda",
		  "the data disk by path and forced");
	is_refused("serial:SMALL-1", true, -ENOENT, "a disk too small, even forced",
		   "smaller than the image", NULL);
	is_refused("serial:MEDIUM-1", true, -ENOENT, "the medium's own disk, even forced",
		   "sda: holds the source image", NULL);
	is_refused("serial:USB-STICK", true, -ENOENT, "a removable disk", "sdb: removable", NULL);
	is_refused("serial:CDROM", true, -ENOENT, "a read-only disk", "sr0: read-only", NULL);
	is_refused("bogus", false, -EINVAL, "an unknown rule", "unknown rule 'bogus'", NULL);

	/* two empty disks large enough: which one is not guessed */
	const struct disk two[] = {
		DISK("nvme0n1", 16 * MIB, "A"),
		DISK("nvme1n1", 64 * MIB, "B"),
	};
	make_machine(two, ELEMENTSOF(two), src_dev);
	is_refused("empty", false, -ENOTUNIQ, "two empty disks", "more than one disk",
		   "nvme0n1: matches", "nvme1n1: matches", "name one by serial or path", NULL);
	is_picked("serial:B", false, "nvme1n1", "one of two named by serial");

	/* none: a disk with data, one too small, the medium */
	const struct disk none[] = {
		DISK("sda", 64 * MIB, "MEDIUM-1", .medium = true),
		DISK("vda", 64 * MIB, "DATA-1", .data = true),
		DISK("vdb", IMAGE_SIZE - 512, "SMALL-1"),
	};
	make_machine(none, ELEMENTSOF(none), src_dev);
	is_refused("empty", false, -ENOENT, "no empty disk large enough", "no disk matches 'empty'",
		   "sda: holds the source image", "vda: '", "holds a gpt partition table", "vdb: '",
		   "smaller than the image", NULL);
	/* exactly the image's size is large enough */
	const struct disk exact[] = { DISK("vda", IMAGE_SIZE, "X") };
	make_machine(exact, ELEMENTSOF(exact), src_dev);
	is_picked("empty", false, "vda", "a disk of exactly the image's size");

	/* no disks at all */
	make_machine(NULL, 0, src_dev);
	is_refused("empty", false, -ENOENT, "a machine without disks", "no disks", NULL);
	close(src_image.fd);
	return tap_done();
}
