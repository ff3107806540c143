/* SPDX-License-Identifier: MIT */
/*
 * test-progress.c - the bar draws only when asked for or on a TTY that
 * redraws, never when off, as under --quiet or in a log file; lines come at
 * each tenth, once each, and end at 100%.
 */
#include <errno.h>
#include <fcntl.h>

#include "lib/basic/progress.h"
#include "tests/unit/tap.h"

/* Stderr (a file) after a progress of 100 MiB updated by step MiB. */
static char *run(enum progress_style s, unsigned step)
{
	int fd = open("err.txt", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	progress_set_style(s);
	struct progress *p = progress_new("writing root", 100 << 20);
	for (uint64_t i = 0; i <= 100; i += step)
		progress_update(p, i << 20);
	progress_done(p);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	char *out = NULL;
	size_t n = 0;
	fs_read_file_at(AT_FDCWD, "err.txt", 1 << 16, &out, &n);
	return out;
}

static unsigned count(const char *s, const char *what)
{
	unsigned n = 0;
	for (const char *p = s; p && (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

int main(void)
{
	tap_tmpdir();
	char *s = run(PROGRESS_AUTO, 10);
	is_str(s, "", "auto, stderr a file and not a TTY: nothing drawn");
	free(s);
	s = run(PROGRESS_NONE, 10);
	is_str(s, "", "none: nothing drawn");
	free(s);
	s = run(PROGRESS_BAR, 10);
	ok(s && strstr(s, "writing root") && strstr(s, "100%") && strchr(s, '\r'),
	   "bar: label and 100%%, redrawn with a carriage return");
	is_int(count(s, "\n"), 1, "bar: one line in all");
	free(s);
	s = run(PROGRESS_LINES, 1);
	is_int(count(s, "\n"), 10, "lines, updated 101 times: one line per tenth");
	ok(s && !strchr(s, '\r'), "lines: no carriage return");
	ok(s && strstr(s, "writing root:  10% (10.0 MiB of 100.0 MiB)\n"),
	   "lines: the first tenth");
	ok(s && strstr(s, "writing root: 100% (100.0 MiB of 100.0 MiB)\n"), "lines: the last");
	is_int(count(s, " 50% "), 1, "lines: each tenth once");
	free(s);
	s = run(PROGRESS_LINES, 25);
	is_int(count(s, "\n"), 4,
	       "lines, updated by quarters: a line per update that passes a tenth");
	ok(s && strstr(s, " 25% ") && strstr(s, " 75% "),
	   "lines: the percent reached, not the tenth");
	free(s);
	is_int(progress_style_from_string("lines"), PROGRESS_LINES, "'lines' parsed");
	is_int(progress_style_from_string("auto"), PROGRESS_AUTO, "'auto' parsed");
	is_int(progress_style_from_string("plain"), -EINVAL, "'plain' refused");
	return tap_done();
}
