/* SPDX-License-Identifier: MIT */
/*
 * test-spawn.c - the argv runner reports exit codes and signals, captures
 * output within its cap, passes arguments untouched (no shell), and says
 * -ENOENT for a missing program.
 */
#include <errno.h>
#include <fcntl.h>

#include "lib/basic/spawn.h"
#include "tests/unit/tap.h"

int main(void)
{
	struct spawn_result res;
	struct spawn_opts cap = { .stdin_fd = -1, .stdout_fd = -1, .capture_stdout = true };

	tap_tmpdir();

	char *t[] = { "true", NULL };
	is_int(spawn_run(t, NULL, &res), 0, "true runs");
	is_int(res.exit_status, 0, "true exits 0");
	spawn_result_done(&res);

	char *f[] = { "sh", "-c", "exit 7", NULL };
	is_int(spawn_run(f, NULL, &res), 0, "sh runs");
	is_int(res.exit_status, 7, "exit status 7 reported");
	spawn_result_done(&res);

	char *k[] = { "sh", "-c", "kill -TERM $$", NULL };
	is_int(spawn_run(k, NULL, &res), 0, "self-killing child runs");
	is_int(res.exit_status, 128 + 15, "death by SIGTERM is 143");
	spawn_result_done(&res);

	char *e[] = { "sh", "-c", "echo out; echo 'bad thing' >&2; exit 3", NULL };
	is_int(spawn_run(e, &cap, &res), 0, "output captured");
	is_str(res.out, "out\n", "stdout captured");
	is_str(res.err, "bad thing\n", "stderr captured");
	is_int(res.exit_status, 3, "exit 3");
	spawn_result_done(&res);

	/* Arguments go through as they are: no shell splits or expands them. */
	char *p[] = { "printf", "%s|", "a b", "$HOME", "*", ";rm -rf x", NULL };
	is_int(spawn_run(p, &cap, &res), 0, "printf runs");
	is_str(res.out, "a b|$HOME|*|;rm -rf x|", "arguments are not interpreted");
	spawn_result_done(&res);

	char *big[] = { "head", "-c", "300000", "/dev/zero", NULL };
	struct spawn_opts small = cap;
	small.capture_max = 1000;
	is_int(spawn_run(big, &small, &res), 0, "large output does not block the child");
	ok(res.out && strlen(res.out) == 0, "captured bytes are NULs (string empty)");
	is_int(res.exit_status, 0, "child finished");
	spawn_result_done(&res);

	char *missing[] = { "enlighten-no-such-program", NULL };
	is_int(spawn_run(missing, NULL, &res), -ENOENT, "missing program gives -ENOENT");

	int fd = open("in.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
	ok(write(fd, "from stdin\n", 11) == 11, "stdin file written");
	lseek(fd, 0, SEEK_SET);
	struct spawn_opts in = cap;
	in.stdin_fd = fd;
	char *c[] = { "cat", NULL };
	is_int(spawn_run(c, &in, &res), 0, "cat with stdin");
	is_str(res.out, "from stdin\n", "stdin passed");
	spawn_result_done(&res);
	close(fd);

	return tap_done();
}
