/* SPDX-License-Identifier: MIT */
/*
 * domu.h - a Xen guest of the image, started inside the dom0 boot-test
 * booted: `xl create` (through the QEMU guest agent of dom0) with the
 * image's own kernel and initrd from dom0's ESP (or its root, for GRUB) and a second overlay of
 * the image as its disk; its console, which xenconsoled serves on a pty in
 * dom0, copied to a file there and read back until the guest's agent
 * prints its summary line.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "builder/boot-test/entry.h"

/* The guest's disk: a virtio disk of dom0 with this serial number. */
#define DOMU_DISK_SERIAL "enlighten-domu"
#define DOMU_NAME "enlighten-domu"

struct domu_report {
	const char *type;    /* xl's type=: pv, pvh */
	bool started;	     /* xl create succeeded */
	char *line;	     /* the guest's summary line, or NULL */
	char *problem;	     /* why there is no line, or NULL */
	char **console_tail; /* the guest console's last lines when there is no line */
	uint64_t usec_line;  /* from the call to the line */
	const char *stopped; /* how the guest went away: "shutdown", "destroyed", NULL */
};

/* Starts a guest of type in the dom0 behind qga_socket, with the kernel,
 * initrd and options of plain (the image's plain entry, under /boot/efi in
 * dom0) and the disk DOMU_DISK_SERIAL, waits for its summary line until
 * deadline, then shuts it down. Returns 0 with *ret filled in (ret->line
 * NULL and ret->problem set when there is no line), -errno only for local
 * failures. */
int domu_run(const char *qga_socket, const char *type, const struct boot_entry *plain,
	     uint64_t deadline, struct domu_report *ret);
void domu_report_done(struct domu_report *r);
json_object *domu_report_json(const struct domu_report *r);

/* Hides the partition table of the guest's disk (a qcow2 file, the MBR
 * signature cleared) from dom0, whose own partitions carry the same
 * PARTUUIDs; domu_run() puts it back inside dom0 before the guest starts. */
int domu_disk_hide(const char *disk, char **reterr_msg);
