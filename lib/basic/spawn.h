/* SPDX-License-Identifier: MIT */
/*
 * spawn.h - run a program by argv (posix_spawnp, never a shell), wait for
 * it, and capture what it printed, each stream up to a cap.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define SPAWN_CAPTURE_MAX (1024 * 1024)

struct spawn_opts {
	int stdin_fd;	     /* -1: /dev/null */
	int stdout_fd;	     /* -1: /dev/null, unless capture_stdout */
	bool capture_stdout; /* collect into ret_stdout */
	bool inherit_stderr; /* let stderr through instead of capturing it */
	char *const *envp;   /* NULL: inherit */
	size_t capture_max;  /* 0: SPAWN_CAPTURE_MAX; output past it is dropped */
};

struct spawn_result {
	int exit_status; /* 0..255 for an exit; 128 + N for death by signal N */
	char *out;	 /* captured stdout, NUL-terminated, or NULL */
	char *err;	 /* captured stderr, NUL-terminated, or NULL */
};

/* Runs argv[0] (looked up in PATH) with argv. Returns 0 when the program ran
 * (whatever its exit status, in ret), -ENOENT when it does not exist, or
 * another -errno when it could not be started or waited for. opts may be
 * NULL. The caller frees ret->out and ret->err with spawn_result_done(). */
int spawn_run(char *const argv[], const struct spawn_opts *opts, struct spawn_result *ret);
void spawn_result_done(struct spawn_result *r);
