/* SPDX-License-Identifier: MIT */
/*
 * test-fetch.c - lib/fetch over file:// mirrors: a verified file lands in
 * DEST, a cache hit is hashed again, a wrong hash or an over-long file never
 * reaches DEST, a missing file fails over to the next mirror, and catalog
 * paths that would escape DEST are refused. (HTTP faults are in the CLI
 * tests t6xxx, against nginx and a fault-injecting server.)
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "lib/basic/fs.h"
#include "lib/basic/hash.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"
#include "lib/net/fetch.h"
#include "tests/unit/tap.h"

static char cwd[PATH_MAX];

static void item_for(struct fetch_item *it, const char *path, const char *content)
{
	*it = (struct fetch_item){ .path = path, .length = strlen(content) };
	sha256_buffer(content, strlen(content), it->sha256);
}

static bool exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

static char *file_url(const char *dir)
{
	return strjoin("file://", cwd, "/", dir);
}

int main(void)
{
	struct fetch_opts o = { .retries = 1, .backoff_ms = 1 };
	struct fetch_item it[2];
	char *err = NULL;
	int r;

	tap_tmpdir();
	if (!getcwd(cwd, sizeof(cwd)))
		return 1;
	mkdir("m1", 0755);
	mkdir("m2", 0755);
	mkdir("m2/linux", 0755);
	mkdir("dest", 0755);
	tap_write("m2/linux/a.rpm", "alpha payload\n");
	tap_write("m2/b.cab", "beta\n");
	tap_write("m1/b.cab", "beta but longer than signed\n");

	_cleanup_free_ char *u1 = file_url("m1");
	_cleanup_free_ char *u2 = file_url("m2");
	char *mirrors[] = { u1, u2, NULL };

	/* m1 lacks a.rpm (fails over to m2); m1's b.cab is too long (m2's is right) */
	item_for(&it[0], "linux/a.rpm", "alpha payload\n");
	item_for(&it[1], "b.cab", "beta\n");
	r = fetch_files(&o, mirrors, "dest", it, 2, &err);
	is_int(r, 0, "fetch over file:// with failover");
	is_int(it[0].mirror, 1, "a.rpm came from the second mirror");
	is_int(it[1].mirror, 1, "b.cab came from the second mirror");
	ok(exists("dest/linux/a.rpm") && exists("dest/b.cab"), "both files are in dest");
	ok(!exists("dest/.partial"), "the quarantine is gone after success");

	/* cache hit: hashed again */
	r = fetch_files(&o, mirrors, "dest", it, 2, &err);
	is_int(r, 0, "second run");
	ok(it[0].cached && it[1].cached, "both are cache hits");

	/* a tampered file in dest is not trusted: it is fetched again */
	tap_write("dest/b.cab", "evil\n");
	r = fetch_files(&o, mirrors, "dest", it, 2, &err);
	is_int(r, 0, "tampered cache entry replaced");
	ok(!it[1].cached, "tampered file was not taken as cached");

	/* wrong hash on every mirror: error, nothing in dest */
	struct fetch_item bad;
	item_for(&bad, "b.cab", "BETA\n");
	unlink("dest/b.cab");
	r = fetch_files(&o, mirrors, "dest", &bad, 1, &err);
	is_int(r, -EIO, "wrong sha256 fails");
	ok(strstr(bad.error, "sha256") != NULL, "error names the hash: %s", bad.error);
	ok(!exists("dest/b.cab"), "no unverified file in dest");

	/* too long on the only mirror */
	char *only1[] = { u1, NULL };
	item_for(&bad, "b.cab", "beta\n");
	r = fetch_files(&o, only1, "dest", &bad, 1, &err);
	is_int(r, -EIO, "over-long body fails");
	ok(strstr(bad.error, "more than the signed length") != NULL, "error says so: %s",
	   bad.error);
	ok(!exists("dest/b.cab"), "no over-long file in dest");

	/* paths that would escape */
	static const char *const evil[] = { "../x", "/etc/passwd", "a/../../x", ".partial/x" };
	for (size_t i = 0; i < ELEMENTSOF(evil); i++) {
		free(err);
		err = NULL;
		item_for(&bad, evil[i], "x");
		r = fetch_files(&o, mirrors, "dest", &bad, 1, &err);
		is_int(r, -EINVAL, "path '%s' refused", evil[i]);
	}

	/* plain http is refused unless allowed */
	char *http[] = { "http://127.0.0.1:9/", NULL };
	free(err);
	err = NULL;
	r = fetch_files(&o, http, "dest", it, 1, &err);
	is_int(r, -EINVAL, "http mirror refused without allow_http");
	ok(err && strstr(err, "--allow-http"), "error says what to do: %s", err ? err : "");

	/* fetch_buffer: a small file into memory, capped */
	char *buf = NULL;
	size_t n = 0;
	int m = -1;
	r = fetch_buffer(&o, mirrors, "b.cab", 1024, &buf, &n, &m, NULL);
	is_int(r, 0, "fetch_buffer");
	is_str(buf, "beta but longer than signed\n", "from the first mirror");
	free(buf);
	buf = NULL;
	r = fetch_buffer(&o, only1, "b.cab", 8, &buf, &n, &m, NULL);
	is_int(r, -EFBIG, "fetch_buffer cap");

	free(err);
	return tap_done();
}
