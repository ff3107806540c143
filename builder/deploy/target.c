/* SPDX-License-Identifier: MIT */
/*
 * target.c - a disk or file to deploy to, and the checks before anything is
 * written to it: held exclusively (a mounted or otherwise used block device
 * is refused, --force or not), large enough, the image's logical sector
 * size, and empty as far as libblkid can tell (a partition table, a
 * filesystem, a RAID, LVM or LUKS signature is refused unless --force names
 * the target). What was found goes into the refusal and the report.
 */
#define _GNU_SOURCE
#include <blkid/blkid.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "builder/deploy/deploy.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

double deploy_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int deploy_target_fail(struct deploy_target *t, int r, const char *fmt, ...)
{
	va_list ap;
	if (t->result == TARGET_FAILED || t->result == TARGET_REFUSED)
		return r; /* the first error is the one that counts */
	t->result = TARGET_FAILED;
	free(t->error);
	t->error = NULL;
	errno = r < 0 ? -r : r;
	va_start(ap, fmt);
	if (vasprintf(&t->error, fmt, ap) < 0)
		t->error = NULL;
	va_end(ap);
	return r;
}

static int refuse(struct deploy_target *t, const char *fmt, ...) _printf_(2, 3);
static int refuse(struct deploy_target *t, const char *fmt, ...)
{
	va_list ap;
	free(t->error);
	va_start(ap, fmt);
	if (vasprintf(&t->error, fmt, ap) < 0)
		t->error = NULL;
	va_end(ap);
	t->result = TARGET_REFUSED;
	return -EPERM;
}

void deploy_target_done(struct deploy_target *t)
{
	safe_close(t->fd);
	free(t->path);
	free(t->model);
	free(t->serial);
	free(t->found);
	free(t->error);
	*t = (struct deploy_target){ .fd = -EBADF };
}

/* DIR/device/FIELD, else DIR/FIELD (where virtio-blk keeps its serial),
 * trimmed, or NULL. DIR is a block device's sysfs directory. */
char *deploy_sysfs_field(const char *dir, const char *field)
{
	static const char *const subdirs[] = { "device/", "" };
	for (size_t i = 0; i < ELEMENTSOF(subdirs); i++) {
		char path[PATH_MAX];
		_cleanup_free_ char *v = NULL;
		size_t n;
		snprintf(path, sizeof(path), "%s/%s%s", dir, subdirs[i], field);
		_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fs_read_fd(fd, 256, &v, &n) < 0)
			continue;
		strstrip(v);
		if (*v && string_is_safe(v))
			return TAKE_PTR(v);
	}
	return NULL;
}

char *deploy_disk_serial(const char *dir)
{
	char *s = deploy_sysfs_field(dir, "serial");
	return s ? s : deploy_sysfs_field(dir, "wwid");
}

/* What libblkid finds on fd: "a gpt partition table", "an ext4 filesystem
 * (filesystem)", "LVM2_member (raid)", ... or NULL when it finds nothing. */
static int probe_signatures(const char *path, char **ret)
{
	/* not through the target's fd: libblkid's reads are not O_DIRECT-aligned */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	blkid_probe pr = blkid_new_probe();
	const char *v = NULL, *usage = NULL;
	int r;
	*ret = NULL;
	if (!pr)
		return -ENOMEM;
	if (blkid_probe_set_device(pr, fd, 0, 0) < 0) {
		blkid_free_probe(pr);
		return -EIO;
	}
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE);
	r = blkid_do_safeprobe(pr);
	if (r == -2) /* ambivalent: more than one signature */
		r = asprintf(ret, "more than one signature (ambivalent)") < 0 ? -ENOMEM : 0;
	else if (r == 0 && blkid_probe_lookup_value(pr, "PTTYPE", &v, NULL) == 0)
		r = asprintf(ret, "a %s partition table", v) < 0 ? -ENOMEM : 0;
	else if (r == 0 && blkid_probe_lookup_value(pr, "TYPE", &v, NULL) == 0) {
		(void)blkid_probe_lookup_value(pr, "USAGE", &usage, NULL);
		r = asprintf(ret, "a %s signature (%s)", v, usage ? usage : "unknown use") < 0
			    ? -ENOMEM
			    : 0;
	} else
		r = r < 0 ? -EIO : 0;
	blkid_free_probe(pr);
	return r;
}

/* A block device, opened O_EXCL: the kernel refuses it (EBUSY) while it or
 * a partition of it is mounted, used as swap, or held by dm, md or LVM. */
static int open_block(struct deploy_target *t, const struct stat *st)
{
	t->block = true;
	t->fd = open(t->path, O_RDWR | O_EXCL | O_CLOEXEC | O_DIRECT);
	if (t->fd >= 0)
		t->direct = true;
	else if (errno == EINVAL)
		t->fd = open(t->path, O_RDWR | O_EXCL | O_CLOEXEC);
	if (t->fd < 0 && errno == EBUSY)
		return refuse(t, "'%s' is in use (mounted, swap, or held by dm, md or LVM)",
			      t->path);
	if (t->fd < 0)
		return refuse(t, "cannot open '%s': %s", t->path, strerror(errno));
	int lss = 0;
	if (ioctl(t->fd, BLKGETSIZE64, &t->size) < 0 || ioctl(t->fd, BLKSSZGET, &lss) < 0)
		return refuse(t, "cannot read the size of '%s': %s", t->path, strerror(errno));
	t->sector = (unsigned)lss;
	char dir[64];
	snprintf(dir, sizeof(dir), "/sys/dev/block/%u:%u", major(st->st_rdev), minor(st->st_rdev));
	t->model = deploy_sysfs_field(dir, "model");
	t->serial = deploy_disk_serial(dir);
	return 0;
}

/* A regular file: made or emptied, then sized, so its holes read as zeros. */
static int open_file(struct deploy_target *t, const struct deploy_source *s)
{
	t->fd = open(t->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_DIRECT, 0644);
	if (t->fd >= 0)
		t->direct = true;
	else if (errno == EINVAL) /* tmpfs and others: no O_DIRECT */
		t->fd = open(t->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	if (t->fd < 0)
		return refuse(t, "cannot open '%s': %s", t->path, strerror(errno));
	t->size = s->bmap->image_size;
	t->sector = s->sector_size ? s->sector_size : 512;
	return 0;
}

static int check_fits(struct deploy_target *t, const struct deploy_source *s)
{
	uint64_t image = s->bmap->image_size;
	if (t->size < image)
		return refuse(
			t, "'%s' is smaller than the image: %" PRIu64 " bytes, the image %" PRIu64,
			t->path, t->size, image);
	if (s->sector_size && t->sector != s->sector_size)
		return refuse(t,
			      "'%s' has %u-byte logical sectors, the image's GPT %u-byte ones: it "
			      "would not find its partitions",
			      t->path, t->sector, s->sector_size);
	if (image % t->sector)
		return refuse(t, "the image's size is not a whole number of '%s''s %u-byte sectors",
			      t->path, t->sector);
	return 0;
}

int deploy_target_check(struct deploy_target *t, const struct deploy_source *s,
			const char *force_option)
{
	int r = probe_signatures(t->path, &t->found);
	if (r < 0)
		return refuse(t, "cannot probe '%s' for signatures: %s", t->path, strerror(-r));
	if (t->found && !t->forced)
		return refuse(t,
			      "'%s' holds %s: not an empty disk (name it with %s to overwrite it)",
			      t->path, t->found, force_option);
	return check_fits(t, s);
}

int deploy_target_open(struct deploy_target *t, const char *path, const struct deploy_source *s,
		       bool force)
{
	struct stat st = {};
	int r;

	*t = (struct deploy_target){ .fd = -EBADF, .forced = force };
	t->path = strdup(path);
	if (!t->path)
		return -ENOMEM;
	bool exists = stat(path, &st) == 0;
	if (!exists && errno != ENOENT)
		return refuse(t, "cannot stat '%s': %s", path, strerror(errno));
	if (exists && S_ISBLK(st.st_mode))
		r = open_block(t, &st);
	else if (!exists || S_ISREG(st.st_mode))
		r = open_file(t, s);
	else
		return refuse(t, "'%s' is neither a block device nor a regular file", path);
	if (r < 0)
		return r;
	r = deploy_target_check(t, s, "--force");
	if (r < 0)
		return r;
	if (!t->block) { /* emptied and sized: every hole reads as zeros */
		if (ftruncate(t->fd, 0) < 0 || ftruncate(t->fd, (off_t)t->size) < 0)
			return refuse(t, "cannot size '%s': %s", path, strerror(errno));
		t->zeroed = true;
	}
	return 0;
}

/* Zeros [off, off + len) of a block device: BLKZEROOUT, which the kernel
 * turns into WRITE ZEROES, an unmap that reads back zeros, or writes. */
int deploy_zero(struct deploy_target *t, uint64_t off, uint64_t len)
{
	if (len == 0)
		return 0;
	if (!t->block) {
		if (fallocate(t->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			      (off_t)len) == 0)
			return 0;
		_cleanup_free_ uint8_t *z = calloc(1, MIN(len, (uint64_t)1 << 20));
		if (!z)
			return -ENOMEM;
		int fd = t->fd;
		_cleanup_close_ int buffered = -EBADF;
		if (t->direct) { /* an unaligned tail through the page cache */
			buffered = open(t->path, O_WRONLY | O_CLOEXEC);
			if (buffered < 0)
				return -errno;
			fd = buffered;
		}
		for (uint64_t done = 0; done < len;) {
			size_t n = (size_t)MIN(len - done, (uint64_t)1 << 20);
			if (pwrite(fd, z, n, (off_t)(off + done)) != (ssize_t)n)
				return errno ? -errno : -EIO;
			done += n;
		}
		return buffered >= 0 && fsync(buffered) < 0 ? -errno : 0;
	}
	uint64_t range[2] = { off, len };
	return ioctl(t->fd, BLKZEROOUT, range) < 0 ? -errno : 0;
}
