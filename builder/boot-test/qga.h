/* SPDX-License-Identifier: MIT */
/*
 * qga.h - a client of the QEMU guest agent (qemu-ga) over the unix socket
 * QEMU gives its virtio-serial port org.qemu.guest_agent.0: how boot-test
 * asks a running guest what it really did, from outside it.
 *
 * One JSON command per line, one reply per line; the session starts with
 * guest-sync-delimited so that a reply left over from an earlier client is
 * not taken for ours. Every reply is bounded (QGA_REPLY_MAX) and every call
 * has a deadline.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define QGA_REPLY_MAX (4 * 1024 * 1024)
#define QGA_FILE_MAX (1024 * 1024)

struct qga;

/* Connects to socket_path and synchronizes, retrying until deadline (a
 * now_usec() value): the guest's agent may start after the caller asks.
 * Returns 0, -ETIMEDOUT when the guest never answered, or -errno
 * (-ECONNREFUSED, -ENOENT, -ECONNRESET: QEMU is gone). */
int qga_open(const char *socket_path, uint64_t deadline, struct qga **ret);
void qga_close(struct qga *q);

/* Runs one command (name, arguments may be NULL) and hands back its
 * "return" value (owned by the caller). -EREMOTEIO with *ret_error (may be
 * NULL) holding the guest's "desc" when the guest refused. */
int qga_execute(struct qga *q, const char *command, json_object *arguments, json_object **ret,
		char **ret_error);

/* Reads a whole file of the guest (at most QGA_FILE_MAX bytes): 0 with a
 * NUL-terminated buffer, -EFBIG beyond the cap, -EREMOTEIO when the guest
 * cannot open it (*ret_error says why). */
int qga_read_file(struct qga *q, const char *path, char **ret, size_t *ret_size, char **ret_error);

/* Runs argv[0] (an absolute path) in the guest with argv, waits for it up
 * to deadline, and hands back its exit code and standard output (NUL
 * terminated). */
int qga_exec(struct qga *q, char *const argv[], uint64_t deadline, int *ret_exit, char **ret_out);
