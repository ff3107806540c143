/* SPDX-License-Identifier: MIT */
/*
 * test-inf.c - the INF parser on fixtures shaped like virtio-win's
 * viostor.inf and the Xen Project's xenvbd.inf (tests/fixtures/inf), the
 * same text in UTF-16LE and ANSI, and broken files that must fail with the
 * line named.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "lib/basic/inf.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"
#include "tests/unit/tap.h"

static char *fixture(const char *name, size_t *ret_n)
{
	const char *src = getenv("ENLIGHTEN_SRCDIR");
	char path[4096];
	char *buf = NULL;
	snprintf(path, sizeof(path), "%s/tests/fixtures/inf/%s", src ? src : ".", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fs_read_fd(fd, 1 << 20, &buf, ret_n) < 0) {
		printf("Bail out! cannot read '%s'\n", path);
		exit(1);
	}
	close(fd);
	return buf;
}

static char *joined(char **l)
{
	size_t n = 1;
	for (char **p = l; *p; p++)
		n += strlen(*p) + 1;
	char *s = calloc(1, n);
	for (char **p = l; *p; p++) {
		if (p != l)
			strcat(s, " ");
		strcat(s, *p);
	}
	return s;
}

static void check_viostor(const void *buf, size_t n, const char *how)
{
	_cleanup_inf_ struct inf *inf = NULL;
	_cleanup_inf_driver_ struct inf_driver *d = NULL;
	_cleanup_free_ char *err = NULL, *ids = NULL, *arch = NULL;

	is_int(inf_parse(buf, n, &inf, &err), 0, "viostor (%s) parses%s%s", how, err ? ": " : "",
	       err ? err : "");
	if (!inf)
		return;
	is_int(inf_driver_info(inf, &d, &err), 0, "viostor (%s): driver facts", how);
	if (!d)
		return;
	is_str(d->class, "SCSIAdapter", "class");
	is_str(d->provider, "Red Hat, Inc.", "provider from [Strings], quotes removed");
	is_str(d->driver_date, "06/08/2020", "driver date (comment after it cut)");
	is_str(d->driver_version, "100.85.104.20800", "driver version");
	is_str(d->catalog_file, "viostor.cat", "catalog file");
	is_str(arch = joined(d->architectures), "amd64", "architectures");
	is_str(ids = joined(d->hardware_ids),
	       "PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00 "
	       "PCI\\VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01",
	       "hardware ids (one across a line continuation)");
	is_str(inf_get(inf, "sourcedisksnames", "1"),
	       "Red Hat VirtIO SCSI controller Installation Disk #1",
	       "case-insensitive section lookup, substitution");
	const struct inf_section *files = inf_find_section(inf, "rhelscsi.CopyFiles");
	ok(files && files->n_lines == 1 && !files->lines[0].key &&
		   streq(files->lines[0].values[0], "viostor.sys") &&
		   streq(files->lines[0].values[3], "2"),
	   "a line without '=' keeps its values, empty ones too");
}

static void test_fixtures(void)
{
	size_t n;
	_cleanup_free_ char *v = fixture("viostor.inf", &n);
	check_viostor(v, n, "UTF-8");

	/* the same text as UTF-16LE with a BOM, and without one */
	_cleanup_free_ uint8_t *u = malloc(2 * n + 2);
	u[0] = 0xff;
	u[1] = 0xfe;
	for (size_t i = 0; i < n; i++) {
		u[2 + 2 * i] = (uint8_t)v[i];
		u[3 + 2 * i] = 0;
	}
	check_viostor(u, 2 * n + 2, "UTF-16LE with BOM");
	check_viostor(u + 2, 2 * n, "UTF-16LE without BOM");

	/* CRLF line ends */
	_cleanup_free_ char *crlf = malloc(2 * n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '\n')
			crlf[k++] = '\r';
		crlf[k++] = v[i];
	}
	check_viostor(crlf, k, "CRLF");

	_cleanup_inf_ struct inf *inf = NULL;
	_cleanup_inf_driver_ struct inf_driver *d = NULL;
	_cleanup_free_ char *err = NULL, *x = fixture("xenvbd.inf", &n), *s = NULL, *a = NULL;
	is_int(inf_parse(x, n, &inf, &err), 0, "xenvbd parses");
	is_int(inf_driver_info(inf, &d, &err), 0, "xenvbd: driver facts");
	if (!d)
		return;
	is_str(d->provider, "Xen Project \"PV\" drivers", "\"\" inside quotes is a quote");
	is_str(a = joined(d->architectures), "x86 amd64", "two architectures");
	is_str(s = joined(d->catalog_files), "xenvbd.cat", "decorated catalog files, once");
	is_str(d->catalog_file, "xenvbd.cat", "catalog file from a decorated line");
	free(s);
	is_str(s = joined(d->hardware_ids),
	       "XENBUS\\VEN_XP0001&DEV_VBD&REV_09000000 XENBUS\\VEN_XS0001&DEV_VBD&REV_09000000",
	       "hardware ids of both models sections, each once");
}

static void test_encodings(void)
{
	_cleanup_inf_ struct inf *inf = NULL;
	_cleanup_free_ char *err = NULL;
	/* ANSI (Windows-1252 / Latin-1): "Société" with é as 0xe9 */
	const char ansi[] = "[Strings]\nP=\"Soci\xe9t\xe9\"\n";
	is_int(inf_parse(ansi, strlen(ansi), &inf, &err), 0, "ANSI parses");
	is_str(inf_get(inf, "Strings", "P"), "Soci\xc3\xa9t\xc3\xa9", "ANSI read as Latin-1");
	inf_free(inf);
	inf = NULL;
	const char utf8[] = "\xef\xbb\xbf[Strings]\nP=\"Soci\xc3\xa9t\xc3\xa9\"\n";
	is_int(inf_parse(utf8, strlen(utf8), &inf, &err), 0, "UTF-8 with BOM parses");
	is_str(inf_get(inf, "Strings", "P"), "Soci\xc3\xa9t\xc3\xa9", "UTF-8 kept");
	inf_free(inf);
	inf = NULL;
	const uint8_t odd[] = { 0xff, 0xfe, '[', 0, 'S' };
	is_int(inf_parse(odd, sizeof(odd), &inf, &err), -EBADMSG, "odd UTF-16 refused");
	const char pct[] = "[A]\nk=%%x%% %unknown% %s%\n[Strings]\ns=S\n";
	inf_free(inf);
	inf = NULL;
	is_int(inf_parse(pct, strlen(pct), &inf, &err), 0, "percent signs parse");
	is_str(inf_get(inf, "A", "k"), "%x% %unknown% S",
	       "double percent is one, unknown tokens stay");
}

static void test_broken(void)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "[Version\nClass=X\n", "line 1: section header without ']'" },
		{ "; c\n\n[]\n", "line 3: empty section name" },
		{ "[A] x\n", "line 1: text after the section header" },
		{ "Class=X\n[Version]\n", "line 1: text before the first section" },
		{ "[A]\n\n k = \"open\n", "line 3: unterminated quoted string" },
		{ "[A]\n= v\n", "line 2: '=' without a key" },
		{ "[A]\nk=a\\\n b\\\n c, \"d\n", "line 2: unterminated quoted string" },
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct inf *inf = NULL;
		_cleanup_free_ char *err = NULL;
		is_int(inf_parse(bad[i].text, strlen(bad[i].text), &inf, &err), -EBADMSG,
		       "broken INF %zu refused", i);
		ok(err && strstr(err, bad[i].msg), "says \"%s\": %s", bad[i].msg, err ? err : "");
		inf_free(inf);
	}

	static const struct {
		const char *text, *msg;
	} badinfo[] = {
		{ "[Manufacturer]\n", "no [Version] section" },
		{ "[Version]\nClass=X\nProvider=P\nDriverVer=1/1/2020,1.0\n",
		  "no [Manufacturer] section" },
		{ "[Version]\nProvider=P\n[Manufacturer]\n", "[Version] has no Class=" },
		{ "[Version]\nClass=X\nProvider=P\n[Manufacturer]\n",
		  "[Version] has no DriverVer=" },
		{ "[Version]\nClass=X\nProvider=P\nDriverVer=2020-01-01,1.0\n[Manufacturer]\n",
		  "line 4: DriverVer must be 'MM/DD/YYYY,w.x.y.z'" },
		{ "[Version]\nClass=X\nProvider=P\nDriverVer=01/01/"
		  "2020,1.0.70000\n[Manufacturer]\n",
		  "line 4: DriverVer must be" },
		{ "[Version]\nClass=X\nProvider=P\nDriverVer=01/01/2020,1.0\n[Manufacturer]\n"
		  "%M%=M,NTamd64\n",
		  "line 6: [Manufacturer] names models section [M.NTamd64], which does not exist" },
		{ "[Version]\nClass=X\nProvider=P\nDriverVer=01/01/2020,1.0\n[Manufacturer]\n"
		  "M=M,NT$ARCH$\n",
		  "line 6: unknown platform decoration 'NT$ARCH$'" },
		{ "[Version]\nClass=X\nProvider=P\nDriverVer=01/01/2020,1.0\n[Manufacturer]\n"
		  "M=M\n[M]\nDesc=install\n",
		  "line 8: model in [M] without a hardware id" },
	};
	for (size_t i = 0; i < ELEMENTSOF(badinfo); i++) {
		_cleanup_inf_ struct inf *inf = NULL;
		struct inf_driver *d = NULL;
		_cleanup_free_ char *err = NULL;
		is_int(inf_parse(badinfo[i].text, strlen(badinfo[i].text), &inf, &err), 0,
		       "INF %zu parses", i);
		is_int(inf_driver_info(inf, &d, &err), -EBADMSG, "but has no driver facts");
		ok(err && strstr(err, badinfo[i].msg), "says \"%s\": %s", badinfo[i].msg,
		   err ? err : "");
		inf_driver_free(d);
	}

	/* bounds */
	size_t n = 10000;
	char *big = malloc(n + 16);
	strcpy(big, "[A]\nk=");
	memset(big + 6, 'x', n);
	big[n + 6] = '\0';
	struct inf *inf = NULL;
	_cleanup_free_ char *err = NULL;
	is_int(inf_parse(big, strlen(big), &inf, &err), -EBADMSG, "over-long line refused");
	ok(err && strstr(err, "line 2: line longer than 8192"), "says so: %s", err ? err : "");
	free(big);
}

int main(void)
{
	tap_tmpdir();
	test_fixtures();
	test_encodings();
	test_broken();
	return tap_done();
}
