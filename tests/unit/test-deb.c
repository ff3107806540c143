/* SPDX-License-Identifier: MIT */
/*
 * test-deb.c - Debian packages: control fields read from a real .deb (made
 * here by dpkg-deb) and refused from files that are not one; the dpkg
 * database of a root read without dpkg; an install and a purge through the
 * root's dpkg, leaving no policy-rc.d behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/trust/deb.h"
#include "lib/activate/dpkgtx.h"
#include "lib/basic/fs.h"
#include "lib/basic/string-util.h"
#include "tests/unit/tap.h"

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_control(void)
{
	struct catalog_deb *d = NULL;
	char *err = NULL;
	is_int(deb_control_parse("Package: hv\nVersion: 1:6.1-3\nArchitecture: amd64\n"
				 "Depends: libc6 (>= 2.34),\n libx,  liby | libz\n"
				 "Pre-Depends: init-system-helpers\nProvides: a, b (= 1)\n"
				 "Description: x\n more\n",
				 &d, &err),
	       0, "control parsed");
	if (d) {
		is_str(d->name, "hv", "Package");
		is_str(d->version, "1:6.1-3", "Version with epoch");
		is_str(d->arch, "amd64", "Architecture");
		is_int((int)strv_length(d->depends), 4,
		       "Depends folded over lines, plus Pre-Depends");
		is_str(d->depends[2], "liby | libz", "alternatives kept as one relation");
		is_str(d->provides[1], "b (= 1)", "Provides split");
	}
	catalog_deb_free(d);
	d = NULL;
	is_int(deb_control_parse("Version: 1\nArchitecture: all\n", &d, &err), -EBADMSG,
	       "control without Package refused");
	ok(err && strstr(err, "Package"), "message names the missing field");
	free(err);
}

static void test_read(void)
{
	struct catalog_deb *d = NULL;
	char *err = NULL;
	fs_mkdir_p_at(AT_FDCWD, "pkg/DEBIAN", 0755);
	fs_mkdir_p_at(AT_FDCWD, "pkg/usr/share/t", 0755);
	write_file("pkg/DEBIAN/control", "Package: enlighten-test\nVersion: 0.1-1\n"
					 "Architecture: all\nMaintainer: t <t@t.invalid>\n"
					 "Description: test\n test package\n");
	write_file("pkg/usr/share/t/file", "x\n");
	ok(system("dpkg-deb --root-owner-group -Zxz -b pkg t.deb >/dev/null") == 0,
	   "dpkg-deb built a package");
	is_int(deb_read_at(AT_FDCWD, "t.deb", 0, &d, &err), 0, "control of a real .deb read");
	if (d)
		is_str(d->name, "enlighten-test", "its Package");
	catalog_deb_free(d);
	d = NULL;
	is_int(deb_read_at(AT_FDCWD, "t.deb", 100, &d, &err), -EFBIG, "size cap honoured");
	free(err);
	err = NULL;
	write_file("not.deb", "!<arch>\nthis is no package\n");
	is_int(deb_read_at(AT_FDCWD, "not.deb", 0, &d, &err), -EBADMSG, "a non-package refused");
	ok(err && strstr(err, "not.deb"), "message names the file");
	free(err);
}

static void test_db(void)
{
	char **names = NULL, *err = NULL;
	int root = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fs_mkdir_p_at(AT_FDCWD, "root", 0755);
	int rfd = openat(root, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	is_int(dpkgtx_installed(rfd, &names, &err), -ENOENT, "no database: -ENOENT");
	ok(err && strstr(err, "dpkg"), "message says so");
	free(err);
	err = NULL;
	is_int(dpkgtx_root_has_db(rfd), 0, "no database seen");

	fs_mkdir_p_at(rfd, "var/lib/dpkg/info", 0755);
	fs_mkdir_p_at(rfd, "var/lib/dpkg/updates", 0755);
	fs_mkdir_p_at(rfd, "usr/sbin", 0755);
	write_file("root/var/lib/dpkg/status",
		   "Package: zz\nStatus: install ok installed\nVersion: 1\n\n"
		   "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n\n"
		   "Package: aa\nStatus: hold ok installed\nVersion: 1\n");
	is_int(dpkgtx_root_has_db(rfd), 1, "database seen");
	is_int(dpkgtx_installed(rfd, &names, &err), 0, "status read");
	is_int((int)strv_length(names), 2, "config-files only is not installed");
	if (strv_length(names) == 2) {
		is_str(names[0], "aa", "sorted, held counts");
		is_str(names[1], "zz", "installed");
	}
	names = strv_free(names);

	_cleanup_free_ char *cwd = getcwd(NULL, 0);
	_cleanup_free_ char *rootp = strjoin(cwd, "/root");
	_cleanup_free_ char *deb = strjoin(cwd, "/t.deb");
	char *files[] = { deb, NULL }, *erase[] = { "enlighten-test", NULL };
	is_int(dpkgtx_run(rootp, files, NULL, &err), 0, "installed through dpkg --root");
	dpkgtx_installed(rfd, &names, NULL);
	ok(strv_contains(names, "enlighten-test"), "the package is in the database");
	names = strv_free(names);
	ok(access("root/usr/share/t/file", F_OK) == 0, "its file is in the root");
	ok(access("root/usr/sbin/policy-rc.d", F_OK) < 0, "no policy-rc.d left behind");
	is_int(dpkgtx_run(rootp, NULL, erase, &err), 0, "purged");
	dpkgtx_installed(rfd, &names, NULL);
	ok(!strv_contains(names, "enlighten-test"), "gone from the database");
	names = strv_free(names);
	/* what a run cut short inside its transaction leaves: the scripts'
	 * PATH directory goes; a policy-rc.d not the agent's own stays */
	fs_mkdir_p_at(rfd, "var/lib/enlighten/script-path", 0755);
	write_file("root/var/lib/enlighten/script-path/udev-triggers", "trigger\n");
	write_file("root/usr/sbin/policy-rc.d", "#!/bin/sh\nexit 0\n");
	dpkgtx_recover(rfd);
	ok(access("root/var/lib/enlighten/script-path", F_OK) < 0,
	   "recover: the scripts' PATH directory is removed");
	ok(access("root/usr/sbin/policy-rc.d", F_OK) == 0, "recover: the root's own policy stays");
	is_int(dpkgtx_run(rootp, files, NULL, &err), 0, "installed with the root's own policy");
	ok(access("root/usr/sbin/policy-rc.d", F_OK) == 0, "... which is still there after");
	is_int(dpkgtx_run(rootp, NULL, erase, &err), 0, "purged again");
	unlink("root/usr/sbin/policy-rc.d");
	char *bad[] = { "/nonexistent/x.deb", NULL };
	is_int(dpkgtx_run(rootp, bad, NULL, &err), -EBADMSG,
	       "a file whose control cannot be read is refused before dpkg runs");
	ok(err && strstr(err, "/nonexistent/x.deb"), "the message names the file");
	free(err);
	close(rfd);
	close(root);
}

int main(void)
{
	tap_tmpdir();
	test_control();
	test_read();
	test_db();
	return tap_done();
}
