/* SPDX-License-Identifier: MIT */
/*
 * test-catalog.c - the catalog parser's checks, the writer's round trip,
 * signature and expiry on load, payload verification and rollback.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>

#include "lib/basic/inf.h"
#include "lib/basic/json.h"
#include "lib/basic/string-util.h"
#include "lib/trust/catalog.h"
#include "tests/unit/tap.h"

#define HEAD                                                                                       \
	"{\"schema\":1,\"product\":\"enlighten\",\"channel\":\"stable\",\"version\":7,"            \
	"\"issued\":\"2026-11-24T12:00:00Z\",\"expires\":\"2027-11-24T12:00:00Z\","
#define SHA_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define PAYLOAD(path, extra)                                                                       \
	"{\"name\":\"enlighten-ic-kvm-guest\",\"version\":\"0.1.0-1\",\"os\":\"linux\","           \
	"\"profiles\":[\"kvm-guest\"],\"arch\":\"noarch\",\"path\":\"" path "\",\"length\":3,"     \
	"\"sha256\":\"" SHA_ABC "\"" extra "}"

/* clang-format off */
static const char good[] =
	HEAD "\"payloads\":["
	PAYLOAD("linux/a.rpm",
		",\"rpm\":{\"name\":\"enlighten-ic-kvm-guest\",\"epoch\":1,"
		"\"version\":\"0.1.0\",\"release\":\"1\",\"arch\":\"noarch\","
		"\"provides\":[\"a = 1\"],\"requires\":[\"/bin/sh\"]}")
	","
	PAYLOAD("windows/viostor/viostor.inf",
		",\"inf\":{\"class\":\"SCSIAdapter\",\"provider\":\"Red Hat, Inc.\","
		"\"driver_version\":\"100.85.104.20800\",\"catalog_file\":\"viostor.cat\","
		"\"architectures\":[\"amd64\"],\"hardware_ids\":[\"PCI\\\\VEN_1AF4&DEV_1001\"]}")
	"]}";
/* clang-format on */

static int parse(const char *s, char **err)
{
	struct catalog *c = NULL;
	free(*err);
	*err = NULL;
	int r = catalog_parse(s, strlen(s), &c, err);
	catalog_free(c);
	return r;
}

static void test_parse(void)
{
	_cleanup_catalog_ struct catalog *c = NULL;
	_cleanup_free_ char *err = NULL;

	is_int(catalog_parse(good, strlen(good), &c, &err), 0, "good catalog parses");
	if (!c)
		return;
	is_int(c->version, 7, "version");
	is_int(c->n_payloads, 2, "two payloads");
	is_str(c->payloads[0].rpm->requires[0], "/bin/sh", "rpm requires");
	is_int(c->payloads[0].rpm->epoch, 1, "rpm epoch");
	is_str(c->payloads[1].inf->hardware_ids[0], "PCI\\VEN_1AF4&DEV_1001", "inf hardware id");
	ok(catalog_find_path(c, "linux/a.rpm") == &c->payloads[0], "find by path");

	static const struct {
		const char *json, *msg;
	} bad[] = {
		{ HEAD "\"payloads\":[], \"sise\":1}", "unknown key 'sise'" },
		{ HEAD "\"payloads\":[], \"expire\":1}", "(did you mean 'expires'?)" },
		{ HEAD "\"payloads\":[" PAYLOAD("a", ",\"lenght\":3") "]}",
		  "payload 1 ('enlighten-ic-kvm-guest'): unknown key 'lenght' (did you mean "
		  "'length'?)" },
		{ HEAD "\"payloads\":[" PAYLOAD("../a", "") "]}", "'path' has an invalid value" },
		{ HEAD "\"payloads\":[" PAYLOAD("/etc/a", "") "]}", "'path' has an invalid value" },
		{ HEAD "\"payloads\":[" PAYLOAD("a//b", "") "]}", "'path' has an invalid value" },
		{ HEAD "\"payloads\":[" PAYLOAD("a", "") "," PAYLOAD("a", "") "]}",
		  "path 'a' is listed twice" },
		{ "{\"schema\":2}", "schema 2 is not supported" },
		{ "{\"schema\":\"1\"}", "'schema' must be an integer" },
		{ "[]", "must be a JSON object" },
		{ "{", "not valid JSON" },
		{ HEAD "\"payloads\":{}}", "'payloads' must be a list" },
		{ "{\"schema\":1,\"product\":\"enlighten\",\"channel\":\"stable\",\"version\":-1}",
		  "'version' must be between" },
		{ "{\"schema\":1,\"product\":\"enlighten\",\"channel\":\"stable\",\"version\":1,"
		  "\"issued\":\"2026-02-30T00:00:00Z\"}",
		  "'issued' is not a UTC time" },
		{ "{\"schema\":1,\"product\":\"enlighten\",\"channel\":\"stable\",\"version\":1,"
		  "\"issued\":\"2026-11-24T12:00:00Z\",\"expires\":\"2026-11-24T12:00:00Z\","
		  "\"payloads\":[]}",
		  "'expires' is not after 'issued'" },
		{ HEAD "\"payloads\":[" PAYLOAD("a", ",\"os\":\"linux\"") "]}",
		  "key 'os' appears twice" },
		{ HEAD "\"version\":1,\"payloads\":[]}", "key 'version' appears twice" },
		{ HEAD "\"payloads\":[" PAYLOAD("./a", "") "]}", "'path' has an invalid value" },
		{ HEAD "\"payloads\":[" PAYLOAD("linux/./a", "") "]}",
		  "'path' has an invalid value" },
		{ HEAD "\"payloads\":[" PAYLOAD("linux/.", "") "]}",
		  "'path' has an invalid value" },
		{ HEAD "\"payloads\":[" PAYLOAD("linux\\\\a.rpm", "") "]}",
		  "'path' has an invalid value" },
		{ "{\"schema\":1,\"product\":\"enlighten\",\"channel\":\"stable\","
		  "\"version\":9223372036854775808}",
		  "the number at byte 63 is out of range" },
		{ "{\"schema\":1,\"product\":\"enlighten\",\"channel\":\"stable\","
		  "\"version\":99999999999999999999999}",
		  "out of range" },
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		int r = parse(bad[i].json, &err);
		if (!bad[i].msg)
			continue;
		is_int(r, -EBADMSG, "bad catalog %zu refused", i);
		ok(err && strstr(err, bad[i].msg), "message has \"%s\": %s", bad[i].msg, err);
	}

	/* sha256 must be lower-case hex of the right length */
	char *s = strdup(good), *p = strstr(s, SHA_ABC);
	p[0] = 'B';
	is_int(parse(s, &err), -EBADMSG, "upper-case sha256 refused");
	p[0] = 'g';
	is_int(parse(s, &err), -EBADMSG, "non-hex sha256 refused");
	free(s);

	/* nesting deeper than the cap */
	char deep[400];
	memset(deep, '[', 200);
	memset(deep + 200, ']', 199);
	deep[399] = '\0';
	is_int(parse(deep, &err), -EBADMSG, "deep nesting refused");
}

static void test_write_roundtrip(void)
{
	_cleanup_catalog_ struct catalog *c = NULL, *c2 = NULL;
	_cleanup_free_ char *err = NULL, *buf = NULL, *buf2 = NULL;
	size_t n, n2;

	catalog_parse(good, strlen(good), &c, &err);
	is_int(catalog_write_at(AT_FDCWD, "out.json", c), 0, "writes");
	is_int(fs_read_file_at(AT_FDCWD, "out.json", 1 << 20, &buf, &n), 0, "reads back");
	is_int(catalog_parse(buf, n, &c2, &err), 0, "written catalog parses");
	is_int(catalog_write_at(AT_FDCWD, "out2.json", c2), 0, "writes again");
	fs_read_file_at(AT_FDCWD, "out2.json", 1 << 20, &buf2, &n2);
	ok(n == n2 && memcmp(buf, buf2, n) == 0, "output is stable byte for byte");
	ok(strstr(buf, "\"schema\"") < strstr(buf, "\"payloads\""), "stable key order");
}

static void write_file(const char *path, const void *p, size_t n)
{
	ok(fs_write_file_atomic_at(AT_FDCWD, path, p, n, 0644) == 0, "write %s", path);
}

static void test_load_verify(void)
{
	struct minisign_seckey sk;
	struct minisign_pubkey pk, opk;
	struct minisign_seckey osk;
	_cleanup_minisig_ struct minisign_sig *sig = NULL;
	_cleanup_free_ char *text = NULL, *err = NULL;
	struct catalog *c = NULL;
	time_t t;

	minisign_keygen(&sk, &pk);
	minisign_keygen(&osk, &opk);
	mkdir("repo", 0755);
	mkdir("repo/linux", 0755);
	mkdir("repo/windows", 0755);
	mkdir("repo/windows/viostor", 0755);
	write_file("repo/catalog.json", good, strlen(good));
	minisign_sign_buffer(&sk, good, strlen(good), NULL, NULL, &sig);
	minisign_sig_format(sig, &text);
	write_file("repo/catalog.json.minisig", text, strlen(text));
	write_file("repo/linux/a.rpm", "abc", 3);
	write_file("repo/windows/viostor/viostor.inf", "abd", 3);

	int dfd = open("repo", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	catalog_time_parse("2026-12-01T00:00:00Z", &t);
	struct catalog_load_opts now = { .now = t };
	is_int(catalog_load_verified(dfd, &pk, &now, &c, &err), 0, "loads with the right key");
	if (!c)
		return;
	is_int(catalog_verify_payload(dfd, &c->payloads[0], &err), 0, "good payload verifies");
	is_int(catalog_verify_payload(dfd, &c->payloads[1], &err), -EBADMSG,
	       "wrong sha256 refused");
	ok(err && strstr(err, "payload 'windows/viostor/viostor.inf': sha256 "), "names it: %s",
	   err);
	write_file("repo/windows/viostor/viostor.inf", "abcd", 4);
	is_int(catalog_verify_payload(dfd, &c->payloads[1], &err), -EBADMSG,
	       "wrong length refused");
	ok(err && strstr(err, "length 4, catalog says 3"), "says so: %s", err);
	unlink("repo/linux/a.rpm");
	is_int(catalog_verify_payload(dfd, &c->payloads[0], &err), -ENOENT, "missing payload");
	tap_symlink("/etc/passwd", "repo/linux/a.rpm");
	ok(catalog_verify_payload(dfd, &c->payloads[0], &err) < 0,
	   "symlink out of the repo refused");

	/* rollback */
	is_int(catalog_check_rollback(c, 7, c->sha256, &err), 0, "same catalog again is fine");
	is_int(catalog_check_rollback(c, 6, NULL, &err), 0, "newer catalog is fine");
	is_int(catalog_check_rollback(c, 8, NULL, &err), -EPERM, "lower version refused");
	ok(err && strstr(err, "version 7 is older than version 8"), "says so: %s", err);
	uint8_t other[SHA256_DIGEST_SIZE] = { 1 };
	is_int(catalog_check_rollback(c, 7, other, &err), -EPERM,
	       "same version, other bytes refused");
	catalog_free(c);
	c = NULL;

	/* expiry */
	catalog_time_parse("2027-11-24T12:00:00Z", &t);
	struct catalog_load_opts late = { .now = t };
	is_int(catalog_load_verified(dfd, &pk, &late, &c, &err), -ESTALE, "expired refused");
	ok(err && strstr(err, "expired at 2027-11-24T12:00:00Z"), "says when: %s", err);
	late.allow_expired = true;
	is_int(catalog_load_verified(dfd, &pk, &late, &c, &err), 0, "unless allowed");
	catalog_free(c);
	c = NULL;

	/* issued in the future: a day of skew is fine, more is not */
	catalog_time_parse("2026-11-23T13:00:00Z", &t);
	struct catalog_load_opts early = { .now = t };
	is_int(catalog_load_verified(dfd, &pk, &early, &c, &err), 0, "issued 23 h ahead: fine");
	catalog_free(c);
	c = NULL;
	catalog_time_parse("2026-11-20T12:00:00Z", &t);
	early.now = t;
	is_int(catalog_load_verified(dfd, &pk, &early, &c, &err), -ESTALE,
	       "issued four days ahead of the clock refused");
	ok(err && strstr(err, "issued at 2026-11-24T12:00:00Z, more than a day after"),
	   "says so: %s", err);
	early.allow_expired = true;
	is_int(catalog_load_verified(dfd, &pk, &early, &c, &err), 0,
	       "unless the clock is not trusted");
	catalog_free(c);
	c = NULL;

	is_int(catalog_load_verified(dfd, &opk, &now, &c, &err), -ENOKEY, "other key refused");
	/* one changed byte after signing */
	char *s = strdup(good);
	s[strlen(s) - 3] = ' ';
	write_file("repo/catalog.json", s, strlen(s));
	free(s);
	is_int(catalog_load_verified(dfd, &pk, &now, &c, &err), -EKEYREJECTED,
	       "changed catalog refused");
	ok(err && strstr(err, "bad signature"), "says so: %s", err);
	unlink("repo/catalog.json.minisig");
	is_int(catalog_load_verified(dfd, &pk, &now, &c, &err), -ENOENT, "unsigned refused");
	close(dfd);
	minisign_seckey_wipe(&sk);
	minisign_seckey_wipe(&osk);
}

/* What parses must write back: the writer once failed on years below 1000. */
static void test_time(void)
{
	time_t t;
	char out[21];

	is_int(catalog_time_parse("2026-11-24T12:00:00Z", &t), 0, "time parses");
	is_int(catalog_time_format(t, out), 0, "time formats");
	is_str(out, "2026-11-24T12:00:00Z", "time round trip");
	is_int(catalog_time_parse("0026-11-24T12:00:00Z", &t), -ERANGE, "year 26 refused");
	is_int(catalog_time_parse("1969-12-31T23:59:59Z", &t), -ERANGE, "before 1970 refused");
	is_int(catalog_time_parse("2026-02-30T00:00:00Z", &t), -EINVAL, "February 30 refused");
	is_int(catalog_time_parse("2026-11-24 12:00:00Z", &t), -EINVAL, "other form refused");
	is_int(catalog_time_format((time_t)-86400, out), -ERANGE, "format refuses before 1970");
}

static void test_inf_object(void)
{
	static const char text[] =
		"[Version]\nClass=Net\nProvider=%P%\nDriverVer=01/02/2023,1.2.3.4\n"
		"CatalogFile=n.cat\n[Manufacturer]\nP=M,NTamd64\n[M.NTamd64]\n"
		"d=i,PCI\\VEN_1AF4&DEV_1041\n[Strings]\nP=\"Vendor\"\n";
	_cleanup_inf_ struct inf *inf = NULL;
	_cleanup_inf_driver_ struct inf_driver *d = NULL;
	struct catalog_inf *ci = NULL;
	_cleanup_free_ char *err = NULL;

	inf_parse(text, strlen(text), &inf, &err);
	is_int(inf_driver_info(inf, &d, &err), 0, "driver facts");
	is_int(catalog_inf_from_driver(d, &ci), 0, "inf object from them");
	is_str(ci->provider, "Vendor", "provider");
	is_str(ci->driver_version, "1.2.3.4", "version");
	is_str(ci->hardware_ids[0], "PCI\\VEN_1AF4&DEV_1041", "hardware id");
	is_str(ci->architectures[0], "amd64", "architecture");
	catalog_inf_free(ci);
}

int main(void)
{
	tap_tmpdir();
	test_parse();
	test_write_roundtrip();
	test_load_verify();
	test_time();
	test_inf_object();
	return tap_done();
}
