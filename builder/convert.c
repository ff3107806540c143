/* SPDX-License-Identifier: MIT */
/*
 * convert.c - the output format table and the conversion through qemu-img,
 * run by argv. The raw image is the one the writers filled; every other
 * format is made from it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include "builder/convert.h"
#include "lib/macro.h"
#include "lib/spawn.h"
#include "lib/string-util.h"

static const struct output_format formats[] = {
	{ "raw", "raw", NULL, NULL, true, "sparse raw disk (dd, KVM, factory stations)" },
	{ "qcow2", "qcow2", "qcow2", NULL, true, "QEMU/KVM" },
	{ "vhdx", "vhdx", "vhdx", "subformat=dynamic", false, "Hyper-V" },
	{ "vhd", "vhd", "vpc", "subformat=fixed,force_size", true, "Azure (fixed VHD)" },
	{ "vmdk", "vmdk", "vmdk", "subformat=monolithicSparse", false, "VMware" },
};

const struct output_format *output_format_find(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(formats); i++)
		if (streq(formats[i].name, name))
			return &formats[i];
	return NULL;
}

/* The VHD footer (the last 512 bytes of a fixed VHD): a time stamp in
 * seconds since 2000-01-01 at 24, the checksum at 64 (one's complement of
 * the byte sum without it), the UUID at 68. */
static int vhd_fixup(const char *path, const struct convert_opts *opts)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size < 512)
		return -EBADMSG;
	uint8_t f[512];
	if (pread(fd, f, sizeof(f), st.st_size - 512) != (ssize_t)sizeof(f))
		return -EIO;
	if (memcmp(f, "conectix", 8) != 0)
		return -EBADMSG;
	uint32_t t = opts->now > 946684800 ? (uint32_t)(opts->now - 946684800) : 0;
	f[24] = t >> 24;
	f[25] = t >> 16;
	f[26] = t >> 8;
	f[27] = t;
	if (opts->uuid)
		memcpy(f + 68, opts->uuid, 16);
	memset(f + 64, 0, 4);
	uint32_t sum = 0;
	for (size_t i = 0; i < sizeof(f); i++)
		sum += f[i];
	sum = ~sum;
	f[64] = sum >> 24;
	f[65] = sum >> 16;
	f[66] = sum >> 8;
	f[67] = sum;
	if (pwrite(fd, f, sizeof(f), st.st_size - 512) != (ssize_t)sizeof(f))
		return errno ? -errno : -EIO;
	return 0;
}

int convert_image(const char *raw_path, const char *path, const struct output_format *f,
		  const struct convert_opts *opts, char **reterr_msg)
{
	char *argv[12];
	size_t n = 0;
	argv[n++] = "qemu-img";
	argv[n++] = "convert";
	argv[n++] = "-q";
	argv[n++] = "-f";
	argv[n++] = "raw";
	argv[n++] = "-O";
	argv[n++] = (char *)f->qemu_format;
	if (f->options) {
		argv[n++] = "-o";
		argv[n++] = (char *)f->options;
	}
	argv[n++] = (char *)raw_path;
	argv[n++] = (char *)path;
	argv[n] = NULL;

	struct spawn_opts so = { .stdin_fd = -1, .stdout_fd = -1 };
	struct spawn_result res = {};
	int r = spawn_run(argv, &so, &res);
	if (r < 0) {
		if (reterr_msg &&
		    asprintf(reterr_msg, "cannot run 'qemu-img' (install qemu-utils): %s",
			     strerror(-r)) < 0)
			*reterr_msg = NULL;
		return r;
	}
	if (res.exit_status != 0) {
		if (reterr_msg && asprintf(reterr_msg, "'qemu-img convert' to %s failed: %s",
					   f->name, res.err ? strstrip(res.err) : "") < 0)
			*reterr_msg = NULL;
		r = res.err && strstr(res.err, "No space left") ? -ENOSPC : -EIO;
	}
	spawn_result_done(&res);
	if (r >= 0 && streq(f->name, "vhd")) {
		r = vhd_fixup(path, opts);
		if (r < 0 && reterr_msg &&
		    asprintf(reterr_msg, "cannot set the VHD footer of '%s': %s", path,
			     strerror(-r)) < 0)
			*reterr_msg = NULL;
	}
	return r;
}
