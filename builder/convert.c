/* SPDX-License-Identifier: MIT */
/*
 * convert.c - the output format table and the conversion through qemu-img,
 * run by argv. The raw image is the one the writers filled; every other
 * format is made from it.
 */
#define _GNU_SOURCE
#include <errno.h>
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

int convert_image(const char *raw_path, const char *path, const struct output_format *f,
		  char **reterr_msg)
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

	struct spawn_opts opts = { .stdin_fd = -1, .stdout_fd = -1 };
	struct spawn_result res = {};
	int r = spawn_run(argv, &opts, &res);
	if (r < 0) {
		if (reterr_msg && asprintf(reterr_msg, "cannot run 'qemu-img' (install qemu-utils): %s",
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
	return r;
}
