/* SPDX-License-Identifier: MIT */
/*
 * test-rpm.c - lib/rpm reads the header of our signed packages, and refuses
 * (with librpm's reason) an unsigned package, a package signed by another
 * key, a flipped byte in the header and in the payload, a truncated file,
 * a file that is not an RPM, and one over the size cap.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "lib/basic/spawn.h"
#include "lib/basic/string-util.h"
#include "lib/trust/rpm.h"
#include "tests/unit/tap.h"

static char *pkg_path;
static char *key_path;

/* Copies the test package to name, keeping the first len bytes (0: all). */
static void copy_pkg(const char *name, off_t len)
{
	char *buf = NULL;
	size_t n = 0;
	_cleanup_close_ int in = open(pkg_path, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fs_read_fd(in, 64 << 20, &buf, &n) < 0) {
		printf("Bail out! cannot read '%s'\n", pkg_path);
		exit(1);
	}
	if (len > 0 && (size_t)len < n)
		n = (size_t)len;
	_cleanup_close_ int out = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0 || fs_write_all(out, buf, n) < 0) {
		printf("Bail out! cannot write '%s'\n", name);
		exit(1);
	}
	free(buf);
}

/* XORs the byte at off (negative: from the end). */
static void flip(const char *name, off_t off)
{
	_cleanup_close_ int fd = open(name, O_RDWR | O_CLOEXEC);
	struct stat st;
	unsigned char c;
	if (fd < 0 || fstat(fd, &st) < 0) {
		printf("Bail out! cannot open '%s'\n", name);
		exit(1);
	}
	if (off < 0)
		off += st.st_size;
	if (pread(fd, &c, 1, off) != 1 || (c ^= 0x55, pwrite(fd, &c, 1, off)) != 1) {
		printf("Bail out! cannot flip a byte of '%s'\n", name);
		exit(1);
	}
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Size of the header at off: 16-byte intro, 16 bytes per index entry, the
 * data store; *store gets the offset of the store. */
static off_t header_size(int fd, off_t off, off_t *store)
{
	unsigned char intro[16];
	if (pread(fd, intro, sizeof(intro), off) != (ssize_t)sizeof(intro)) {
		printf("Bail out! cannot read a header\n");
		exit(1);
	}
	*store = off + 16 + 16 * (off_t)be32(intro + 8);
	return 16 + 16 * (off_t)be32(intro + 8) + be32(intro + 12);
}

/* The middle of the main header's data store: after the 96-byte lead and
 * the signature header (padded to 8 bytes). */
static off_t main_header_store_middle(const char *name)
{
	_cleanup_close_ int fd = open(name, O_RDONLY | O_CLOEXEC);
	off_t store, sig = header_size(fd, 96, &store);
	off_t main = 96 + ((sig + 7) & ~(off_t)7);
	off_t size = header_size(fd, main, &store);
	return store + (main + size - store) / 2;
}

static int check(const char *name, struct rpm_keyring *k, struct catalog_rpm **ret, char **msg)
{
	struct rpm_read_opts opts = { .keyring = k };
	free(*msg);
	*msg = NULL;
	return rpm_read_at(AT_FDCWD, name, &opts, ret, msg);
}

int main(void)
{
	const char *b = getenv("ENLIGHTEN_BUILDDIR");
	const char *v = VERSION;
	if (!b)
		b = "build";
	_cleanup_free_ char *pkg =
		strjoin(b, "/payloads/repo/linux/enlighten-ic-hyperv-guest-", v, "-1.noarch.rpm");
	_cleanup_free_ char *key = strjoin(b, "/payloads/RPM-GPG-KEY-enlighten-test");
	pkg_path = realpath(pkg, NULL);
	key_path = realpath(key, NULL);
	if (!pkg_path || !key_path) {
		printf("1..0 # SKIP no test packages in '%s' (make builds them)\n", b);
		return 0;
	}
	tap_tmpdir();

	_cleanup_rpm_keyring_ struct rpm_keyring *k = NULL;
	_cleanup_free_ char *msg = NULL;
	struct catalog_rpm *info = NULL;

	is_int(rpm_keyring_load_at(AT_FDCWD, key_path, &k, &msg), 0, "key loads");
	tap_write("nokey.asc", "not a key\n");
	struct rpm_keyring *k2 = NULL;
	is_int(rpm_keyring_load_at(AT_FDCWD, "nokey.asc", &k2, &msg), -EBADMSG, "garbage key");
	is_str(msg, "key 'nokey.asc' holds no OpenPGP public key (want 'gpg --armor --export')",
	       "garbage key message");

	copy_pkg("good.rpm", 0);
	is_int(check("good.rpm", k, &info, &msg), 0, "signed package verifies");
	if (msg)
		printf("# %s\n", msg);
	if (info) {
		is_str(info->name, "enlighten-ic-hyperv-guest", "name");
		is_str(info->version, v, "version");
		is_str(info->release, "1", "release");
		is_str(info->arch, "noarch", "arch");
		ok(!info->has_epoch, "no epoch");
		ok(strv_contains(info->provides, "enlighten-profile(hyperv-guest)"),
		   "provides the profile");
		ok(strv_contains(info->provides, "enlighten-ic"), "provides enlighten-ic");
		is_int(strv_length(info->requires), 0, "rpmlib() requirements left out");
		catalog_rpm_free(info);
		info = NULL;
	}
	is_int(rpm_read_at(AT_FDCWD, "good.rpm", NULL, &info, &msg), 0, "reads without a keyring");
	catalog_rpm_free(info);
	info = NULL;

	struct rpm_read_opts small = { .keyring = k, .max_size = 100 };
	is_int(rpm_read_at(AT_FDCWD, "good.rpm", &small, &info, &msg), -EFBIG, "size cap");

	copy_pkg("unsigned.rpm", 0);
	struct spawn_result res = {};
	char *const argv[] = { "rpmsign", "--delsign", "unsigned.rpm", NULL };
	int r = spawn_run(argv, NULL, &res);
	spawn_result_done(&res);
	if (r == 0 && res.exit_status == 0) {
		is_int(check("unsigned.rpm", k, &info, &msg), -EKEYREJECTED, "unsigned refused");
		is_str(msg,
		       "rpm 'unsigned.rpm': not signed (a signature by the trusted key is "
		       "required)",
		       "unsigned: message");
		is_int(rpm_read_at(AT_FDCWD, "unsigned.rpm", NULL, &info, &msg), 0,
		       "unsigned reads without a keyring");
		catalog_rpm_free(info);
		info = NULL;
	} else
		printf("ok %d # SKIP rpmsign --delsign failed\n", ++tap_n);

	_cleanup_rpm_keyring_ struct rpm_keyring *none = NULL;
	r = rpm_keyring_load_at(AT_FDCWD, "other.asc", &none, &msg);
	(void)r;

	/* the keys a root's rpm database trusts: none without a database;
	 * the package verifies once the key file is added */
	_cleanup_rpm_keyring_ struct rpm_keyring *rootk = NULL;
	is_int(rpm_keyring_load_root(".", &rootk, &msg), 0, "a root without an rpm database");
	if (rootk) {
		is_int(check("good.rpm", rootk, &info, &msg), -EKEYREJECTED, "... trusts no key");
		is_int(rpm_keyring_add_at(rootk, AT_FDCWD, key_path, &msg), 0, "a key file added");
		is_int(check("good.rpm", rootk, &info, &msg), 0, "... and the package verifies");
		catalog_rpm_free(info);
		info = NULL;
		is_int(rpm_keyring_add_at(rootk, AT_FDCWD, "nokey.asc", &msg), -EBADMSG,
		       "adding a file without a key is refused");
	}

	copy_pkg("truncated.rpm", 3000);
	is_int(check("truncated.rpm", k, &info, &msg), -EBADMSG, "truncated refused");
	printf("# %s\n", msg ? msg : "(no message)");
	copy_pkg("tiny.rpm", 50);
	is_int(check("tiny.rpm", k, &info, &msg), -EBADMSG, "truncated lead refused");
	printf("# %s\n", msg ? msg : "(no message)");

	copy_pkg("payload.rpm", 0);
	flip("payload.rpm", -20);
	is_int(check("payload.rpm", k, &info, &msg), -EBADMSG, "flipped payload byte refused");
	ok(msg && strstr(msg, "Payload SHA256 digest: BAD"), "payload: %s", msg);

	copy_pkg("header.rpm", 0);
	flip("header.rpm", main_header_store_middle("header.rpm"));
	is_int(check("header.rpm", k, &info, &msg), -EKEYREJECTED, "flipped header byte refused");
	ok(msg && strstr(msg, "Signature, key ID") && strstr(msg, "BAD"), "header: %s", msg);

	tap_write("text.rpm", "this is not an rpm package at all, just text long enough\n");
	is_int(check("text.rpm", k, &info, &msg), -EBADMSG, "not an RPM");
	printf("# %s\n", msg ? msg : "(no message)");
	is_int(check("missing.rpm", k, &info, &msg), -ENOENT, "missing file");
	ok(info == NULL, "nothing returned on failure");

	free(pkg_path);
	free(key_path);
	return tap_done();
}
