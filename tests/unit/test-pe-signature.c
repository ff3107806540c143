/* SPDX-License-Identifier: MIT */
/*
 * test-pe-signature.c - the Authenticode signatures of real signed EFI
 * binaries (Debian's shim, GRUB and kernel, where installed): their signers
 * and CAs, and the digest each signs matched against the image as shim
 * hashes it; a byte changed in a section makes it differ, the fields the
 * digest leaves out (the checksum, the certificate table) do not; every
 * truncation and a flipped byte in the headers end in an error or a
 * result, never a read outside the buffer (ASan watches).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/basic/macro.h"
#include "lib/trust/pe-signature.h"
#include "tap.h"

#define SHIM "/usr/lib/shim/shimx64.efi.signed"
#define GRUB "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed"
#define UNSIGNED_SHIM "/usr/lib/shim/shimx64.efi"

static uint8_t *slurp(const char *path, size_t *ret_n)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0)
		return NULL;
	uint8_t *buf = malloc((size_t)st.st_size);
	if (!buf || read(fd, buf, (size_t)st.st_size) != st.st_size) {
		free(buf);
		return NULL;
	}
	*ret_n = (size_t)st.st_size;
	return buf;
}

static void skip(const char *why)
{
	printf("ok %d # skip %s\n", ++tap_n, why);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads buf; returns the number of signatures and the digest verdict of
 * each (all the same, or -1 when they differ among themselves). */
static int read_all(const uint8_t *buf, size_t n, int *ret_digest, char **ret_msg)
{
	struct pe_signature *s = NULL;
	char *msg = NULL;
	int k = pe_signatures_read(buf, n, &s, &msg);
	*ret_digest = k > 0 ? (int)s[0].digest : -1;
	for (int i = 1; i < k; i++)
		if ((int)s[i].digest != *ret_digest)
			*ret_digest = -1;
	pe_signatures_free(s, k > 0 ? (size_t)k : 0);
	if (ret_msg)
		*ret_msg = msg;
	else
		free(msg);
	return k;
}

static void test_signed(const char *path, const char *ca, int n_sigs)
{
	size_t n;
	_cleanup_free_ uint8_t *buf = slurp(path, &n);
	if (!buf) {
		skip(path);
		return;
	}
	struct pe_signature *s = NULL;
	int k = pe_signatures_read(buf, n, &s, NULL);
	is_int(k, n_sigs, "%s: %d signature(s)", path, n_sigs);
	for (int i = 0; i < k; i++) {
		is_str(pe_digest_to_string(s[i].digest), "matches",
		       "%s: signature %d signs the image's digest", path, i + 1);
		is_str(s[i].digest_name, "sha256", "... with sha256");
	}
	if (k > 0)
		is_str(s[0].ca, ca, "%s: its CA", path);
	pe_signatures_free(s, k > 0 ? (size_t)k : 0);

	/* the checksum is not hashed: changing it keeps the digest */
	uint32_t pe = le32(buf + 0x3c);
	buf[pe + 24 + 64] ^= 0xff;
	int digest;
	k = read_all(buf, n, &digest, NULL);
	ok(k == n_sigs && digest == PE_DIGEST_MATCHES, "%s: a changed checksum keeps the digest",
	   path);
	buf[pe + 24 + 64] ^= 0xff;

	/* a byte of the first section's data is */
	uint16_t opt_size = (uint16_t)(buf[pe + 20] | buf[pe + 21] << 8);
	const uint8_t *sec = buf + pe + 24 + opt_size;
	uint32_t at = le32(sec + 20), size = le32(sec + 16);
	buf[at + size / 2] ^= 0x01;
	k = read_all(buf, n, &digest, NULL);
	ok(k == n_sigs && digest == PE_DIGEST_DIFFERS,
	   "%s: a byte changed in the first section makes each digest differ", path);
	buf[at + size / 2] ^= 0x01;

	/* a byte appended after the certificate table is outside the image */
	uint8_t *more = malloc(n + 8);
	memcpy(more, buf, n);
	memset(more + n, 0, 8);
	k = read_all(more, n + 8, &digest, NULL);
	ok(k == n_sigs && digest == PE_DIGEST_DIFFERS,
	   "%s: bytes added after the certificate table change the digest (shim hashes them)",
	   path);
	free(more);
}

/* Every truncation and a flipped byte at each offset of the headers: an
 * error or a result, no read outside the buffer. */
static void test_hostile(void)
{
	size_t n;
	_cleanup_free_ uint8_t *buf = slurp(GRUB, &n);
	if (!buf) {
		skip("grub-efi-amd64-signed is not installed");
		return;
	}
	unsigned bad = 0;
	for (size_t cut = 0; cut < 4096 && cut < n; cut += 7) {
		int digest;
		char *msg = NULL;
		int k = read_all(buf, cut, &digest, &msg);
		if (k < 0 && !msg)
			bad++;
		free(msg);
	}
	is_int(bad, 0, "every truncation of the headers is an error with a reason");
	bad = 0;
	for (size_t at = 0; at < 1024 && at < n; at++) {
		for (unsigned bit = 0; bit < 8; bit += 3) {
			int digest;
			char *msg = NULL;
			buf[at] ^= (uint8_t)(1u << bit);
			int k = read_all(buf, n, &digest, &msg);
			if (k < 0 && !msg)
				bad++;
			free(msg);
			buf[at] ^= (uint8_t)(1u << bit);
		}
	}
	is_int(bad, 0,
	       "a flipped bit in the first 1024 bytes: an error with a reason, or a result");

	/* a section pointing past the end of the file */
	uint32_t pe = le32(buf + 0x3c);
	uint16_t opt_size = (uint16_t)(buf[pe + 20] | buf[pe + 21] << 8);
	uint8_t *sec = buf + pe + 24 + opt_size;
	uint8_t keep[4];
	memcpy(keep, sec + 16, 4);
	memset(sec + 16, 0x7f, 4);
	struct pe_signature *s = NULL;
	char *msg = NULL;
	int k = pe_signatures_read(buf, n, &s, &msg);
	is_int(k, -EBADMSG, "a section that runs past the end is refused");
	ok(msg && strstr(msg, "section 1"), "... naming the section: %s", msg ? msg : "(none)");
	free(msg);
	memcpy(sec + 16, keep, 4);
}

static void test_unsigned(void)
{
	size_t n;
	_cleanup_free_ uint8_t *buf = slurp(UNSIGNED_SHIM, &n);
	if (!buf) {
		skip("shim-unsigned is not installed");
		return;
	}
	struct pe_signature *s = NULL;
	is_int(pe_signatures_read(buf, n, &s, NULL), 0, "an unsigned shim has no signature");
	char text[] = "MZ but not a PE image at all, just text that is long enough to read";
	char *msg = NULL;
	is_int(pe_signatures_read(text, sizeof(text), &s, &msg), -EBADMSG,
	       "text is not a PE image");
	free(msg);
}

int main(void)
{
	test_signed(SHIM, "Microsoft Corporation UEFI CA 2011", 2);
	test_signed(GRUB, "Debian Secure Boot CA", 1);
	/* the Debian kernel installed here, if any */
	char kernel[4096] = "";
	FILE *ls = popen("ls /boot/vmlinuz-* 2>/dev/null | head -1", "re");
	if (ls) {
		if (!fgets(kernel, sizeof(kernel), ls))
			kernel[0] = 0;
		pclose(ls);
		kernel[strcspn(kernel, "\n")] = 0;
	}
	if (kernel[0])
		test_signed(kernel, "Debian Secure Boot CA", 1);
	else
		skip("no Debian kernel in /boot");
	test_hostile();
	test_unsigned();
	return tap_done();
}
