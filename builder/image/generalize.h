/* SPDX-License-Identifier: MIT */
/*
 * generalize.h - what makes a root filesystem one machine's and not every
 * machine's: the machine ID, SSH host keys, the random seed, systemd's
 * credential secret, DHCP leases. A factory image carries none of them
 * (docs/enlighten-build.md): they are left out as the base is streamed in,
 * and /etc/machine-id is written empty, so systemd makes a new ID at the
 * first boot of each machine without first-boot presets.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

struct ext4;

/* What was left out, by kind, for build.json and inspect. */
struct generalize {
	unsigned counts[8]; /* per row of the table in generalize.c */
	bool ssh_keys;	    /* SSH host keys were left out */
};

/* An ext4_skip_fn: true for a path (relative, normalized) that belongs to
 * one machine. userdata is a struct generalize, which counts it. */
bool generalize_skip(const char *name, void *userdata);

/* After the base: writes the empty /etc/machine-id and, when SSH host keys
 * were left out and the base has ssh-keygen, a unit that makes new ones
 * before sshd first starts. Returns 0 or -errno with a message. */
int generalize_finish(struct ext4 *e, const struct generalize *g, char **reterr_msg);

/* {"machine-id": "empty", "removed": {"ssh-host-keys": 4, ...}} for build.json. */
json_object *generalize_to_json(const struct generalize *g);

/* What an image holds of one machine's identity, read from its root:
 * {"generalized": true|false, "machine-id": "empty"|"missing"|"set",
 *  "present": {"ssh-host-keys": 0, ...}}; NULL when memory is short. */
json_object *generalize_inspect(struct ext4 *e);
