/* SPDX-License-Identifier: MIT */
/*
 * test-closure.c - the dependency closure's reading of a base tarball and
 * its answers (builder/payload/closure.h): which package database a base
 * has, what it refuses, and libsolv's problem text for a profile that
 * cannot be installed. Package files are the CLI tests' (t2004, t4006).
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/payload/closure.h"
#include "lib/basic/string-util.h"
#include "tests/unit/tap.h"

struct entry {
	const char *name;
	const char *data;
};

/* A gzip'ed tar of regular files; n entries. */
static void write_tar(const char *path, const struct entry *e, size_t n)
{
	struct archive *a = archive_write_new();
	archive_write_add_filter_gzip(a);
	archive_write_set_format_pax_restricted(a);
	if (archive_write_open_filename(a, path) != ARCHIVE_OK) {
		printf("Bail out! cannot write '%s'\n", path);
		exit(1);
	}
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		archive_entry_set_pathname(ae, e[i].name);
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, 0644);
		archive_entry_set_size(ae, (la_int64_t)strlen(e[i].data));
		archive_write_header(a, ae);
		archive_write_data(a, e[i].data, strlen(e[i].data));
		archive_entry_free(ae);
	}
	archive_write_close(a);
	archive_write_free(a);
}

static const char status[] = "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\n"
			     "Architecture: amd64\n\n"
			     "Package: qga\nStatus: deinstall ok config-files\nVersion: 1.0\n"
			     "Architecture: amd64\n\n";

/* Solves profile p of matrix on base; returns the error and the message. */
static int solve(const char *base, const struct catalog *cat, const struct profile_set *matrix,
		 const char *p, size_t *ret_n, char **ret_msg)
{
	_cleanup_closure_ struct closure *c = NULL;
	_cleanup_free_ size_t *idx = NULL;
	int r = closure_new(base, AT_FDCWD, cat, &c, ret_msg);
	if (r >= 0)
		r = closure_solve(c, matrix, p, &idx, ret_n, ret_msg);
	return r;
}

int main(void)
{
	_cleanup_catalog_ struct catalog *cat = NULL;
	_cleanup_profile_set_ struct profile_set *matrix = NULL;
	size_t n = 99;

	tap_tmpdir();
	mkdir("m", 0755);
	tap_write("m/a.conf", "[Match]\nHypervisor=kvm\n[Debian]\nPackages=libc6\n");
	tap_write("m/b.conf", "[Match]\nHypervisor=xen\n[Debian]\nPackages=qga\n");
	if (catalog_new(&cat) < 0 || profile_set_load("m", &matrix, NULL) < 0) {
		printf("Bail out! cannot make the catalog or the matrix\n");
		return 1;
	}

	write_tar("deb.tar.gz",
		  (struct entry[]){ { "./etc/hostname", "x\n" },
				    { "./var/lib/dpkg/status", status } },
		  2);
	_cleanup_free_ char *m1 = NULL;
	is_int(solve("deb.tar.gz", cat, matrix, "a", &n, &m1), 0,
	       "a name the base has installed is satisfied");
	is_int(n, 0, "... and takes nothing from the repository");

	_cleanup_free_ char *m2 = NULL;
	is_int(solve("deb.tar.gz", cat, matrix, "b", &n, &m2), -ESRCH,
	       "a package that is only a config-files remnant is not installed");
	is_str(m2, "profile 'b' cannot be installed on the base: package qga does not exist",
	       "libsolv's problem names the profile and the package");

	_cleanup_free_ char *m3 = NULL;
	is_int(solve("deb.tar.gz", cat, matrix, "c", &n, &m3), -ENOENT, "an unknown profile");

	write_tar("none.tar.gz", (struct entry[]){ { "etc/hostname", "x\n" } }, 1);
	_cleanup_free_ char *m4 = NULL;
	is_int(solve("none.tar.gz", cat, matrix, "a", &n, &m4), -ENOPKG,
	       "a base without a package database");
	is_str(m4,
	       "base 'none.tar.gz' has no package database (no var/lib/dpkg/status, no rpm "
	       "database)",
	       "... says which it looked for");

	write_tar("climb.tar.gz",
		  (struct entry[]){ { "var/lib/dpkg/../dpkg/status", status },
				    { "var/lib/rpm/../../../tmp/x", "x" } },
		  2);
	_cleanup_free_ char *m5 = NULL;
	is_int(solve("climb.tar.gz", cat, matrix, "a", &n, &m5), -ENOPKG,
	       "entries that climb are not the database");

	struct entry many[300];
	char names[300][64];
	for (size_t i = 0; i < 300; i++) {
		snprintf(names[i], sizeof(names[i]), "var/lib/rpm/f%zu", i);
		many[i] = (struct entry){ names[i], "x" };
	}
	write_tar("many.tar.gz", many, 300);
	_cleanup_free_ char *m6 = NULL;
	is_int(solve("many.tar.gz", cat, matrix, "a", &n, &m6), -E2BIG,
	       "an rpm database of too many files");
	ok(m6 && strstr(m6, "base 'many.tar.gz': its rpm database has more than 256 files"),
	   "... is refused with the base named");

	tap_write("junk.tar.gz", "not a tarball\n");
	_cleanup_free_ char *m7 = NULL;
	is_int(solve("junk.tar.gz", cat, matrix, "a", &n, &m7), -EBADMSG, "not a tarball");
	ok(m7 && strstr(m7, "'junk.tar.gz'"), "... names the file");

	_cleanup_free_ char *m8 = NULL;
	ok(solve("missing.tar", cat, matrix, "a", &n, &m8) < 0 && m8 && strstr(m8, "'missing.tar'"),
	   "a missing base is named");
	return tap_done();
}
