/* SPDX-License-Identifier: MIT */
/*
 * fs-ntfs.c - the Windows partition: an NTFS volume made by mkntfs in a
 * sparse file and filled from the WIM by wimlib through libntfs-3g.
 *
 * libntfs-3g opens a volume by path and has no offset option, so a slot in
 * the middle of a disk image is made as a file of the slot's size and
 * copied in, data extents only (ntfs_copy_sparse). mkntfs is told where the
 * partition starts so that the boot sector's hidden-sectors field is right
 * for the disk it lands in. Needs neither root nor a loop device. The
 * times libntfs-3g stamps with the clock are then fixed (ntfs-normalize.c).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/windows/ntfs-normalize.h"
#include "builder/windows/windows.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/macro.h"
#include "lib/basic/spawn.h"
#include "lib/basic/string-util.h"

#define NTFS_MIN_SIZE (2 * 1024 * 1024)

int ntfs_make_from_wim(struct win_wim *w, const char *path, uint64_t size,
		       uint64_t part_start_sector, int64_t epoch, char **reterr_msg)
{
	char start[32];
	int r;

	if (size < NTFS_MIN_SIZE || size % 512 != 0)
		return errmsg_set(
			reterr_msg, -EINVAL,
			"NTFS volume size must be a multiple of 512 bytes and at least 2 MiB");
	{
		_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
			return errmsg_set(reterr_msg, negative_errno(), "cannot create '%s': %m",
					  path);
	}

	snprintf(start, sizeof(start), "%" PRIu64, part_start_sector);
	char *const argv[] = {
		"mkntfs",
		"--force",
		"--quick",
		"--quiet",
		"--zero-time", /* time stamps and serial number do not depend on when it ran */
		"--sector-size",
		"512",
		"--partition-start",
		start,
		"--heads",
		"255",
		"--sectors-per-track",
		"63",
		"--label",
		"Windows",
		(char *)path,
		NULL
	};
	struct spawn_result res = {};
	r = spawn_run(argv, NULL, &res);
	if (r < 0 || res.exit_status != 0) {
		errmsg_set(reterr_msg, 0, "mkntfs on '%s' failed: %s", path,
			   r == -ENOENT		 ? "not installed (package ntfs-3g)"
			   : r < 0		 ? strerror(-r)
			   : res.err && *res.err ? strstrip(res.err)
						 : "no message");
		spawn_result_done(&res);
		return r < 0 ? r : -EIO;
	}
	spawn_result_done(&res);

	r = win_wim_apply_ntfs(w, path, reterr_msg);
	if (r < 0 || epoch == 0)
		return r;
	_cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errmsg_set(reterr_msg, negative_errno(), "cannot open '%s': %m", path);
	r = ntfs_normalize_times(fd, epoch, NULL, reterr_msg);
	if (r < 0)
		return errmsg_prefix(reterr_msg, r, "cannot fix the times in the NTFS volume '%s'",
				     path);
	return 0;
}

static int copy_range(int src_fd, int dst_fd, off_t in, off_t out, size_t len)
{
	static bool no_cfr;
	while (len > 0 && !no_cfr) {
		ssize_t n = copy_file_range(src_fd, &in, dst_fd, &out, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 &&
		    (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
			no_cfr = true; /* e.g. across filesystems on old kernels */
			break;
		}
		if (n < 0)
			return negative_errno();
		if (n == 0)
			return -EIO;
		len -= (size_t)n;
	}
	char buf[1 << 16];
	while (len > 0) {
		ssize_t n = pread(src_fd, buf, MIN(len, sizeof(buf)), in);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? negative_errno() : -EIO;
		for (ssize_t done = 0; done < n;) {
			ssize_t m = pwrite(dst_fd, buf + done, (size_t)(n - done), out + done);
			if (m < 0 && errno == EINTR)
				continue;
			if (m < 0)
				return negative_errno();
			done += m;
		}
		in += n, out += n, len -= (size_t)n;
	}
	return 0;
}

int ntfs_copy_sparse(int src_fd, int dst_fd, uint64_t dst_offset)
{
	struct stat st;
	if (fstat(src_fd, &st) < 0)
		return negative_errno();
	for (off_t pos = 0; pos < st.st_size;) {
		off_t data = lseek(src_fd, pos, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break; /* only a hole is left */
		if (data < 0)
			return negative_errno();
		off_t hole = lseek(src_fd, data, SEEK_HOLE);
		if (hole < 0)
			return negative_errno();
		int r = copy_range(src_fd, dst_fd, data, (off_t)dst_offset + data,
				   (size_t)(hole - data));
		if (r < 0)
			return r;
		pos = hole;
	}
	return 0;
}
