/* SPDX-License-Identifier: MIT */
/*
 * test-extract.c - safe extraction: good archives in each format unpack
 * completely; hostile ones (made by tests/fixtures/make-archives.py, one per
 * escape kind and format) are refused with the archive, the entry and the
 * reason named, leave no target and no temporary directory, and nothing
 * named ESCAPED* lands anywhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/basic/extract.h"
#include "lib/basic/macro.h"
#include "tests/unit/tap.h"

static char *slurp(const char *path)
{
	char *buf = NULL;
	size_t n;
	return fs_read_file_at(AT_FDCWD, path, 1 << 20, &buf, &n) < 0 ? NULL : buf;
}

static bool escaped(void)
{
	/* an ESCAPED* file anywhere below the test directory (or a link to it) */
	return system("find . -name 'ESCAPED*' | grep -q .") == 0;
}

static void test_good(void)
{
	static const char *const archives[] = { "good.tar.gz", "good.tar.xz", "good.zip",
						"good.cpio" };
	for (size_t i = 0; i < ELEMENTSOF(archives); i++) {
		char target[64], p[128];
		_cleanup_free_ char *err = NULL, *s = NULL;
		struct extract_stats st = {};
		struct stat sb;

		snprintf(target, sizeof(target), "out-%zu", i);
		is_int(extract_archive(archives[i], target, NULL, &st, &err), 0, "%s extracts%s%s",
		       archives[i], err ? ": " : "", err ? err : "");
		snprintf(p, sizeof(p), "%s/a/f", target);
		is_str(s = slurp(p), "hello\n", "%s: a/f has its content", archives[i]);
		snprintf(p, sizeof(p), "%s/a/link", target);
		free(s);
		is_str(s = slurp(p), "hello\n", "%s: a/link leads to a/f", archives[i]);
		snprintf(p, sizeof(p), "%s/a/x", target);
		ok(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0755, "%s: a/x mode 0755",
		   archives[i]);
		if (strstr(archives[i], "zip") == NULL)
			ok(sb.st_mtime == 1700000000, "%s: mtime kept", archives[i]);
		snprintf(p, sizeof(p), "%s/b/deep/file", target);
		ok(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0600, "%s: b/deep/file mode 0600",
		   archives[i]);
		ok(st.entries >= 5, "%s: %llu entries counted", archives[i],
		   (unsigned long long)st.entries);
	}
	struct stat a, b;
	ok(stat("out-0/a/hard", &a) == 0 && stat("out-0/a/f", &b) == 0 && a.st_ino == b.st_ino,
	   "tar hard link made");
	ok(stat("out-0/fifo", &a) == 0 && S_ISFIFO(a.st_mode), "fifo made");

	_cleanup_free_ char *err = NULL;
	is_int(extract_archive("good.tar.gz", "out-0", NULL, NULL, &err), -EEXIST,
	       "existing target refused");
}

static void test_hostile(void)
{
	static const struct {
		const char *archive, *msg;
	} cases[] = {
		{ "evil-dotdot.tar", "entry 'a/../../ESCAPED-dotdot': '..' in the name" },
		{ "evil-dotdot.cpio", "'..' in the name" },
		{ "evil-dotdot.zip", "'..' in the name" },
		{ "evil-absolute.tar", "an absolute name" },
		{ "evil-absolute.cpio", "an absolute name" },
		{ "evil-absolute.zip", "an absolute name" },
		{ "evil-symlink-abs.tar", "entry 'l': a symlink to an absolute path ('/etc')" },
		{ "evil-symlink-abs.cpio", "a symlink to an absolute path" },
		{ "evil-symlink-abs.zip", "a symlink to an absolute path" },
		{ "evil-symlink-up.tar", "entry 'd/l': a symlink that leaves the root" },
		{ "evil-symlink-up.cpio", "a symlink that leaves the root" },
		{ "evil-symlink-chain.tar", "entry 'a/l1/l2': a path through the symlink 'a/l1'" },
		{ "evil-symlink-chain.cpio", "a path through the symlink 'a/l1'" },
		{ "evil-through-symlink.tar",
		  "entry 'l/ESCAPED-through': a path through the symlink 'l'" },
		{ "evil-hardlink-out.tar", "entry 'h': a hard link to '/etc/passwd'" },
		{ "evil-hardlink-missing.tar",
		  "a hard link to 'nothere', which is not a file extracted before" },
		{ "evil-hardlink-up.tar", "a hard link to '../ESCAPED-hard'" },
		{ "evil-device.tar", "entry 'null': a device node" },
		{ "evil-device.cpio", "a device node" },
		{ "evil-setuid.tar", "entry 'su': setuid or setgid bit" },
		{ "evil-setuid.cpio", "setuid or setgid bit" },
		{ "evil-setuid.zip", "setuid or setgid bit" },
		{ "evil-control.tar", "control characters in the name" },
		{ "evil-control.cpio", "control characters in the name" },
		{ "evil-control.zip", "control characters in the name" },
		{ "evil-long.tar", "longer than NAME_MAX" },
		{ "truncated.tar.gz", "archive 'truncated.tar.gz': " },
		{ "notanarchive", "archive 'notanarchive': " },
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *err = NULL;
		int r = extract_archive(cases[i].archive, "target", NULL, NULL, &err);
		ok(r < 0, "%s refused", cases[i].archive);
		ok(err && strstr(err, cases[i].msg) && strstr(err, cases[i].archive),
		   "%s: message names it: %s", cases[i].archive, err ? err : "(none)");
		struct stat st;
		ok(lstat("target", &st) < 0, "%s: no target left", cases[i].archive);
		ok(system("ls -a | grep -q '^\\.#extract'") != 0, "%s: no temporary directory left",
		   cases[i].archive);
	}
	ok(!escaped(), "nothing named ESCAPED* anywhere");
}

static void test_policy(void)
{
	_cleanup_free_ char *err = NULL;
	struct extract_policy p = { .max_bytes = 16 << 20 };

	is_int(extract_archive("bomb-bytes.tar.gz", "t1", &p, NULL, &err), -E2BIG,
	       "64 MiB of zeros past a 16 MiB cap refused");
	ok(err && strstr(err, "archive 'bomb-bytes.tar.gz': entry 'zeros': 67108864 bytes, past "
			      "the cap of 16777216"),
	   "says so: %s", err);
	p = (struct extract_policy){ .max_entries = 1000 };
	is_int(extract_archive("bomb-entries.tar.gz", "t1", &p, NULL, &err), -E2BIG,
	       "5000 entries past a cap of 1000 refused");
	ok(err && strstr(err, "more than 1000 entries"), "says so: %s", err);
	p = (struct extract_policy){ .allow_setuid = true };
	is_int(extract_archive("evil-setuid.tar", "t2", &p, NULL, &err), 0,
	       "setuid allowed when the policy says so");
	struct stat st;
	ok(stat("t2/su", &st) == 0 && (st.st_mode & S_ISUID), "bit kept");

	/* the check alone, as the image builder uses it */
	_cleanup_extract_tracker_ struct extract_tracker *t = NULL;
	char *path = NULL;
	extract_tracker_new(&t);
	struct extract_policy win = { .windows_names = true };
	struct extract_entry_info e = { .name = "./drivers//viostor.inf", .mode = S_IFREG | 0644 };
	is_int(extract_check_entry(&win, t, &e, &path, &err), 0, "plain name passes");
	is_str(path, "drivers/viostor.inf", "normalized");
	free(path);
	e.name = "drivers/CON.inf";
	is_int(extract_check_entry(&win, t, &e, &path, &err), -EPERM, "CON refused for Windows");
	e.name = "drivers/a:b";
	is_int(extract_check_entry(&win, t, &e, &path, &err), -EPERM, "':' refused for Windows");
	e = (struct extract_entry_info){ .name = "x",
					 .mode = S_IFREG | 0644,
					 .hardlink = "drivers/viostor.inf" };
	is_int(extract_check_entry(&win, t, &e, &path, &err), 0, "hard link to a seen file");
	free(path);
	e = (struct extract_entry_info){ .name = "a/b/l",
					 .mode = S_IFLNK | 0777,
					 .symlink = "../../c" };
	is_int(extract_check_entry(&win, t, &e, &path, &err), 0, "symlink up to the root passes");
	free(path);
	e.symlink = "../../../c";
	is_int(extract_check_entry(&win, t, &e, &path, &err), -EPERM, "one level more refused");
	e.symlink = "x/../../../../c";
	is_int(extract_check_entry(&win, t, &e, &path, &err), -EPERM,
	       "climb after descent refused");

	/* an image's root: symlink targets are data, resolved only in the guest */
	struct extract_policy img = { .symlinks_as_data = true };
	e = (struct extract_entry_info){ .name = "etc/mtab",
					 .mode = S_IFLNK | 0777,
					 .symlink = "/proc/self/mounts" };
	is_int(extract_check_entry(&img, t, &e, &path, &err), 0, "absolute target as data passes");
	free(path);
	e.symlink = "";
	is_int(extract_check_entry(&img, t, &e, &path, &err), -EPERM, "... an empty one does not");
	e = (struct extract_entry_info){ .name = "../x", .mode = S_IFLNK | 0777, .symlink = "y" };
	is_int(extract_check_entry(&img, t, &e, &path, &err), -EPERM, "... nor a '..' name");
	path = NULL;
	is_int(extract_normalize_name("./a//b/", &path, NULL), 0, "normalize a name");
	is_str(path, "a/b", "... as the check does");
	free(path);
	is_int(extract_normalize_name("/etc", &path, NULL), -EPERM, "normalize refuses '/etc'");
}

/* cab and iso9660, when the fixture script could make them. */
static void test_cab_iso(void)
{
	static const struct {
		const char *archive, *msg; /* msg NULL: must extract, with a/f */
	} cases[] = {
		{ "good.cab", NULL },
		{ "evil-dotdot.cab", "entry '../ESCAPED': '..' in the name" },
		{ "good.iso", NULL },
		{ "evil-symlink-abs.iso", "entry 'l': a symlink to an absolute path ('/etc')" },
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *err = NULL, *s = NULL;
		char target[64], p[128];
		if (access(cases[i].archive, F_OK) < 0) {
			ok(1, "# SKIP no %s (gcab or xorriso not installed)", cases[i].archive);
			continue;
		}
		snprintf(target, sizeof(target), "ci-%zu", i);
		int r = extract_archive(cases[i].archive, target, NULL, NULL, &err);
		if (!cases[i].msg) {
			is_int(r, 0, "%s extracts%s%s", cases[i].archive, err ? ": " : "",
			       err ? err : "");
			snprintf(p, sizeof(p), "%s/a/f", target);
			is_str(s = slurp(p), "hello\n", "%s: a/f has its content",
			       cases[i].archive);
		} else {
			ok(r < 0 && err && strstr(err, cases[i].msg), "%s refused: %s",
			   cases[i].archive, err ? err : "(no message)");
		}
	}
	ok(!escaped(), "nothing named ESCAPED* anywhere");
}

/* An RPM's cpio payload, when rpmbuild is there to make one. */
static void test_rpm(void)
{
	_cleanup_free_ char *err = NULL, *s = NULL;

	if (system("command -v rpmbuild >/dev/null") != 0) {
		ok(1, "# SKIP rpmbuild not installed");
		return;
	}
	tap_write("t.spec", "Name: t\nVersion: 1\nRelease: 1\nSummary: t\nLicense: MIT\n"
			    "BuildArch: noarch\n%description\nt\n%install\n"
			    "mkdir -p %{buildroot}/usr/share/t\n"
			    "echo hi > %{buildroot}/usr/share/t/f\n%files\n/usr/share/t/f\n");
	ok(system("rpmbuild -bb --quiet --define \"_topdir $PWD/rpm\" t.spec >/dev/null 2>&1 && "
		  "mv rpm/RPMS/noarch/t-1-1.noarch.rpm t.rpm") == 0,
	   "rpmbuild made an RPM");
	is_int(extract_archive("t.rpm", "rpmroot", NULL, NULL, &err), 0, "RPM payload extracts%s%s",
	       err ? ": " : "", err ? err : "");
	is_str(s = slurp("rpmroot/usr/share/t/f"), "hi\n", "file from the RPM");
}

int main(void)
{
	const char *src = getenv("ENLIGHTEN_SRCDIR");
	char cmd[4096];

	tap_tmpdir();
	snprintf(cmd, sizeof(cmd), "python3 '%s/tests/fixtures/make-archives.py' .",
		 src ? src : ".");
	if (system(cmd) != 0) {
		printf("Bail out! cannot make the test archives\n");
		return 1;
	}
	test_good();
	test_hostile();
	test_policy();
	test_cab_iso();
	test_rpm();
	return tap_done();
}
