/* SPDX-License-Identifier: MIT */
/*
 * test-log.c - %m prints the error passed in, levels filter, and lines get a
 * "<N>" priority prefix when stderr is the journal's stream, control bytes
 * go out escaped.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "lib/basic/log.h"
#include "tests/unit/tap.h"

static char *capture(int (*fn)(void))
{
	int fd = open("err.txt", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	struct stat st;
	fstat(fd, &st);
	char env[64];
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	if (fn() != 0)
		log_detect_journal();
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	char *s = NULL;
	fs_read_file_at(AT_FDCWD, "err.txt", 4096, &s, NULL);
	close(fd);
	unsetenv("JOURNAL_STREAM");
	return s;
}

static int plain(void)
{
	log_set_program("prog");
	unsetenv("JOURNAL_STREAM");
	log_detect_journal();
	int r = log_error_errno(-ENOENT, "cannot open '%s': %m", "x.conf");
	log_debug("hidden");
	return r == -ENOENT ? 0 : 1;
}

static int journal(void)
{
	log_detect_journal(); /* JOURNAL_STREAM now names this stderr */
	log_warning("careful");
	return 0;
}

static int control(void)
{
	log_set_program("prog");
	unsetenv("JOURNAL_STREAM");
	log_detect_journal();
	log_error("bad value '%s'", "\033[2J\rx\x7f\ty");
	return 0;
}

int main(void)
{
	tap_tmpdir();
	char *s = capture(plain);
	is_str(s, "prog: cannot open 'x.conf': No such file or directory\n",
	       "%m expands the error; debug is filtered at info level");
	free(s);
	s = capture(journal);
	is_str(s, "<4>careful\n", "journal stream gets a priority prefix");
	free(s);
	s = capture(control);
	is_str(s, "prog: bad value '\\x1b[2J\\x0dx\\x7f\ty'\n",
	       "control bytes from a file are shown as \\xNN, never sent to the terminal");
	free(s);
	return tap_done();
}
