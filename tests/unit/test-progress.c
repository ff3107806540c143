/* SPDX-License-Identifier: MIT */
/*
 * test-progress.c - the bar draws only when enabled (a TTY by default) and
 * never when disabled, as under --quiet or in a log file.
 */
#include <fcntl.h>

#include "lib/basic/progress.h"
#include "tests/unit/tap.h"

static size_t run(int enabled)
{
	int fd = open("err.txt", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	if (enabled >= 0)
		progress_set_enabled(enabled);
	struct progress *p = progress_new("writing root", 100 << 20);
	for (uint64_t i = 0; i <= 100; i += 10)
		progress_update(p, i << 20);
	progress_done(p);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	char *s = NULL;
	size_t n = 0;
	fs_read_file_at(AT_FDCWD, "err.txt", 1 << 16, &s, &n);
	if (enabled == 1)
		ok(s && strstr(s, "writing root") && strstr(s, "100%"),
		   "bar shows label and 100%%");
	free(s);
	return n;
}

int main(void)
{
	tap_tmpdir();
	is_int(run(-1), 0, "stderr is a file, not a TTY: nothing drawn");
	is_int(run(0), 0, "disabled: nothing drawn");
	ok(run(1) > 0, "enabled: drawn");
	return tap_done();
}
