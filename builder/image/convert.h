/* SPDX-License-Identifier: MIT */
/*
 * convert.h - output formats: the raw image as is, or converted by qemu-img.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <stdint.h>
#include <time.h>

/* What makes a converted image the same every time. */
struct convert_opts {
	time_t now;	     /* stamps written into headers */
	const uint8_t *uuid; /* 16 bytes for the formats that carry one */
};

/* One row of the output format table (convert.c): adding a format is
 * adding a row. */
struct output_format {
	const char *name;	 /* recipe and --format name */
	const char *ext;	 /* file name extension */
	const char *qemu_format; /* qemu-img -O, NULL for raw */
	const char *options;	 /* qemu-img -o, or NULL */
	bool reproducible;	 /* same bytes from the same raw image */
	const char *use;	 /* for docs and --help */
	/* after qemu-img: sets what it stamps with the clock or at random */
	int (*finish)(const char *path, const struct convert_opts *opts, char **reterr_msg);
	bool medium; /* made by builder/image/installer.c, not by qemu-img */
};

const struct output_format *output_format_find(const char *name);

/* The table's names, NULL-terminated, in table order (static). */
const char *const *output_format_names(void);

/* "raw qcow2 vhdx vhd vmdk installer", for a message (cut to size). */
void output_format_list(char *buf, size_t size);

/* Checks a format name: 0, or -EINVAL with "unknown format 'NAME' (did you
 * mean '...'?)" or "(known: raw qcow2 ...)" in *reterr_msg. */
int output_format_check(const char *name, char **reterr_msg);

/* qemu-img convert raw_path -> path (which exists, empty); then, for the
 * formats whose headers qemu-img stamps with the clock and a random UUID
 * (the VHD footer), those fields are set from opts. */
int convert_image(const char *raw_path, const char *path, const struct output_format *f,
		  const struct convert_opts *opts, char **reterr_msg);

#include <stddef.h>

/* The container format (qemu's driver name: "qcow2", "vhdx", "vmdk") that
 * an image's first bytes announce, or NULL (raw, or a fixed VHD). */
const char *container_format(const void *head, size_t n);

/* Converts the container open as fd into a new sparse raw file in tmp_dir
 * (the caller unlinks *ret_path). Refused with -EMEDIUMTYPE: what would make
 * qemu-img open other files (a backing file, a qcow2 external data file, a
 * VMDK described by its embedded descriptor). */
int container_to_raw(int fd, const char *format, const char *tmp_dir, char **ret_path,
		     char **reterr_msg);
