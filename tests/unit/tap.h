/* SPDX-License-Identifier: MIT */
/*
 * tap.h - Test Anything Protocol for the C unit tests, run under prove.
 *
 *   int main(void) {
 *           tap_tmpdir();                 (fresh empty directory, removed at exit)
 *           ok(x == 1, "x is one");
 *           is_int(r, -EXDEV, "escape refused");
 *           is_str(s, "abc", "parsed");
 *           return tap_done();            (prints the plan, exit 1 on failure)
 *   }
 */
#pragma once

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/basic/fs.h"

static int tap_n, tap_failed;
static char tap_dir[4096];

static void tap_cleanup(void)
{
	if (tap_dir[0]) {
		if (chdir("/") == 0)
			fs_rm_rf(tap_dir);
	}
}

/* Creates a fresh empty directory, makes it the cwd and returns its path. */
static inline const char *tap_tmpdir(void)
{
	const char *t = getenv("TMPDIR");
	snprintf(tap_dir, sizeof(tap_dir), "%s/enlighten-unit.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tap_dir) || chdir(tap_dir) < 0) {
		printf("Bail out! cannot make a temporary directory\n");
		exit(1);
	}
	atexit(tap_cleanup);
	return tap_dir;
}

static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	tap_n++;
	printf("%s %d - ", cond ? "ok" : "not ok", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond) {
		tap_failed++;
		printf("#   Failed at %s line %d\n", file, line);
	}
	fflush(stdout);
	return cond;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...)                                                                     \
	do {                                                                                       \
		long long g_ = (long long)(got), w_ = (long long)(want);                           \
		if (!ok(g_ == w_, __VA_ARGS__))                                                    \
			printf("#   got %lld, want %lld\n", g_, w_);                               \
	} while (0)
#define is_str(got, want, ...)                                                                     \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		if (!ok(g_ && w_ && strcmp(g_, w_) == 0, __VA_ARGS__))                             \
			printf("#   got '%s', want '%s'\n", g_ ? g_ : "(null)",                    \
			       w_ ? w_ : "(null)");                                                \
	} while (0)

/* Writes a small file (test setup); aborts the test on failure. */
static inline void tap_write(const char *path, const char *content)
{
	FILE *f = fopen(path, "we");
	if (!f || fputs(content, f) < 0 || fclose(f) != 0) {
		printf("Bail out! cannot write '%s'\n", path);
		exit(1);
	}
}

/* symlink(2) for test setup; aborts the test on failure. */
static inline void tap_symlink(const char *target, const char *path)
{
	if (symlink(target, path) < 0) {
		printf("Bail out! cannot link '%s'\n", path);
		exit(1);
	}
}

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
