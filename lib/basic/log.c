/* SPDX-License-Identifier: MIT */
/*
 * log.c - leveled logging to stderr or the journal's stream.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "lib/basic/log.h"

static const char *program = "enlighten";
static int max_level = LOG_INFO;
static bool to_journal;

void log_detect_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	struct stat st;
	unsigned long long dev, ino;

	to_journal = false;
	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return;
	if (fstat(STDERR_FILENO, &st) < 0)
		return;
	to_journal = st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

void log_set_program(const char *name)
{
	program = name;
	log_detect_journal();
}

void log_set_max_level(int level)
{
	max_level = level;
}

int log_get_max_level(void)
{
	return max_level;
}

int log_internal(int level, int error, const char *fmt, ...)
{
	int saved = errno;
	int ret = error > 0 ? -error : error;

	if (level > max_level) {
		errno = saved;
		return ret;
	}

	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	errno = error < 0 ? -error : error; /* what %m prints */
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);

	/* A name or value from a file reaches the terminal: its control bytes
	 * (an escape sequence, a carriage return) go out as \xNN. */
	char shown[sizeof(buf) * 4];
	size_t k = 0;
	for (const unsigned char *p = (const unsigned char *)buf; *p; p++) {
		if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
			k += (size_t)snprintf(shown + k, sizeof(shown) - k, "\\x%02x", *p);
		else
			shown[k++] = (char)*p;
	}
	shown[k] = '\0';
	if (to_journal)
		fprintf(stderr, "<%d>%s\n", level, shown);
	else
		fprintf(stderr, "%s: %s\n", program, shown);

	errno = saved;
	return ret;
}
