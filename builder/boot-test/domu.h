/* SPDX-License-Identifier: MIT */
/*
 * domu.h - a Xen guest of the disk under test, started inside the dom0
 * boot-test booted from another overlay of the image: `xl create` (through
 * the QEMU guest agent of dom0) with the kernel, initrd and command line of
 * the guest disk's own boot entry (as pygrub would take them from it),
 * that disk as its xvda; or, for an HVM guest, that disk booted as a
 * machine boots it (hvmloader, SeaBIOS, the boot loader in its MBR). Its
 * console (xenconsoled's pty in dom0, or the serial port of the HVM
 * guest's device model) is copied to a file there and read back until the
 * guest's agent prints its summary line.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "builder/boot-test/entry.h"

/* The guest's disk: a virtio disk of dom0 with this serial number; its
 * kernel and initrd on another (a tar archive, read-only). */
#define DOMU_DISK_SERIAL "enlighten-domu"
#define DOMU_BOOT_SERIAL "enlighten-domu-boot"
#define DOMU_NAME "enlighten-domu"

struct domu_report {
	const char *type;	/* xl's type=: pv, pvh, hvm */
	bool started;		/* xl create succeeded */
	char *line;		/* the guest's summary line, or NULL */
	char *problem;		/* why there is no line, or NULL */
	char **console_tail;	/* the guest console's last lines when there is no line */
	uint64_t usec_line;	/* from the call to the line */
	uint64_t at_start;	/* the call's now_usec() */
	uint64_t usec_power_on; /* the line from dom0's power-on (its caller's), or 0 */
	const char *stopped;	/* how the guest went away: "shutdown", "destroyed", NULL */
};

/* Starts a guest of type in the dom0 behind qga_socket, with the kernel,
 * initrd and options of plain (the guest disk's plain entry, its kernel and
 * initrd on the disk DOMU_BOOT_SERIAL as domu_boot_disk() made it; not for
 * "hvm", which boots its disk) and the disk DOMU_DISK_SERIAL, waits for its summary line until
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

/* The guest's boot disk: plain's kernel and initrd (as boot_entry_find()
 * copied them out) in a tar archive at out, which dom0 unpacks. */
int domu_boot_disk(const struct boot_entry *plain, const char *out, char **reterr_msg);
