/* SPDX-License-Identifier: MIT */
/*
 * installer.h - boot-test of an installer medium (Formats=installer): the
 * medium booted with an empty disk and a disk holding data, the installer
 * left to pick, write, verify and power off, the data disk compared before
 * and after. The disk it wrote is what the plan's boots then start.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "builder/boot-test/qemu.h"

#define INSTALLER_TARGET_SERIAL "target0"
#define INSTALLER_DATA_SERIAL "data0"

/* 1 with *ret_image_size when path is an installer medium (an ISO 9660
 * image holding enlighten/installer-* and the image's block map), 0 when
 * it is not one, -errno with *reterr_msg when it cannot be read. */
int installer_probe(const char *path, uint64_t *ret_image_size, char **reterr_msg);

struct installer_boot {
	const char *medium;    /* the ISO, never written */
	uint64_t image_size;   /* the image's, from its map on the medium */
	const char *dir;       /* the run's directory: the disks are made there */
	bool cd;	       /* the medium as a CD; else as a USB stick (a writable disk) */
	struct qemu_machine m; /* firmware, accelerator, logs; the disks are set here */
	uint64_t timeout_usec; /* to the installer's last line */
	char *target;	       /* out: the disk it wrote (raw, in dir) */
};

struct installer_outcome {
	bool pass;
	char *why;	     /* when it failed */
	char *picked;	     /* the installer's line naming the disk it picked, or NULL */
	char *report;	     /* its report (a JSON line), or NULL */
	char *medium_report; /* what it said of the report on the medium, or NULL */
	bool data_untouched;
	char **notes; /* the installer's last lines, when it failed */
	struct qemu_result res;
};
void installer_outcome_done(struct installer_outcome *o);

/* Makes the disks, boots the medium and judges what it did: 0 with *ret
 * (ret->pass), or -errno when it could not be run at all. */
int installer_run(struct installer_boot *ib, struct installer_outcome *ret, char **reterr_msg);
