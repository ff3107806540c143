/* SPDX-License-Identifier: MIT */
/*
 * spawn.c - posix_spawnp with captured output.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/basic/macro.h"
#include "lib/basic/spawn.h"

extern char **environ;

struct sink {
	int fd;
	char *buf;
	size_t len, cap, max;
};

static int sink_read(struct sink *s)
{
	char tmp[16384];
	ssize_t k = read(s->fd, tmp, sizeof(tmp));
	if (k < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : negative_errno();
	if (k == 0)
		return 0;
	size_t take = MIN((size_t)k, s->max - s->len);
	if (take > 0) {
		if (s->len + take + 1 > s->cap) {
			size_t ncap = MAX(s->cap * 2, s->len + take + 1);
			char *nb = realloc(s->buf, ncap);
			if (!nb)
				return -ENOMEM;
			s->buf = nb;
			s->cap = ncap;
		}
		memcpy(s->buf + s->len, tmp, take);
		s->len += take;
		s->buf[s->len] = '\0';
	}
	return 1;
}

void spawn_result_done(struct spawn_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

int spawn_run(char *const argv[], const struct spawn_opts *opts, struct spawn_result *ret)
{
	static const struct spawn_opts defaults = { .stdin_fd = -1, .stdout_fd = -1 };
	int out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none;
	pid_t pid;
	int r;

	if (!opts)
		opts = &defaults;
	*ret = (struct spawn_result){ 0 };

	if ((opts->capture_stdout && pipe2(out_pipe, O_CLOEXEC) < 0) ||
	    (!opts->inherit_stderr && pipe2(err_pipe, O_CLOEXEC) < 0)) {
		r = negative_errno();
		safe_close(out_pipe[0]);
		safe_close(out_pipe[1]);
		return r;
	}

	posix_spawn_file_actions_init(&fa);
	if (opts->stdin_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, opts->stdin_fd, STDIN_FILENO);
	else
		posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (opts->capture_stdout)
		posix_spawn_file_actions_adddup2(&fa, out_pipe[1], STDOUT_FILENO);
	else if (opts->stdout_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, opts->stdout_fd, STDOUT_FILENO);
	else
		posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	if (!opts->inherit_stderr)
		posix_spawn_file_actions_adddup2(&fa, err_pipe[1], STDERR_FILENO);

	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	sigset_t def;
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	posix_spawnattr_setsigdefault(&attr, &def);

	r = posix_spawnp(&pid, argv[0], &fa, &attr, argv, opts->envp ? opts->envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	safe_close(out_pipe[1]);
	safe_close(err_pipe[1]);
	if (r != 0) {
		safe_close(out_pipe[0]);
		safe_close(err_pipe[0]);
		return -r;
	}

	size_t max = opts->capture_max ? opts->capture_max : SPAWN_CAPTURE_MAX;
	struct sink sinks[2] = { { .fd = out_pipe[0], .max = max },
				 { .fd = err_pipe[0], .max = max } };
	int failed = 0;
	for (;;) {
		struct pollfd pfd[2];
		nfds_t n = 0;
		for (int i = 0; i < 2; i++)
			if (sinks[i].fd >= 0)
				pfd[n++] = (struct pollfd){ .fd = sinks[i].fd, .events = POLLIN };
		if (n == 0)
			break;
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			failed = negative_errno();
			break;
		}
		for (nfds_t j = 0; j < n; j++) {
			if (!pfd[j].revents)
				continue;
			struct sink *s = sinks[0].fd == pfd[j].fd ? &sinks[0] : &sinks[1];
			int k = sink_read(s);
			if (k <= 0) {
				if (k < 0 && !failed)
					failed = k;
				s->fd = safe_close(s->fd);
			}
		}
	}
	safe_close(sinks[0].fd);
	safe_close(sinks[1].fd);

	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			free(sinks[0].buf);
			free(sinks[1].buf);
			return negative_errno();
		}
	if (failed) {
		free(sinks[0].buf);
		free(sinks[1].buf);
		return failed;
	}

	ret->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	ret->out = opts->capture_stdout ? (sinks[0].buf ? sinks[0].buf : strdup("")) : NULL;
	ret->err = !opts->inherit_stderr ? (sinks[1].buf ? sinks[1].buf : strdup("")) : NULL;
	return 0;
}
